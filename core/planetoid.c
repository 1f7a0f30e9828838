#include "planetoid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pickle.h"

const char *const planetoid_parts[PL_FILES] = {"x", "y", "tx", "ty", "allx", "ally", "graph", "test.index"};

typedef struct {
    int rows, cols, *ptr, *idx;
    float *val;
} Sparse;

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* "2692\n2532\n..." -> ids; only digits and white space are accepted */
static int read_index(const uint8_t *buf, size_t len, const char *what, int **out, int *count) {
    int n = 0, cap = 0, *ids = NULL;
    size_t i = 0;
    while (i < len) {
        if (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t') {
            i++;
            continue;
        }
        if (buf[i] < '0' || buf[i] > '9') {
            free(ids);
            return nl_fail("%s: byte %zu is '%c', not a digit: the file must hold one node id per line. "
                           "Hint: copy it again from the dataset's source.", what, i,
                           buf[i] >= 32 && buf[i] < 127 ? buf[i] : '?');
        }
        long v = 0;
        while (i < len && buf[i] >= '0' && buf[i] <= '9') {
            v = v * 10 + (buf[i++] - '0');
            if (v >= (1L << 30)) {
                free(ids);
                return nl_fail("%s: a node id is too large. Hint: copy the file again from the "
                               "dataset's source.", what);
            }
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            int *p = realloc(ids, sizeof(int) * (size_t)cap);
            if (!p) {
                free(ids);
                return nl_fail("%s: out of memory. Hint: free some memory.", what);
            }
            ids = p;
        }
        ids[n++] = (int)v;
    }
    if (n == 0) {
        free(ids);
        return nl_fail("%s: no node ids. Hint: copy the file again from the dataset's source.", what);
    }
    *out = ids, *count = n;
    return 0;
}

/* one-hot rows -> class ids (-1 for a zero row) */
static int onehot(const int *y, int rows, int K, int *label, const char *what) {
    for (int r = 0; r < rows; r++) {
        int cls = -1, ones = 0;
        for (int k = 0; k < K; k++) {
            int v = y[(long)r * K + k];
            if (v != 0 && v != 1)
                return nl_fail("%s: row %d holds %d; labels must be one-hot rows of 0 and 1. "
                               "Hint: copy the file again from the dataset's source.", what, r, v);
            if (v) cls = k, ones++;
        }
        if (ones > 1)
            return nl_fail("%s: row %d has %d classes set; labels must be one-hot. Hint: copy the "
                           "file again from the dataset's source.", what, r, ones);
        label[r] = cls;
    }
    return 0;
}

void planetoid_free(Planetoid *g) {
    free(g->x), free(g->label), free(g->src), free(g->dst), free(g->train), free(g->val), free(g->test);
    memset(g, 0, sizeof *g);
}

