#include "gnn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "layers.h"

/* ------------------------------------------------------------------------- */
/* the input projection inp W^T, dense or sparse                              */

void spdense_forward(float *out, const Csr *x, const float *weight, int IN, int OUT) {
    for (int i = 0; i < x->n; i++) {
        float *o = out + (long)i * OUT;
        for (int j = 0; j < OUT; j++) o[j] = 0.0f;
        for (int k = x->rowptr[i]; k < x->rowptr[i + 1]; k++) {
            float v = x->val[k];
            const float *w = weight + x->col[k];
            if (v == 0.0f) continue; /* a dropped feature */
            for (int j = 0; j < OUT; j++) o[j] += v * w[(long)j * IN];
        }
    }
}

void spdense_backward(float *dweight, const float *dout, const Csr *x, int IN, int OUT) {
    for (int i = 0; i < x->n; i++) {
        const float *d = dout + (long)i * OUT;
        for (int k = x->rowptr[i]; k < x->rowptr[i + 1]; k++) {
            float v = x->val[k];
            float *w = dweight + x->col[k];
            if (v == 0.0f) continue;
            for (int j = 0; j < OUT; j++) w[(long)j * IN] += v * d[j];
        }
    }
}

static void project_forward(float *xw, const float *inp, const Csr *sinp, const float *weight, int N,
                            int IN, int OUT) {
    if (sinp) spdense_forward(xw, sinp, weight, IN, OUT);
    else dense_forward(xw, inp, weight, NULL, N, IN, OUT);
}

static void project_backward(float *dinp, float *dweight, const float *dxw, const float *inp,
                             const Csr *sinp, const float *weight, int N, int IN, int OUT) {
    if (sinp) spdense_backward(dweight, dxw, sinp, IN, OUT); /* a sparse input has no gradient */
    else dense_backward(dinp, dweight, NULL, dxw, inp, weight, N, IN, OUT);
}

/* ------------------------------------------------------------------------- */
/* gcn                                                                        */

void gcn_forward(float *out, float *xw, const Csr *a, const float *inp, const Csr *sinp,
                 const float *weight, const float *bias, int N, int IN, int OUT) {
    project_forward(xw, inp, sinp, weight, N, IN, OUT);
    for (long i = 0; i < (long)N * OUT; i++) out[i] = 0.0f;
    spmm(0, a, NULL, xw, OUT, out, OUT, OUT);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < OUT; j++) out[(long)i * OUT + j] += bias[j];
}

void gcn_backward(float *dinp, float *dweight, float *dbias, float *dxw, const float *dout,
                  const Csr *a, const float *inp, const Csr *sinp, const float *weight, int N, int IN,
                  int OUT) {
    /* out = A xw + b: dxw = A^T dout, then the dense backward of xw = inp W^T */
    memset(dxw, 0, sizeof(float) * (size_t)N * OUT);
    spmm(1, a, NULL, dout, OUT, dxw, OUT, OUT);
    project_backward(dinp, dweight, dxw, inp, sinp, weight, N, IN, OUT);
    if (dbias)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < OUT; j++) dbias[j] += dout[(long)i * OUT + j];
}

/* ------------------------------------------------------------------------- */
/* sage                                                                       */

void sage_forward(float *out, float *xn, const Csr *m, const float *inp, const Csr *sinp,
                  const float *wself, const float *wneigh, const float *bias, int N, int IN, int OUT) {
    /* mean of the neighbours' projections = projection of their mean (linear) */
    project_forward(xn, inp, sinp, wneigh, N, IN, OUT);
    project_forward(out, inp, sinp, wself, N, IN, OUT);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < OUT; j++) out[(long)i * OUT + j] += bias[j];
    spmm(0, m, NULL, xn, OUT, out, OUT, OUT);
}

void sage_backward(float *dinp, float *dwself, float *dwneigh, float *dbias, float *dxn,
                   const float *dout, const Csr *m, const float *inp, const Csr *sinp,
                   const float *wself, const float *wneigh, int N, int IN, int OUT) {
    memset(dxn, 0, sizeof(float) * (size_t)N * OUT);
    spmm(1, m, NULL, dout, OUT, dxn, OUT, OUT);
    project_backward(dinp, dwneigh, dxn, inp, sinp, wneigh, N, IN, OUT);
    project_backward(dinp, dwself, dout, inp, sinp, wself, N, IN, OUT);
    if (dbias)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < OUT; j++) dbias[j] += dout[(long)i * OUT + j];
}

