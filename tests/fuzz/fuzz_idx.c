/* fuzz_idx.c: libFuzzer harness for the IDX readers (raw and gzip'd).
   Invariants: no crash or sanitizer report; on success the dimensions are
   positive and the whole returned buffer is readable; on failure the message
   names the file and ends with a hint. */
#include "err.h"
#include "readers.h"

#include <stdlib.h>
#include <string.h>

static volatile uint8_t sink; /* keeps the reads of the output */

static void check_error(void) {
    if (!strstr(nl_error(), "fuzz.idx") || !strstr(nl_error(), " Hint: ")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *px;
    int n, rows, cols;
    if (idx_read_images(data, size, "fuzz.idx", &px, &n, &rows, &cols) == 0) {
        if (n < 1 || rows < 1 || cols < 1) abort();
        size_t total = (size_t)n * rows * cols;
        uint8_t sum = 0;
        for (size_t i = 0; i < total; i++) sum += px[i]; /* ASan checks the size */
        sink = sum;
        free(px);
    } else {
        check_error();
    }
    uint8_t *lb;
    if (idx_read_labels(data, size, "fuzz.idx", &lb, &n) == 0) {
        if (n < 1) abort();
        uint8_t sum = 0;
        for (int i = 0; i < n; i++) sum += lb[i];
        sink = sum;
        free(lb);
    } else {
        check_error();
    }
    return 0;
}
