/* graph.h: sparse graphs in CSR form and the sparse x dense product (SpMM).

   A Csr is an n x n sparse matrix: row i holds the entries (i, col[k], val[k])
   for k in [rowptr[i], rowptr[i+1]). Rows list their columns in strictly
   ascending order, with no duplicates. csr_from_edges builds that canonical
   form from an edge list in any order, so the same set of edges always gives
   the same arrays, bit for bit, whatever order a file lists them in: nothing
   downstream (normalisation, SpMM, attention softmax) depends on input order.

   Construction (csr_from_edges): edges (src[e], dst[e]) with both ends in
   [0, n). undirected = 1 adds (dst, src) for every (src, dst). Duplicates
   collapse to one entry of value 1 (an unweighted graph, as networkx builds it
   from a dict of lists). self_loops: 0 removes every (i, i), 1 makes it exactly
   one (i, i) per node (A + I with any existing self loop counted once, as
   PyG's add_remaining_self_loops; tkipf/gcn would give an existing self loop
   weight 2, which only Citeseer has: 248 nodes).

   Normalisations, in place on val:
     csr_norm_sym   val_ij = 1 / sqrt(d_i d_j), d = row sums: the GCN
                    propagation D^-1/2 (A+I) D^-1/2 when built with self loops
                    (Kipf & Welling 2017). A node of degree 0 keeps zeros.
     csr_norm_mean  val_ij = 1 / d_i: the mean over the neighbours of i
                    (GraphSAGE mean aggregator). A row with no entries stays
                    empty, so its mean is 0.

   SpMM: spmm(trans, a, val, x, ldx, out, ldo, F) ACCUMULATES
       trans = 0: out (n, F) += A   x (n, F)     row i gathers its neighbours
       trans = 1: out (n, F) += A^T x (n, F)     row i scatters into its neighbours
   where A's values are `val` (nnz floats; NULL = a->val). Passing other values
   with the same pattern is how GAT aggregates with its attention weights.
   ldx and ldo are row strides in floats (>= F), so one head's slice of a wide
   tensor can be multiplied in place. trans = 1 is the backward of trans = 0
   for any A (for the symmetric GCN matrix it equals trans = 0).

   The vector path (simd.h) walks each row's entries once per group of
   VF_WIDTH columns; the tail columns (F not a multiple of the width) use the
   scalar loop. spmm_scalar is its twin: the same order of summation per output
   element (entries in CSR order), written without vectors. On the 128-bit
   units and WASM (no FMA) the two agree bit for bit; with AVX2/AVX-512 FMA to
   rounding. Both are deterministic: no atomics, no threads. */
#ifndef NL_GRAPH_H
#define NL_GRAPH_H

typedef struct {
    int n;       /* rows = columns = nodes */
    long nnz;    /* stored entries */
    int *rowptr; /* n + 1 */
    int *col;    /* nnz, ascending within a row */
    float *val;  /* nnz */
} Csr;

/* A Csr may also be rectangular: csr_from_dense keeps the non-zero entries
   of a dense rows x cols matrix (columns then index features, not nodes). */
int csr_from_dense(Csr *a, const float *x, int rows, int cols);
/* Returns 0, or -1 with an error (a node id outside [0, n), out of memory). */
int csr_from_edges(Csr *a, int n, const int *src, const int *dst, long m, int undirected,
                   int self_loops);
void csr_free(Csr *a);
void csr_norm_sym(Csr *a);
void csr_norm_mean(Csr *a);

void spmm(int trans, const Csr *a, const float *val, const float *x, int ldx, float *out, int ldo,
          int F);
void spmm_scalar(int trans, const Csr *a, const float *val, const float *x, int ldx, float *out,
                 int ldo, int F);

#endif
