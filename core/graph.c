#include "graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "simd.h"

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int csr_from_edges(Csr *a, int n, const int *src, const int *dst, long m, int undirected,
                   int self_loops) {
    memset(a, 0, sizeof *a);
    if (n < 0 || m < 0) return nl_fail("graph: %d nodes and %ld edges. Hint: this is a bug.", n, m);
    for (long e = 0; e < m; e++)
        if (src[e] < 0 || src[e] >= n || dst[e] < 0 || dst[e] >= n)
            return nl_fail("graph: edge %ld (%d -> %d) names a node outside 0..%d. Hint: the graph "
                           "file does not match the feature matrix; prepare the dataset again.",
                           e, src[e], dst[e], n - 1);
    /* count, with room for the reverse edges and one self loop per node */
    long cap = m * (undirected ? 2 : 1) + (self_loops ? n : 0);
    a->n = n;
    a->rowptr = calloc((size_t)n + 1, sizeof(int));
    a->col = malloc(sizeof(int) * (size_t)(cap > 0 ? cap : 1));
    int *fill = calloc((size_t)n + 1, sizeof(int));
    if (!a->rowptr || !a->col || !fill) {
        free(fill), csr_free(a);
        return nl_fail("graph: out of memory for %ld edges. Hint: use a smaller graph.", cap);
    }
    for (long e = 0; e < m; e++) {
        if (src[e] == dst[e]) continue; /* self loops are handled below, once */
        fill[src[e]]++;
        if (undirected) fill[dst[e]]++;
    }
    if (self_loops)
        for (int i = 0; i < n; i++) fill[i]++;
    for (int i = 0; i < n; i++) a->rowptr[i + 1] = a->rowptr[i] + fill[i];
    memcpy(fill, a->rowptr, sizeof(int) * (size_t)n);
    for (long e = 0; e < m; e++) {
        if (src[e] == dst[e]) continue;
        a->col[fill[src[e]]++] = dst[e];
        if (undirected) a->col[fill[dst[e]]++] = src[e];
    }
    if (self_loops)
        for (int i = 0; i < n; i++) a->col[fill[i]++] = i;
    /* canonical order: sort each row, drop duplicates, compact */
    long w = 0;
    for (int i = 0; i < n; i++) {
        int s = a->rowptr[i], t = a->rowptr[i + 1];
        qsort(a->col + s, (size_t)(t - s), sizeof(int), cmp_int);
        a->rowptr[i] = (int)w;
        for (int k = s; k < t; k++)
            if (k == s || a->col[k] != a->col[k - 1]) a->col[w++] = a->col[k];
    }
    a->rowptr[n] = (int)w;
    free(fill);
    a->nnz = w;
    a->val = malloc(sizeof(float) * (size_t)(w > 0 ? w : 1));
    if (!a->val) {
        csr_free(a);
        return nl_fail("graph: out of memory for %ld edges. Hint: use a smaller graph.", w);
    }
    for (long k = 0; k < w; k++) a->val[k] = 1.0f;
    return 0;
}

int csr_from_dense(Csr *a, const float *x, int rows, int cols) {
    memset(a, 0, sizeof *a);
    long nnz = 0;
    for (long i = 0; i < (long)rows * cols; i++) nnz += x[i] != 0.0f;
    a->n = rows, a->nnz = nnz;
    a->rowptr = malloc(sizeof(int) * ((size_t)rows + 1));
    a->col = malloc(sizeof(int) * (size_t)(nnz > 0 ? nnz : 1));
    a->val = malloc(sizeof(float) * (size_t)(nnz > 0 ? nnz : 1));
    if (!a->rowptr || !a->col || !a->val) {
        csr_free(a);
        return nl_fail("out of memory for a sparse %d x %d matrix. Hint: free some memory.", rows, cols);
    }
    long k = 0;
    for (int i = 0; i < rows; i++) {
        a->rowptr[i] = (int)k;
        for (int j = 0; j < cols; j++)
            if (x[(long)i * cols + j] != 0.0f) a->col[k] = j, a->val[k++] = x[(long)i * cols + j];
    }
    a->rowptr[rows] = (int)k;
    return 0;
}

