/* rgcn.h: the relational graph convolution (R-GCN) and the two knowledge-graph node
   classifiers built from it, rgcn and mrgcn.

   The layer (Schlichtkrull et al. 2018, eq. 2), for every node i:
       out_i = bias + sum_r sum_{j in N_r(i)} (1 / c_ir) x_j W_r,    c_ir = |N_r(i)|
   where r runs over the KG's relations, their inverses (kg_edges) and one more, the
   self-connection: relation R-1 holds the edge (i, R-1, i) of every node, so its
   weight is the paper's W_0 and its c is 1 (as tkipf/relational-gcn, which appends
   the identity to the list of adjacency matrices). Weights are (R, IN, OUT), the
   layout of PyG's RGCNConv: row j of W_r is OUT floats.
     bases B = 0  full weights, one W_r per relation (the paper's AIFB setting)
     bases B > 0  W_r = sum_b comp[r][b] V_b, V stored (IN, B, OUT) so that row j of
                  every basis is one contiguous block of B * OUT floats, comp (R, B).
   The input is dense (inp, N x IN) or featureless (inp = NULL): the one-hot identity,
   IN = N, so x_j W_r is row j of W_r and the identity is never built.

   The edges are kept in groups (RelGraph): all edges with the same destination i and
   relation r, in the order (destination, relation, source). A layer visits the groups
   in that order and first sums the group's inputs (S = sum_j x_j), then applies
   W_r once: the product costs IN x OUT per group, not per edge. Every output row is
   written by its own groups only and every scatter of the backward runs in the
   same fixed order: no atomics, no threads, the same bits on every run.

   Forward/backward pairs as layers.h: forward writes out, backward ACCUMULATES (+=)
   into dinp, dweight, dcomp, dbias (NULL = not wanted), nothing allocates; scratch
   holds rgcn_scratch_size floats.

   The models (KgNet), full batch over the whole graph, as the R-GCN paper:
       rgcn:   rgcn(featureless -> hidden) -> ReLU -> dropout -> rgcn(hidden -> K)
       mrgcn:  h0 = E + sum_m (F_m P_m + p_m)           (N x hidden, no activation)
               rgcn(h0 -> hidden) -> ReLU -> dropout -> rgcn(hidden -> K)
   mrgcn follows MR-GCN (Wilcke et al. 2020, wxwilcke/mrgcn): there the first R-GCN
   layer reads [one-hot identity | the modality encoders' outputs]; here the identity
   part is a learned per-node embedding E (N x hidden) and each modality m of the
   featurised literals (featurise.h: text, number, date, WKT, image; zeros for IRIs
   and blank nodes) has its own linear map P_m (dim_m x hidden) and bias p_m,
   added to the rows of its literal nodes. Parameters, gradients and Adam moments
   live in the Model arena (model.h), so the optimizer, clipping, checkpoints and
   early stopping work unchanged. Initialisation: Glorot-uniform per weight matrix
   (as Keras in tkipf/relational-gcn), E ~ N(0, 1/hidden), zero biases. Parameters
   [0, first_end) are the first layer's weights (mrgcn: with E and the P_m): weight
   decay applies to them only, as tkipf/relational-gcn's l2 on the first layer. */
#ifndef NL_RGCN_H
#define NL_RGCN_H

#include "config.h"
#include "featurise.h"
#include "kg.h"
#include "model.h"
#include "rng.h"

/* ---- edges grouped by (destination, relation) */
typedef struct {
    int n, R;      /* nodes; relations, the self-connection R-1 included */
    long m;        /* edges, self loops included */
    long ngroups;
    int *gdst, *grel; /* ngroups each */
    float *gnorm;     /* 1 / group size */
    long *gstart;     /* ngroups + 1: the group's sources are src[gstart[q] .. gstart[q+1]) */
    int *src;         /* m */
} RelGraph;

/* m edges (src[e] -rel[e]-> dst[e]) over n nodes and n_rel relations, in any order;
   duplicates collapse. The self-connection becomes relation n_rel (R = n_rel + 1).
   Returns 0, or -1 with an error (an id out of range, out of memory). */
int relgraph_build(RelGraph *g, int n, int n_rel, const int *src, const int *rel, const int *dst, long m);
void relgraph_free(RelGraph *g);

/* ---- the layer */
typedef struct {
    int N, IN, OUT, R, B; /* nodes, input width (featureless: N), output, relations, bases (0 = full) */
    int featureless;      /* 1: the input is the identity (inp must be NULL, IN = N) */
} RgcnShape;

long rgcn_weight_size(const RgcnShape *s); /* floats of weight: R*IN*OUT, or IN*B*OUT */
long rgcn_comp_size(const RgcnShape *s);   /* floats of comp: R*B (0 when full) */
long rgcn_scratch_size(const RgcnShape *s);
void rgcn_forward(float *out, float *scratch, const RelGraph *g, const float *inp, const float *weight,
                  const float *comp, const float *bias, const RgcnShape *s);
void rgcn_backward(float *dinp, float *dweight, float *dcomp, float *dbias, float *scratch, const float *dout,
                   const RelGraph *g, const float *inp, const float *weight, const float *comp,
                   const RgcnShape *s);

/* ---- the models */
enum { KGNET_RGCN, KGNET_MRGCN };

typedef struct {
    int kind, N, H1, K;
    float p; /* dropout of the hidden layer */
    RelGraph g;
    RgcnShape s1, s2;
    /* parameter offsets in the arena (-1 = none) */
    long emb, proj[FT_N], pbias[FT_N], w1, c1, b1, w2, c2, b2, first_end;
    /* mrgcn: the literal features of each modality (rows, their nodes, width) */
    int fn[FT_N], fdim[FT_N];
    int *fnode[FT_N];
    float *fx[FT_N];
    /* activations: h0 (mrgcn input), h1 = layer 1, a1 = ReLU, d1 = dropout, m1 its mask */
    float *h0, *h1, *a1, *d1, *m1, *logits;
    float *dh0, *dd1, *da1, *dh1, *dlogits, *scratch;
} KgNet;

/* Builds c->model rgcn|mrgcn (c->hidden, c->bases, c->dropout) for the KG with K
   classes; f: the featurised literals (mrgcn only; the KgNet takes over its arrays and
   leaves f empty). The arena goes into *mdl. Returns 0 or -1 with an error. */
int kgnet_build(KgNet *k, Model *mdl, const Config *c, const KG *g, KgFeatures *f, int K);
void kgnet_free(KgNet *k);
void kgnet_init(KgNet *k, Model *mdl, Rng *rng);
/* returns the logits (N, K), valid until the next forward */
float *kgnet_forward(KgNet *k, Model *mdl, int train, Rng *rng);
/* after writing dL/dlogits into k->dlogits: accumulates into mdl->grads */
void kgnet_backward(KgNet *k, Model *mdl);
/* "rgcn 8285-16-4, 91 relations, full weights, 12063055 params" */
int kgnet_summary(const KgNet *k, const Model *mdl, char *buf, unsigned long cap);

#endif
