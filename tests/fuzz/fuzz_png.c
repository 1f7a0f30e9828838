/* fuzz_png.c: libFuzzer harness for the PNG decoder.
   Each input is decoded twice: as is, and with every chunk CRC recomputed, so
   that mutations reach the IHDR checks, zlib and the filters instead of
   stopping at the CRC check. Invariants: no crash or sanitizer report; on
   success width*height*channels bytes are readable and channels is 1 or 3;
   on failure the message names the file and ends with a hint. */
#include "err.h"
#include "readers.h"

#include <stdlib.h>
#include <string.h>

static volatile uint8_t sink; /* keeps the reads of the output */

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void decode(const uint8_t *data, size_t size) {
    uint8_t *px;
    int w, h, c;
    if (png_decode(data, size, "fuzz.png", &px, &w, &h, &c) == 0) {
        if (w < 1 || h < 1 || (c != 1 && c != 3)) abort();
        size_t total = (size_t)w * h * c;
        uint8_t sum = 0;
        for (size_t i = 0; i < total; i++) sum += px[i];
        sink = sum;
        free(px);
    } else if (!strstr(nl_error(), "fuzz.png") || !strstr(nl_error(), " Hint: ")) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    decode(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    for (size_t p = 8; p + 12 <= size;) {
        uint32_t n = be32(copy + p);
        if (n > size - p - 12) break;
        uint32_t crc = crc32_update(0, copy + p + 4, (size_t)n + 4);
        uint8_t *q = copy + p + 8 + n;
        q[0] = (uint8_t)(crc >> 24), q[1] = (uint8_t)(crc >> 16), q[2] = (uint8_t)(crc >> 8), q[3] = (uint8_t)crc;
        p += (size_t)n + 12;
    }
    decode(copy, size);
    free(copy);
    return 0;
}