/* ------------------------------------------------------------------------- */
/* gat                                                                        */

#define GAT_SLOPE 0.2f

/* cache: wh (N*H*F) | s_src (N*H) | s_dst (N*H) | alpha, mask, beta (H*E each) | agg (N*H*F, mean only) */
long gat_cache_size(const GatShape *s, long nnz) {
    long nhf = (long)s->N * s->H * s->F;
    return nhf + 2L * s->N * s->H + 3 * s->H * nnz + (s->concat ? 0 : nhf);
}

/* scratch: dwh (N*H*F) | dagg (N*H*F, mean only) | dbeta, dalpha (H*E each) | ds_src, ds_dst (N*H each) */
long gat_scratch_size(const GatShape *s, long nnz) {
    long nhf = (long)s->N * s->H * s->F;
    return nhf + (s->concat ? 0 : nhf) + 2 * s->H * nnz + 2L * s->N * s->H;
}

void gat_forward(float *out, float *cache, const Csr *a, const float *inp, const Csr *sinp,
                 const float *weight,
                 const float *att_src, const float *att_dst, const float *bias, const GatShape *s,
                 int train, Rng *rng) {
    int N = s->N, H = s->H, F = s->F, HF = H * F;
    long E = a->nnz, nhf = (long)N * HF;
    float *wh = cache, *ssrc = wh + nhf, *sdst = ssrc + (long)N * H;
    float *alpha = sdst + (long)N * H, *mask = alpha + H * E, *beta = mask + H * E;
    float *agg = s->concat ? out : beta + H * E;
    project_forward(wh, inp, sinp, weight, N, s->IN, HF);
    /* each node's two attention scores per head: a_src . wh_i and a_dst . wh_i */
    for (int i = 0; i < N; i++)
        for (int h = 0; h < H; h++) {
            const float *x = wh + (long)i * HF + h * F;
            float ss = 0, sd = 0;
            for (int f = 0; f < F; f++) ss += att_src[h * F + f] * x[f], sd += att_dst[h * F + f] * x[f];
            ssrc[(long)i * H + h] = ss, sdst[(long)i * H + h] = sd;
        }
    /* softmax of LeakyReLU(s_dst_i + s_src_j) over each row's entries */
    for (int h = 0; h < H; h++) {
        float *al = alpha + h * E;
        for (int i = 0; i < N; i++) {
            int s0 = a->rowptr[i], s1 = a->rowptr[i + 1];
            float mx = -INFINITY;
            for (int k = s0; k < s1; k++) {
                float e = sdst[(long)i * H + h] + ssrc[(long)a->col[k] * H + h];
                e = e > 0.0f ? e : GAT_SLOPE * e;
                al[k] = e;
                mx = e > mx ? e : mx;
            }
            double sum = 0;
            for (int k = s0; k < s1; k++) sum += al[k] = expf(al[k] - mx);
            for (int k = s0; k < s1; k++) al[k] = (float)(al[k] / sum);
        }
    }
    dropout_forward(beta, mask, alpha, H * E, s->attn_p, train, rng);
    memset(agg, 0, sizeof(float) * (size_t)nhf);
    for (int h = 0; h < H; h++) spmm(0, a, beta + h * E, wh + h * F, HF, agg + h * F, HF, F);
    if (s->concat) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < HF; j++) out[(long)i * HF + j] += bias[j];
    } else {
        for (int i = 0; i < N; i++)
            for (int f = 0; f < F; f++) {
                float sum = 0;
                for (int h = 0; h < H; h++) sum += agg[(long)i * HF + h * F + f];
                out[(long)i * F + f] = sum / (float)H + bias[f];
            }
    }
}

