/* fuzz_pickle.c: libFuzzer harness for the pickle reader (core/pickle.h).
   Every input goes through all three readers (CSR matrix, int matrix,
   adjacency dict). Invariants: no crash, hang or sanitizer report; on success
   the returned arrays have the sizes the reader claims (ASan checks the
   reads) and hold what the contract promises (indptr non-decreasing from 0 to
   nnz, column indices inside the matrix, node ids below `nodes`); on failure
   the message names the file and ends with a hint. */
#include "err.h"
#include "pickle.h"

#include <stdlib.h>
#include <string.h>

static volatile int sink;

static void check_error(void) {
    if (!strstr(nl_error(), "fuzz.pkl") || !strstr(nl_error(), " Hint: ")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int rows, cols, *ip, *ix, *v, *src, *dst, nodes;
    float *dv;
    long m;
    if (pickle_csr(data, size, "fuzz.pkl", &rows, &cols, &ip, &ix, &dv) == 0) {
        if (rows < 0 || cols < 0 || ip[0] != 0) abort();
        for (int r = 0; r < rows; r++) {
            if (ip[r] > ip[r + 1]) abort();
            for (int k = ip[r]; k < ip[r + 1]; k++)
                if (ix[k] < 0 || ix[k] >= cols) abort();
        }
        float s = 0;
        for (int k = 0; k < ip[rows]; k++) s += dv[k];
        sink = s > 0;
        free(ip), free(ix), free(dv);
    } else {
        check_error();
    }
    if (pickle_int_matrix(data, size, "fuzz.pkl", &rows, &cols, &v) == 0) {
        int s = 0;
        for (long k = 0; k < (long)rows * cols; k++) s += v[k];
        sink = s;
        free(v);
    } else {
        check_error();
    }
    if (pickle_adjacency(data, size, "fuzz.pkl", &src, &dst, &m, &nodes) == 0) {
        for (long e = 0; e < m; e++)
            if (src[e] < 0 || src[e] >= nodes || dst[e] < 0 || dst[e] >= nodes) abort();
        free(src), free(dst);
    } else {
        check_error();
    }
    return 0;
}
