/* gnn.h: graph neural network layers and the two-layer node classifiers built from them.

   The layers follow layers.h: forward/backward pairs on plain float buffers,
   forward writes `out` and the cache its backward needs, backward ACCUMULATES
   (+=) into dinp, dweight, dbias (NULL = not needed), nothing allocates.
   Node features are row-major (N, IN); weights use the PyTorch layout
   (OUT, IN), so each layer's dense part is dense_forward/dense_backward (one
   sgemm; spdense below for a sparse input) and its graph part is spmm (graph.h).

   gcn   (Kipf & Welling 2017)
         out = A (inp W^T) + bias, A = D^-1/2 (A+I) D^-1/2 (csr_norm_sym).
         With a bias, as PyG's GCNConv (tkipf/gcn's layers default to none).
         The product with W comes first: OUT is smaller than IN, so the sparse
         product moves OUT-wide rows. cache xw (N, OUT); scratch dxw (N, OUT).
   sage  (Hamilton et al. 2017, mean aggregator, PyG SAGEConv form)
         out = inp Ws^T + M (inp Wn^T) + bias, M = mean over the neighbours
         (csr_norm_mean, no self loop). Two weights: self and neighbour.
         cache xn (N, OUT); scratch dxn (N, OUT).
   gat   (Velickovic et al. 2018), H heads of F features each:
           wh = inp W^T                                   (N, H*F), W is (H*F, IN)
           e_ij^h = LeakyReLU_0.2(att_dst^h . wh_i^h + att_src^h . wh_j^h)
           alpha_ij^h = softmax over j in N(i) of e_ij^h  (A must hold self loops)
           beta = dropout(alpha, attn_p)                  (attention dropout)
           concat: out_i = [sum_j beta_ij^h wh_j^h]_h + bias       (N, H*F)
           mean:   out_i = 1/H sum_h sum_j beta_ij^h wh_j^h + bias (N, F)
         att_src, att_dst: (H, F); bias: H*F (concat) or F (mean).
         Per-edge values are stored head-major ([h][k], k in CSR order), so
         head h aggregates with spmm(a, beta + h*nnz) on its slice of wh.
         The attention dropout reuses dropout_forward (one draw per head and
         edge) and its mask is in the cache, so backward needs no generator.

   The models (Gnn): two layers, full batch over the whole graph:
       gcn, sage:  dropout(x) -> layer(IN -> hidden) -> ReLU -> dropout -> layer(hidden -> K)
       gat:        dropout(x) -> gat(IN -> heads x hidden, concat) -> ELU -> dropout
                   -> gat(heads*hidden -> K, out_heads heads averaged)
   as in the papers' Cora configurations: dropout = c->dropout on the input of
   each layer (on the features it draws only for the non-zero values, as
   tkipf/gcn's sparse dropout), attention dropout = c->attn_dropout in both GAT
   layers. The
   parameters, their gradients and the Adam moments live in the arena of a
   Model (model.h: params | grads | opt_m | opt_v), so optim_step,
   clip_grad_norm, checkpoints and early stopping work on a graph model
   unchanged. Initialisation: Glorot-uniform weights and attention vectors
   (as tkipf/gcn and the GAT code), zero biases, from the INIT stream.
   Parameters [0, first_end) are the first layer's weights: the run applies
   weight decay only to them for gcn and sage, as tkipf/gcn does (see train.h). */
#ifndef NL_GNN_H
#define NL_GNN_H

#include "config.h"
#include "graph.h"
#include "model.h"
#include "rng.h"

/* ---- the input projection of every layer, inp W^T. A layer's input is dense
   (inp, N x IN) or, when sinp is not NULL, a sparse matrix (N rows, IN
   columns; inp is then ignored and no dinp is computed): the first layer
   reads the bag-of-words features in CSR form, about 1% non-zero, so the
   projection costs nnz x OUT instead of N x IN x OUT. Entries whose value is
   0 (dropped out) are skipped. spdense_backward accumulates dweight. */
void spdense_forward(float *out, const Csr *x, const float *weight, int IN, int OUT);
void spdense_backward(float *dweight, const float *dout, const Csr *x, int IN, int OUT);

/* ---- gcn */
void gcn_forward(float *out, float *xw, const Csr *a, const float *inp, const Csr *sinp,
                 const float *weight, const float *bias, int N, int IN, int OUT);