void gat_backward(float *dinp, float *dweight, float *datt_src, float *datt_dst, float *dbias,
                  float *scratch, const float *dout, const float *cache, const Csr *a,
                  const float *inp, const Csr *sinp, const float *weight, const float *att_src,
                  const float *att_dst, const GatShape *s) {
    int N = s->N, H = s->H, F = s->F, HF = H * F, OUTW = s->concat ? HF : F;
    long E = a->nnz, nhf = (long)N * HF;
    const float *wh = cache, *ssrc = wh + nhf, *sdst = ssrc + (long)N * H;
    const float *alpha = sdst + (long)N * H, *mask = alpha + H * E, *beta = mask + H * E;
    float *dwh = scratch, *dagg = s->concat ? NULL : dwh + nhf;
    float *dbeta = dwh + nhf + (s->concat ? 0 : nhf), *dalpha = dbeta + H * E;
    float *dssrc = dalpha + H * E, *dsdst = dssrc + (long)N * H;
    if (dbias)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < OUTW; j++) dbias[j] += dout[(long)i * OUTW + j];
    /* the gradient of each head's aggregate */
    if (s->concat) {
        dagg = (float *)dout; /* read only below */
    } else {
        for (int i = 0; i < N; i++)
            for (int h = 0; h < H; h++)
                for (int f = 0; f < F; f++) dagg[(long)i * HF + h * F + f] = dout[(long)i * F + f] / (float)H;
    }
    /* agg_i = sum_j beta_ij wh_j: wh gets beta^T dagg, beta gets dagg_i . wh_j */
    memset(dwh, 0, sizeof(float) * (size_t)nhf);
    for (int h = 0; h < H; h++) {
        spmm(1, a, beta + h * E, dagg + h * F, HF, dwh + h * F, HF, F);
        for (int i = 0; i < N; i++)
            for (int k = a->rowptr[i]; k < a->rowptr[i + 1]; k++) {
                const float *gi = dagg + (long)i * HF + h * F, *xj = wh + (long)a->col[k] * HF + h * F;
                float d = 0;
                for (int f = 0; f < F; f++) d += gi[f] * xj[f];
                dbeta[h * E + k] = d;
            }
    }
    memset(dalpha, 0, sizeof(float) * (size_t)(H * E));
    dropout_backward(dalpha, dbeta, mask, H * E);
    /* softmax backward per row (de_k = alpha_k (dalpha_k - sum_m alpha_m dalpha_m)),
       then LeakyReLU, then the sum s_dst_i + s_src_j */
    memset(dssrc, 0, sizeof(float) * 2 * (size_t)N * H);
    for (int h = 0; h < H; h++) {
        const float *al = alpha + h * E, *dal = dalpha + h * E;
        for (int i = 0; i < N; i++) {
            int s0 = a->rowptr[i], s1 = a->rowptr[i + 1];
            float dot = 0;
            for (int k = s0; k < s1; k++) dot += al[k] * dal[k];
            for (int k = s0; k < s1; k++) {
                int j = a->col[k];
                float de = al[k] * (dal[k] - dot);
                float pre = sdst[(long)i * H + h] + ssrc[(long)j * H + h];
                float dpre = pre > 0.0f ? de : GAT_SLOPE * de;
                dsdst[(long)i * H + h] += dpre;
                dssrc[(long)j * H + h] += dpre;
            }
        }
    }
    /* s_src_i = att_src . wh_i (and dst likewise) */
    for (int i = 0; i < N; i++)
        for (int h = 0; h < H; h++) {
            float gs = dssrc[(long)i * H + h], gd = dsdst[(long)i * H + h];
            const float *x = wh + (long)i * HF + h * F;
            float *dx = dwh + (long)i * HF + h * F;
            for (int f = 0; f < F; f++) {
                datt_src[h * F + f] += gs * x[f];
                datt_dst[h * F + f] += gd * x[f];
                dx[f] += gs * att_src[h * F + f] + gd * att_dst[h * F + f];
            }
        }
    project_backward(dinp, dweight, dwh, inp, sinp, weight, N, s->IN, HF);
}

/* ------------------------------------------------------------------------- */
/* the two-layer models                                                       */

static long take(long *n, long k) {
    long at = *n;
    *n += k;
    return at;
}

