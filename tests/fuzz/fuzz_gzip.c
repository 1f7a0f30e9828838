/* fuzz_gzip.c: libFuzzer harness for the DEFLATE / zlib / gzip decoders.
   Every input goes through all three entry points (seeds: a gzip file, a zlib
   stream, raw DEFLATE). Invariants: no crash or sanitizer report; a failure
   leaves a message ending in a hint; a success returns a buffer within max_out. */
#include "err.h"
#include "readers.h"

#include <stdlib.h>
#include <string.h>

#define MAX_OUT ((size_t)1 << 22)

static void check_error(int err, uint8_t *out, size_t out_len) {
    if (err) {
        if (out || out_len || !strstr(nl_error(), "fuzz") || !strstr(nl_error(), " Hint: ")) abort();
    } else {
        if (!out || out_len > MAX_OUT) abort();
        free(out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *out = (uint8_t *)1;
    size_t out_len = 1;
    int err = gzip_decode(data, size, &out, &out_len, MAX_OUT, "fuzz.gz");
    check_error(err, out, out_len);
    err = zlib_decode(data, size, &out, &out_len, MAX_OUT, "fuzz.z");
    check_error(err, out, out_len);
    err = inflate_raw(data, size, &out, &out_len, MAX_OUT, "fuzz.deflate");
    check_error(err, out, out_len);
    return 0;
}