void gcn_backward(float *dinp, float *dweight, float *dbias, float *dxw, const float *dout,
                  const Csr *a, const float *inp, const Csr *sinp, const float *weight, int N, int IN,
                  int OUT);

/* ---- sage (mean) */
void sage_forward(float *out, float *xn, const Csr *m, const float *inp, const Csr *sinp,
                  const float *wself, const float *wneigh, const float *bias, int N, int IN, int OUT);
void sage_backward(float *dinp, float *dwself, float *dwneigh, float *dbias, float *dxn,
                   const float *dout, const Csr *m, const float *inp, const Csr *sinp,
                   const float *wself, const float *wneigh, int N, int IN, int OUT);

/* ---- gat */
typedef struct {
    int N, IN, H, F; /* nodes, input features, heads, features per head */
    int concat;      /* 1: out is (N, H*F); 0: heads averaged, out is (N, F) */
    float attn_p;    /* attention dropout rate */
} GatShape;
/* floats of the forward cache and of the backward scratch, for nnz edges */
long gat_cache_size(const GatShape *s, long nnz);
long gat_scratch_size(const GatShape *s, long nnz);
/* train = 1 with rng applies the attention dropout; otherwise beta = alpha */
void gat_forward(float *out, float *cache, const Csr *a, const float *inp, const Csr *sinp,
                 const float *weight, const float *att_src, const float *att_dst, const float *bias,
                 const GatShape *s, int train, Rng *rng);
void gat_backward(float *dinp, float *dweight, float *datt_src, float *datt_dst, float *dbias,
                  float *scratch, const float *dout, const float *cache, const Csr *a,
                  const float *inp, const Csr *sinp, const float *weight, const float *att_src,
                  const float *att_dst, const GatShape *s);

/* ---- the two-layer models */
enum { GNN_GCN, GNN_SAGE, GNN_GAT };

typedef struct {
    int kind, N, IN, H1, K; /* nodes, features, hidden width (gat: heads*hidden), classes */
    float p;                /* feature dropout */
    Csr adj;                /* the propagation matrix of this kind (see above) */
    GatShape g1, g2;
    /* parameter offsets in the arena (-1 = none); first_end: end of layer 1's weights */
    long w1, w1n, as1, ad1, b1, w2, w2n, as2, ad2, b2, first_end;
    /* activations: x0 = dropout(x) (in = the input layer 1 read: x0 or x itself),
       h1 = layer 1, a1 = act(h1), d1 = dropout(a1), logits */
    const float *in;
    const Csr *sin;  /* the sparse input of layer 1, or NULL */
    Csr xs;          /* the features in CSR form (gnn_set_sparse_input); xs.val = after dropout */
    float *xval;     /* the features' original non-zero values */
    float *x0, *h1, *a1, *d1, *m1, *logits, *c1, *c2;
    /* gradients and scratch */
    float *dd1, *da1, *dh1, *dlogits, *scratch;
    long c1n, c2n, scratchn;
} Gnn;

/* Builds the named model (c->model gcn|sage|gat, c->hidden, c->heads,
   c->out_heads, c->dropout, c->attn_dropout) for a graph of N nodes given as m
   undirected edges (src, dst), IN features and K classes. The arena goes into
   *mdl (nlayers = 0: a Gnn is not a layer list). Returns 0 or -1 with an error. */
int gnn_build(Gnn *g, Model *mdl, const Config *c, int N, const int *src, const int *dst, long m,
              int IN, int K);
void gnn_free(Gnn *g);
/* Keeps the features x (N x IN) as a sparse matrix: from then on layer 1
   reads that (x passed to gnn_forward is ignored), with the same results up
   to float rounding and the same dropout draws; the dense x is not read
   again and may be freed. Returns 0 or -1. */
int gnn_set_sparse_input(Gnn *g, const float *x);
void gnn_init(Gnn *g, Model *mdl, Rng *rng);
/* x: (N, IN). Returns the logits (N, K), valid until the next forward. */
float *gnn_forward(Gnn *g, Model *mdl, const float *x, int train, Rng *rng);
/* after writing dL/dlogits into g->dlogits: zeroes nothing, accumulates into mdl->grads */
void gnn_backward(Gnn *g, Model *mdl);
/* "gcn 1433-16-7, 23063 params" */
int gnn_summary(const Gnn *g, const Model *mdl, char *buf, unsigned long cap);

#endif