int gnn_build(Gnn *g, Model *mdl, const Config *c, int N, const int *src, const int *dst, long m,
              int IN, int K) {
    memset(g, 0, sizeof *g);
    memset(mdl, 0, sizeof *mdl);
    g->kind = !strcmp(c->model, "gcn") ? GNN_GCN : !strcmp(c->model, "sage") ? GNN_SAGE
            : !strcmp(c->model, "gat") ? GNN_GAT : -1;
    if (g->kind < 0)
        return nl_fail("config key 'model': '%s' is not a graph model. Hint: use model=gcn, sage "
                       "or gat with a graph dataset.", c->model);
    g->N = N, g->IN = IN, g->K = K, g->p = (float)c->dropout;
    g->H1 = g->kind == GNN_GAT ? c->heads * c->hidden : c->hidden;
    /* GCN and GAT propagate over A + I; SAGE's neighbour mean excludes the node itself */
    if (csr_from_edges(&g->adj, N, src, dst, m, 1, g->kind != GNN_SAGE) < 0) return -1;
    if (g->kind == GNN_GCN) csr_norm_sym(&g->adj);
    if (g->kind == GNN_SAGE) csr_norm_mean(&g->adj);
    int H1 = g->H1;
    long n = 0, E = g->adj.nnz;
    g->w1n = g->as1 = g->ad1 = g->w2n = g->as2 = g->ad2 = -1;
    if (g->kind == GNN_GAT) {
        g->g1 = (GatShape){N, IN, c->heads, c->hidden, 1, (float)c->attn_dropout};
        g->g2 = (GatShape){N, H1, c->out_heads, K, 0, (float)c->attn_dropout};
        g->w1 = take(&n, (long)H1 * IN);
        g->first_end = n;
        g->as1 = take(&n, H1), g->ad1 = take(&n, H1), g->b1 = take(&n, H1);
        g->w2 = take(&n, (long)c->out_heads * K * H1);
        g->as2 = take(&n, (long)c->out_heads * K), g->ad2 = take(&n, (long)c->out_heads * K);
        g->b2 = take(&n, K);
        g->c1n = gat_cache_size(&g->g1, E), g->c2n = gat_cache_size(&g->g2, E);
        long s1 = gat_scratch_size(&g->g1, E), s2 = gat_scratch_size(&g->g2, E);
        g->scratchn = s1 > s2 ? s1 : s2;
    } else {
        g->w1 = take(&n, (long)H1 * IN);
        if (g->kind == GNN_SAGE) g->w1n = take(&n, (long)H1 * IN);
        g->first_end = n;
        g->b1 = take(&n, H1);
        g->w2 = take(&n, (long)K * H1);
        if (g->kind == GNN_SAGE) g->w2n = take(&n, (long)K * H1);
        g->b2 = take(&n, K);
        g->c1n = (long)N * H1, g->c2n = (long)N * K;
        g->scratchn = (long)N * (H1 > K ? H1 : K);
    }
    snprintf(mdl->name, sizeof mdl->name, "%s", c->model);
    mdl->classes = K;
    mdl->nparams = n;
    mdl->mem = calloc((size_t)(4 * n), sizeof(float));
    long nx = (long)N * IN, nh = (long)N * H1, nk = (long)N * K;
    /* one allocation for activations, caches, gradients and scratch */
    long total = 7 * nh + 2 * nk + g->c1n + g->c2n + g->scratchn;
    float *act = calloc((size_t)total, sizeof(float));
    mdl->acts = act;
    /* the dropped-out dense input: its own allocation, freed by gnn_set_sparse_input */
    g->x0 = malloc(sizeof(float) * (size_t)(nx > 0 ? nx : 1));
    if (!mdl->mem || !act || !g->x0) {
        gnn_free(g), model_free(mdl);
        return nl_fail("out of memory for model '%s' on %d nodes x %d features (%.0f MB). "
                       "Hint: lower hidden or heads.", c->model, N, IN, total * 4.0 / 1e6);
    }
    mdl->params = mdl->mem, mdl->grads = mdl->params + n;
    mdl->opt_m = mdl->grads + n, mdl->opt_v = mdl->opt_m + n, mdl->buffers = mdl->opt_v + n;
    g->h1 = act, g->a1 = g->h1 + nh, g->d1 = g->a1 + nh, g->m1 = g->d1 + nh;
    g->dd1 = g->m1 + nh, g->da1 = g->dd1 + nh, g->dh1 = g->da1 + nh;
    g->logits = g->dh1 + nh, g->dlogits = g->logits + nk;
    g->c1 = g->dlogits + nk, g->c2 = g->c1 + g->c1n, g->scratch = g->c2 + g->c2n;
    return 0;
}

