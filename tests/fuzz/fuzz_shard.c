/* fuzz_shard.c: libFuzzer harness for the shard reader.
   Each input is read twice: as is, and with its trailing CRC recomputed, so
   that mutations reach the header and label checks. Invariants: no crash or
   sanitizer report; a shard that reads back writes back to exactly the input
   bytes (the format has one encoding); on failure the message names the file
   and ends with a hint. */
#include "err.h"
#include "readers.h"

#include <stdlib.h>
#include <string.h>

static void check(const uint8_t *data, size_t size) {
    Shard s;
    if (shard_read(data, size, "fuzz.shard", &s) == 0) {
        uint8_t *buf;
        size_t len;
        if (shard_write(&s, &buf, &len) != 0) abort();
        if (len != size || memcmp(buf, data, size) != 0) abort();
        free(buf);
        shard_free(&s);
    } else if (!strstr(nl_error(), "fuzz.shard") || !strstr(nl_error(), " Hint: ")) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check(data, size);
    if (size < 44) return 0;
    uint8_t *copy = malloc(size);
    memcpy(copy, data, size);
    uint32_t crc = crc32_update(0, copy, size - 4);
    for (int i = 0; i < 4; i++) copy[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    check(copy, size);
    free(copy);
    return 0;
}