int planetoid_load(Planetoid *g, const char *name, const uint8_t *const files[PL_FILES],
                   const size_t lens[PL_FILES]) {
    memset(g, 0, sizeof *g);
    char what[PL_FILES][64];
    for (int p = 0; p < PL_FILES; p++) {
        snprintf(what[p], sizeof what[p], "ind.%s.%s", name, planetoid_parts[p]);
        if (!files[p])
            return nl_fail("%s is missing: a graph run needs all eight Planetoid files of '%s'. "
                           "Hint: pass ind.%s.{x,y,tx,ty,allx,ally,graph,test.index}.", what[p], name, name);
    }
    Sparse s[3] = {{0}}; /* x, tx, allx */
    int *y[3] = {NULL}, yr[3] = {0}, yc[3] = {0}; /* y, ty, ally */
    int *tidx = NULL, nt = 0, *sorted = NULL, rc = -1;
    const int sp[3] = {PL_X, PL_TX, PL_ALLX}, dp[3] = {PL_Y, PL_TY, PL_ALLY};
    for (int k = 0; k < 3; k++)
        if (pickle_csr(files[sp[k]], lens[sp[k]], what[sp[k]], &s[k].rows, &s[k].cols, &s[k].ptr,
                       &s[k].idx, &s[k].val) < 0 ||
            pickle_int_matrix(files[dp[k]], lens[dp[k]], what[dp[k]], &yr[k], &yc[k], &y[k]) < 0)
            goto done;
    int F = s[0].cols, K = yc[0];
    for (int k = 0; k < 3; k++) {
        if (s[k].cols != F) {
            nl_fail("%s has %d feature columns but %s has %d. Hint: the files come from different "
                    "datasets; copy them again.", what[sp[k]], s[k].cols, what[PL_X], F);
            goto done;
        }
        if (yc[k] != K || yr[k] != s[k].rows) {
            nl_fail("%s is %d x %d, but %s has %d rows and %s has %d classes. Hint: the files come "
                    "from different datasets; copy them again.", what[dp[k]], yr[k], yc[k], what[sp[k]],
                    s[k].rows, what[PL_Y], K);
            goto done;
        }
    }
    if (K < 2 || F < 1) {
        nl_fail("%s: %d classes and %d features. Hint: copy the files again.", what[PL_Y], K, F);
        goto done;
    }
    if (read_index(files[PL_TEST_INDEX], lens[PL_TEST_INDEX], what[PL_TEST_INDEX], &tidx, &nt) < 0) goto done;
    if (nt != s[1].rows) {
        nl_fail("%s lists %d nodes but %s has %d rows. Hint: copy the files again.",
                what[PL_TEST_INDEX], nt, what[PL_TX], s[1].rows);
        goto done;
    }
    sorted = malloc(sizeof(int) * (size_t)nt);
    if (!sorted) {
        nl_fail("out of memory loading %s. Hint: free some memory.", name);
        goto done;
    }
    memcpy(sorted, tidx, sizeof(int) * (size_t)nt);
    qsort(sorted, (size_t)nt, sizeof(int), cmp_int);
    int lo = sorted[0], hi = sorted[nt - 1], nall = s[2].rows;
    for (int k = 1; k < nt; k++)
        if (sorted[k] == sorted[k - 1]) {
            nl_fail("%s lists node %d twice. Hint: copy the file again.", what[PL_TEST_INDEX], sorted[k]);
            goto done;
        }
    if (lo != nall) {
        nl_fail("%s starts at node %d, but the test nodes must follow the %d rows of %s. Hint: the "
                "files come from different datasets; copy them again.", what[PL_TEST_INDEX], lo, nall,
                what[PL_ALLX]);
        goto done;
    }
    if (yr[0] + 500 > nall) {
        nl_fail("%s has %d rows: too few for %d training and 500 validation nodes. Hint: copy the "
                "files again.", what[PL_ALLX], nall, yr[0]);
        goto done;
    }
    int N = hi + 1; /* allx rows, then the test id range (with Citeseer's gaps) */
    g->n = N, g->F = F, g->K = K;
    g->x = calloc((size_t)N * F, sizeof(float));
    g->label = malloc(sizeof(int) * (size_t)N);
    if (!g->x || !g->label) {
        nl_fail("out of memory for %s (%d nodes x %d features). Hint: free some memory.", name, N, F);
        goto done;
    }
    for (int i = 0; i < N; i++) g->label[i] = -1;
    /* node i < nall: allx row i; node tidx[k]: tx row k */
    for (int part = 0; part < 2; part++) {
        const Sparse *m = part == 0 ? &s[2] : &s[1];
        const int *yy = part == 0 ? y[2] : y[1];
        for (int r = 0; r < m->rows; r++) {
            int node = part == 0 ? r : tidx[r];
            float *row = g->x + (long)node * F;
            for (int k = m->ptr[r]; k < m->ptr[r + 1]; k++) row[m->idx[k]] += m->val[k];
            if (onehot(yy + (long)r * K, 1, K, &g->label[node], what[part == 0 ? PL_ALLY : PL_TY]) < 0) goto done;
        }
    }
    /* row-normalise, as preprocess_features in tkipf/gcn */
    for (int i = 0; i < N; i++) {
        float *row = g->x + (long)i * F;
        double sum = 0;
        for (int f = 0; f < F; f++) sum += row[f];
        if (sum != 0)
            for (int f = 0; f < F; f++) row[f] = (float)(row[f] / sum);
    }
    int nodes = 0;
    if (pickle_adjacency(files[PL_GRAPH], lens[PL_GRAPH], what[PL_GRAPH], &g->src, &g->dst, &g->m, &nodes) < 0) goto done;
    if (nodes > N) {
        nl_fail("%s names node %d, but the features cover %d nodes. Hint: the files come from "
                "different datasets; copy them again.", what[PL_GRAPH], nodes - 1, N);
        goto done;
    }
    /* the public split, unlabelled nodes left out */
    g->train = malloc(sizeof(int) * (size_t)yr[0]);
    g->val = malloc(sizeof(int) * 500);
    g->test = malloc(sizeof(int) * (size_t)nt);
    if (!g->train || !g->val || !g->test) {
        nl_fail("out of memory loading %s. Hint: free some memory.", name);
        goto done;
    }
    for (int i = 0; i < yr[0]; i++)
        if (g->label[i] >= 0) g->train[g->ntrain++] = i;
    for (int i = yr[0]; i < yr[0] + 500; i++)
        if (g->label[i] >= 0) g->val[g->nval++] = i;
    for (int k = 0; k < nt; k++)
        if (g->label[sorted[k]] >= 0) g->test[g->ntest++] = sorted[k];
    if (g->ntrain == 0 || g->ntest == 0) {
        nl_fail("%s: no labelled training or test nodes. Hint: copy the files again.", name);
        goto done;
    }
    rc = 0;
done:
    for (int k = 0; k < 3; k++) free(s[k].ptr), free(s[k].idx), free(s[k].val), free(y[k]);
    free(tidx), free(sorted);
    if (rc < 0) planetoid_free(g);
    return rc;
}