void gnn_free(Gnn *g) {
    free(g->x0);
    g->x0 = NULL;
    csr_free(&g->adj);
    csr_free(&g->xs);
    free(g->xval);
    g->xval = NULL;
}

int gnn_set_sparse_input(Gnn *g, const float *x) {
    if (csr_from_dense(&g->xs, x, g->N, g->IN) < 0) return -1;
    free(g->xval);
    g->xval = malloc(sizeof(float) * (size_t)(g->xs.nnz > 0 ? g->xs.nnz : 1));
    if (!g->xval) {
        csr_free(&g->xs);
        return nl_fail("out of memory for the sparse features. Hint: free some memory.");
    }
    memcpy(g->xval, g->xs.val, sizeof(float) * (size_t)g->xs.nnz);
    free(g->x0); /* the dense path is not used any more */
    g->x0 = NULL;
    return 0;
}

/* Glorot-uniform: U(-r, r), r = sqrt(6 / (fan_in + fan_out)) */
static void glorot(float *w, long n, int fan_in, int fan_out, Rng *rng) {
    float r = sqrtf(6.0f / (float)(fan_in + fan_out));
    for (long i = 0; i < n; i++) w[i] = r * (2.0f * rng_uniform(rng) - 1.0f);
}

void gnn_init(Gnn *g, Model *mdl, Rng *rng) {
    memset(mdl->mem, 0, sizeof(float) * 4 * (size_t)mdl->nparams);
    float *p = mdl->params;
    int H1 = g->H1, K = g->K;
    if (g->kind == GNN_GAT) {
        int H2 = g->g2.H;
        glorot(p + g->w1, (long)H1 * g->IN, g->IN, H1, rng);
        glorot(p + g->as1, H1, g->g1.F, 1, rng);
        glorot(p + g->ad1, H1, g->g1.F, 1, rng);
        glorot(p + g->w2, (long)H2 * K * H1, H1, H2 * K, rng);
        glorot(p + g->as2, (long)H2 * K, K, 1, rng);
        glorot(p + g->ad2, (long)H2 * K, K, 1, rng);
    } else {
        glorot(p + g->w1, (long)H1 * g->IN, g->IN, H1, rng);
        if (g->w1n >= 0) glorot(p + g->w1n, (long)H1 * g->IN, g->IN, H1, rng);
        glorot(p + g->w2, (long)K * H1, H1, K, rng);
        if (g->w2n >= 0) glorot(p + g->w2n, (long)K * H1, H1, K, rng);
    }
}

/* Dropout on the input features, drawing only for the non-zero ones: the
   features are sparse (about 1% of Cora's are non-zero) and dropping a zero
   changes nothing, so this is tkipf/gcn's sparse_dropout on a dense matrix,
   100 times fewer draws than dropout_forward. The input needs no gradient,
   so no mask is kept. In eval mode (or p = 0) layer 1 reads x itself. */
static const float *feature_dropout(Gnn *g, const float *x, int train, Rng *rng) {
    long n = (long)g->N * g->IN;
    int drop = train && g->p > 0.0f && rng;
    if (g->xs.n) {
        /* sparse input: the same draws (one per non-zero, in row-major order) on the values */
        const float scale = g->p < 1.0f ? 1.0f / (1.0f - g->p) : 0.0f;
        for (long k = 0; k < g->xs.nnz; k++)
            g->xs.val[k] = !drop ? g->xval[k] : rng_uniform(rng) >= g->p ? g->xval[k] * scale : 0.0f;
        return NULL;
    }
    if (!drop) return x;
    const float scale = g->p < 1.0f ? 1.0f / (1.0f - g->p) : 0.0f;
    for (long i = 0; i < n; i++) g->x0[i] = x[i] != 0.0f && rng_uniform(rng) >= g->p ? x[i] * scale : 0.0f;
    return g->x0;
}

