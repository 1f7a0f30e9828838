/* fuzz_jpeg.c: libFuzzer harness for the baseline JPEG decoder (core/jpeg.c) and the
   image featuriser. Invariants: no crash or sanitizer report; on success the size is
   sane and every output byte is readable; on failure the message names the file and
   ends with a hint. Seeds: tests/fuzz/seeds/fuzz_jpeg (made by make_jpeg_seeds.c). */
#include "err.h"
#include "jpeg.h"

#include <stdlib.h>
#include <string.h>

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1), *px;
    memcpy(copy, data, size);
    int w, h, c;
    if (jpeg_decode(copy, size, "fuzz.jpg", &px, &w, &h, &c) == 0) {
        if (w < 1 || h < 1 || (long long)w * h > JPEG_MAX_PIXELS || (c != 1 && c != 3)) abort();
        uint8_t s = 0;
        for (size_t i = 0; i < (size_t)w * h * c; i++) s += px[i];
        sink = s;
        free(px);
    } else if (!strstr(nl_error(), "fuzz.jpg") || !strstr(nl_error(), " Hint: ")) {
        abort();
    }
    free(copy);
    return 0;
}