void csr_free(Csr *a) {
    free(a->rowptr), free(a->col), free(a->val);
    memset(a, 0, sizeof *a);
}

void csr_norm_sym(Csr *a) {
    float *dinv = malloc(sizeof(float) * (size_t)(a->n > 0 ? a->n : 1));
    if (!dinv) return; /* cannot happen for graphs we could build; leave values as they are */
    for (int i = 0; i < a->n; i++) {
        double d = 0;
        for (int k = a->rowptr[i]; k < a->rowptr[i + 1]; k++) d += a->val[k];
        dinv[i] = d > 0 ? (float)(1.0 / sqrt(d)) : 0.0f;
    }
    for (int i = 0; i < a->n; i++)
        for (int k = a->rowptr[i]; k < a->rowptr[i + 1]; k++) a->val[k] *= dinv[i] * dinv[a->col[k]];
    free(dinv);
}

void csr_norm_mean(Csr *a) {
    for (int i = 0; i < a->n; i++) {
        double d = 0;
        for (int k = a->rowptr[i]; k < a->rowptr[i + 1]; k++) d += a->val[k];
        for (int k = a->rowptr[i]; k < a->rowptr[i + 1]; k++) a->val[k] = (float)(a->val[k] / d);
    }
}

/* ---- SpMM. Both directions visit the entries in CSR order; for trans = 0
   each output element sums its row's entries in order, for trans = 1 each
   output element receives its contributions in (row, entry) order. */

void spmm_scalar(int trans, const Csr *a, const float *val, const float *x, int ldx, float *out,
                 int ldo, int F) {
    if (!val) val = a->val;
    for (int i = 0; i < a->n; i++) {
        for (int f = 0; f < F; f++) {
            if (!trans) {
                float acc = out[(long)i * ldo + f];
                for (int k = a->rowptr[i]; k < a->rowptr[i + 1]; k++) {
                    float p = val[k] * x[(long)a->col[k] * ldx + f];
                    acc += p;
                }
                out[(long)i * ldo + f] = acc;
            } else {
                float xi = x[(long)i * ldx + f];
                for (int k = a->rowptr[i]; k < a->rowptr[i + 1]; k++) {
                    float p = val[k] * xi;
                    out[(long)a->col[k] * ldo + f] += p;
                }
            }
        }
    }
}

void spmm(int trans, const Csr *a, const float *val, const float *x, int ldx, float *out, int ldo,
          int F) {
    if (!val) val = a->val;
    int Fv = F - F % VF_WIDTH; /* columns done by vectors; the rest by the scalar tail */
    for (int i = 0; i < a->n; i++) {
        int s = a->rowptr[i], t = a->rowptr[i + 1];
        if (!trans) {
            float *o = out + (long)i * ldo;
            for (int f = 0; f < Fv; f += VF_WIDTH) {
                vf acc = vf_load(o + f);
                for (int k = s; k < t; k++)
                    acc = vf_fmadd(vf_splat(val[k]), vf_load(x + (long)a->col[k] * ldx + f), acc);
                vf_store(o + f, acc);
            }
            for (int f = Fv; f < F; f++) {
                float acc = o[f];
                for (int k = s; k < t; k++) {
                    float p = val[k] * x[(long)a->col[k] * ldx + f];
                    acc += p;
                }
                o[f] = acc;
            }
        } else {
            const float *xi = x + (long)i * ldx;
            for (int k = s; k < t; k++) {
                float *o = out + (long)a->col[k] * ldo;
                vf v = vf_splat(val[k]);
                for (int f = 0; f < Fv; f += VF_WIDTH) vf_store(o + f, vf_fmadd(v, vf_load(xi + f), vf_load(o + f)));
                for (int f = Fv; f < F; f++) {
                    float p = val[k] * xi[f];
                    o[f] += p;
                }
            }
        }
    }
}