float *gnn_forward(Gnn *g, Model *mdl, const float *x, int train, Rng *rng) {
    const float *p = mdl->params;
    int N = g->N, IN = g->IN, H1 = g->H1, K = g->K;
    long nh = (long)N * H1;
    const float *x0 = g->in = feature_dropout(g, x, train, rng);
    const Csr *xs = g->sin = g->xs.n ? &g->xs : NULL;
    switch (g->kind) {
    case GNN_GCN:
        gcn_forward(g->h1, g->c1, &g->adj, x0, xs, p + g->w1, p + g->b1, N, IN, H1);
        break;
    case GNN_SAGE:
        sage_forward(g->h1, g->c1, &g->adj, x0, xs, p + g->w1, p + g->w1n, p + g->b1, N, IN, H1);
        break;
    default:
        gat_forward(g->h1, g->c1, &g->adj, x0, xs, p + g->w1, p + g->as1, p + g->ad1, p + g->b1,
                    &g->g1, train, rng);
    }
    if (g->kind == GNN_GAT) elu_forward(g->a1, g->h1, nh);
    else relu_forward(g->a1, g->h1, nh);
    dropout_forward(g->d1, g->m1, g->a1, nh, g->p, train, rng);
    switch (g->kind) {
    case GNN_GCN:
        gcn_forward(g->logits, g->c2, &g->adj, g->d1, NULL, p + g->w2, p + g->b2, N, H1, K);
        break;
    case GNN_SAGE:
        sage_forward(g->logits, g->c2, &g->adj, g->d1, NULL, p + g->w2, p + g->w2n, p + g->b2, N, H1, K);
        break;
    default:
        gat_forward(g->logits, g->c2, &g->adj, g->d1, NULL, p + g->w2, p + g->as2, p + g->ad2, p + g->b2,
                    &g->g2, train, rng);
    }
    return g->logits;
}

void gnn_backward(Gnn *g, Model *mdl) {
    const float *p = mdl->params;
    float *d = mdl->grads;
    int N = g->N, IN = g->IN, H1 = g->H1, K = g->K;
    long nh = (long)N * H1;
    memset(g->dd1, 0, sizeof(float) * 3 * (size_t)nh); /* dd1, da1, dh1 */
    switch (g->kind) {
    case GNN_GCN:
        gcn_backward(g->dd1, d + g->w2, d + g->b2, g->scratch, g->dlogits, &g->adj, g->d1, NULL, p + g->w2, N, H1, K);
        break;
    case GNN_SAGE:
        sage_backward(g->dd1, d + g->w2, d + g->w2n, d + g->b2, g->scratch, g->dlogits, &g->adj, g->d1,
                      NULL, p + g->w2, p + g->w2n, N, H1, K);
        break;
    default:
        gat_backward(g->dd1, d + g->w2, d + g->as2, d + g->ad2, d + g->b2, g->scratch, g->dlogits, g->c2,
                     &g->adj, g->d1, NULL, p + g->w2, p + g->as2, p + g->ad2, &g->g2);
    }
    dropout_backward(g->da1, g->dd1, g->m1, nh);
    if (g->kind == GNN_GAT) elu_backward(g->dh1, g->da1, g->h1, nh);
    else relu_backward(g->dh1, g->da1, g->h1, nh);
    /* the input features need no gradient: dinp = NULL */
    switch (g->kind) {
    case GNN_GCN:
        gcn_backward(NULL, d + g->w1, d + g->b1, g->scratch, g->dh1, &g->adj, g->in, g->sin, p + g->w1, N, IN, H1);
        break;
    case GNN_SAGE:
        sage_backward(NULL, d + g->w1, d + g->w1n, d + g->b1, g->scratch, g->dh1, &g->adj, g->in,
                      g->sin, p + g->w1, p + g->w1n, N, IN, H1);
        break;
    default:
        gat_backward(NULL, d + g->w1, d + g->as1, d + g->ad1, d + g->b1, g->scratch, g->dh1, g->c1,
                     &g->adj, g->in, g->sin, p + g->w1, p + g->as1, p + g->ad1, &g->g1);
    }
}

int gnn_summary(const Gnn *g, const Model *mdl, char *buf, unsigned long cap) {
    if (g->kind == GNN_GAT)
        return snprintf(buf, cap, "gat %d-%dx%d-%d (%d output head%s), %ld params", g->IN, g->g1.H,
                        g->g1.F, g->K, g->g2.H, g->g2.H == 1 ? "" : "s", mdl->nparams);
    return snprintf(buf, cap, "%s %d-%d-%d, %ld params", g->kind == GNN_GCN ? "gcn" : "sage", g->IN,
                    g->H1, g->K, mdl->nparams);
}
