/* rgcn.c: the R-GCN layer and the rgcn / mrgcn models. See rgcn.h for the contract. */
#include "rgcn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "layers.h"

/* ------------------------------------------------------------------------- */
/* edges grouped by (destination, relation)                                   */

typedef struct {
    int d, r, s;
} Edge;

static int cmp_edge(const void *a, const void *b) {
    const Edge *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    if (x->r != y->r) return x->r < y->r ? -1 : 1;
    return x->s < y->s ? -1 : x->s > y->s;
}

void relgraph_free(RelGraph *g) {
    free(g->gdst), free(g->grel), free(g->gnorm), free(g->gstart), free(g->src);
    memset(g, 0, sizeof *g);
}

int relgraph_build(RelGraph *g, int n, int n_rel, const int *src, const int *rel, const int *dst, long m) {
    memset(g, 0, sizeof *g);
    long total = m + n;
    Edge *e = malloc(sizeof(Edge) * (size_t)(total > 0 ? total : 1));
    if (!e) return nl_fail("rgcn: out of memory for %ld edges. Hint: use a smaller graph.", total);
    for (long k = 0; k < m; k++) {
        if (src[k] < 0 || src[k] >= n || dst[k] < 0 || dst[k] >= n || rel[k] < 0 || rel[k] >= n_rel) {
            free(e);
            return nl_fail("rgcn: edge %ld (%d -%d-> %d) is outside %d nodes and %d relations. Hint: "
                           "this is a bug in the graph reader.", k, src[k], rel[k], dst[k], n, n_rel);
        }
        e[k] = (Edge){dst[k], rel[k], src[k]};
    }
    for (int i = 0; i < n; i++) e[m + i] = (Edge){i, n_rel, i}; /* the self-connection */
    qsort(e, (size_t)total, sizeof *e, cmp_edge);
    /* drop duplicates, count groups */
    long u = 0, ng = 0;
    for (long k = 0; k < total; k++) {
        if (u && !cmp_edge(&e[u - 1], &e[k])) continue;
        if (!u || e[u - 1].d != e[k].d || e[u - 1].r != e[k].r) ng++;
        e[u++] = e[k];
    }
    g->n = n, g->R = n_rel + 1, g->m = u, g->ngroups = ng;
    g->gdst = malloc(sizeof(int) * (size_t)(ng + 1));
    g->grel = malloc(sizeof(int) * (size_t)(ng + 1));
    g->gnorm = malloc(sizeof(float) * (size_t)(ng + 1));
    g->gstart = malloc(sizeof(long) * (size_t)(ng + 1));
    g->src = malloc(sizeof(int) * (size_t)(u + 1));
    if (!g->gdst || !g->grel || !g->gnorm || !g->gstart || !g->src) {
        free(e);
        relgraph_free(g);
        return nl_fail("rgcn: out of memory for %ld edges. Hint: use a smaller graph.", u);
    }
    long q = -1;
    for (long k = 0; k < u; k++) {
        if (q < 0 || e[k].d != g->gdst[q] || e[k].r != g->grel[q]) {
            q++;
            g->gdst[q] = e[k].d, g->grel[q] = e[k].r, g->gstart[q] = k;
        }
        g->src[k] = e[k].s;
    }
    g->gstart[ng] = u;
    for (q = 0; q < ng; q++) g->gnorm[q] = 1.0f / (float)(g->gstart[q + 1] - g->gstart[q]);
    free(e);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* the layer                                                                  */

long rgcn_weight_size(const RgcnShape *s) {
    return s->B ? (long)s->IN * s->B * s->OUT : (long)s->R * s->IN * s->OUT;
}
long rgcn_comp_size(const RgcnShape *s) { return s->B ? (long)s->R * s->B : 0; }

/* dense input with bases: W_r materialised (R*IN*OUT) and its gradient (same);
   then the group sum S and its gradient G (featureless bases: B*OUT; dense: IN) */
long rgcn_scratch_size(const RgcnShape *s) {
    int dense = !s->featureless;
    long w = s->B && dense ? 2 * (long)s->R * s->IN * s->OUT : 0;
    long v = (long)s->B * s->OUT, x = dense ? s->IN : 0;
    return w + 2 * (v > x ? v : x) + s->OUT + 1;
}

/* W_r = sum_b comp[r][b] V_b, V (IN, B, OUT), into w (R, IN, OUT) */
static void materialise(float *w, const float *v, const float *comp, const RgcnShape *s) {
    int IN = s->IN, OUT = s->OUT, B = s->B;
    for (int r = 0; r < s->R; r++)
        for (int m = 0; m < IN; m++) {
            float *o = w + ((long)r * IN + m) * OUT;
            for (int k = 0; k < OUT; k++) o[k] = 0.0f;
            for (int b = 0; b < B; b++) {
                float a = comp[r * B + b];
                const float *vb = v + ((long)m * B + b) * OUT;
                for (int k = 0; k < OUT; k++) o[k] += a * vb[k];
            }
        }
}

/* S = sum of the group's input rows: rows of width n at x + j * n */
static void group_sum(float *S, const RelGraph *g, long q, const float *x, long n) {
    for (long t = 0; t < n; t++) S[t] = 0.0f;
    for (long e = g->gstart[q]; e < g->gstart[q + 1]; e++) {
        const float *row = x + (long)g->src[e] * n;
        for (long t = 0; t < n; t++) S[t] += row[t];
    }
}

void rgcn_forward(float *out, float *scratch, const RelGraph *g, const float *inp, const float *weight,
                  const float *comp, const float *bias, const RgcnShape *s) {
    int N = s->N, IN = s->IN, OUT = s->OUT, B = s->B;
    const float *w = weight;
    float *S = scratch;
    if (inp && B) {
        materialise(scratch, weight, comp, s);
        w = scratch, S = scratch + 2 * (long)s->R * IN * OUT;
    }
    for (int i = 0; i < N; i++)
        for (int k = 0; k < OUT; k++) out[(long)i * OUT + k] = bias ? bias[k] : 0.0f;
    for (long q = 0; q < g->ngroups; q++) {
        int r = g->grel[q];
        float c = g->gnorm[q], *o = out + (long)g->gdst[q] * OUT;
        if (!inp && !B) {
            /* featureless, full: the rows j of W_r */
            group_sum(S, g, q, weight + (long)r * N * OUT, OUT);
            for (int k = 0; k < OUT; k++) o[k] += c * S[k];
        } else if (!inp) {
            /* featureless, bases: S[b] = sum_j V_b[j], then sum_b comp[r][b] S[b] */
            group_sum(S, g, q, weight, (long)B * OUT);
            for (int b = 0; b < B; b++) {
                float a = c * comp[r * B + b];
                for (int k = 0; k < OUT; k++) o[k] += a * S[b * OUT + k];
            }
        } else {
            /* dense: S = sum_j x_j (IN), then S W_r */
            group_sum(S, g, q, inp, IN);
            const float *wr = w + (long)r * IN * OUT;
            for (int m = 0; m < IN; m++) {
                float a = c * S[m];
                if (a == 0.0f) continue;
                for (int k = 0; k < OUT; k++) o[k] += a * wr[(long)m * OUT + k];
            }
        }
    }
}

void rgcn_backward(float *dinp, float *dweight, float *dcomp, float *dbias, float *scratch, const float *dout,
                   const RelGraph *g, const float *inp, const float *weight, const float *comp,
                   const RgcnShape *s) {
    int N = s->N, IN = s->IN, OUT = s->OUT, B = s->B, R = s->R;
    const float *w = weight;
    float *dw = dweight, *S = scratch;
    if (inp && B) {
        /* through the materialised W_r: its gradient first, then into V and comp */
        materialise(scratch, weight, comp, s);
        w = scratch, dw = scratch + (long)R * IN * OUT, S = dw + (long)R * IN * OUT;
        memset(dw, 0, sizeof(float) * (size_t)R * IN * OUT);
    }
    long sn = (long)B * OUT;
    if (inp && IN > sn) sn = IN;
    float *G = S + sn;
    if (dbias)
        for (int i = 0; i < N; i++)
            for (int k = 0; k < OUT; k++) dbias[k] += dout[(long)i * OUT + k];
    for (long q = 0; q < g->ngroups; q++) {
        int r = g->grel[q];
        float c = g->gnorm[q];
        const float *d = dout + (long)g->gdst[q] * OUT;
        long e0 = g->gstart[q], e1 = g->gstart[q + 1];
        if (!inp && !B) {
            if (!dweight) continue;
            float *dwr = dweight + (long)r * N * OUT;
            for (long e = e0; e < e1; e++) {
                float *row = dwr + (long)g->src[e] * OUT;
                for (int k = 0; k < OUT; k++) row[k] += c * d[k];
            }
        } else if (!inp) {
            /* dcomp[r][b] = c d . S[b], S[b] = sum_j V_b[j]; every source row of V gets
               c comp[r][b] d. One pass over the sources builds S and scatters into dV:
               V is too large for the caches (MUTAG: 23,644 rows of 30 x 16 floats), so
               each row is read once, not twice. */
            long bo = (long)B * OUT;
            for (int b = 0; b < B; b++) {
                float a = c * comp[r * B + b];
                for (int k = 0; k < OUT; k++) G[b * OUT + k] = a * d[k];
            }
            for (long t = 0; t < bo; t++) S[t] = 0.0f;
            for (long e = e0; e < e1; e++) {
                const float *v = weight + (long)g->src[e] * bo;
                for (long t = 0; t < bo; t++) S[t] += v[t];
                if (!dweight) continue;
                float *row = dweight + (long)g->src[e] * bo;
                for (long t = 0; t < bo; t++) row[t] += G[t];
            }
            for (int b = 0; dcomp && b < B; b++) {
                float t = 0.0f;
                for (int k = 0; k < OUT; k++) t += d[k] * S[b * OUT + k];
                dcomp[r * B + b] += c * t;
            }
        } else {
            const float *wr = w + (long)r * IN * OUT;
            if (dw) {
                /* dW_r += c S^T d */
                group_sum(S, g, q, inp, IN);
                float *dwr = dw + (long)r * IN * OUT;
                for (int m = 0; m < IN; m++) {
                    float a = c * S[m];
                    if (a == 0.0f) continue;
                    for (int k = 0; k < OUT; k++) dwr[(long)m * OUT + k] += a * d[k];
                }
            }
            if (!dinp) continue;
            /* every source row gets c W_r d */
            for (int m = 0; m < IN; m++) {
                float t = 0.0f;
                for (int k = 0; k < OUT; k++) t += wr[(long)m * OUT + k] * d[k];
                G[m] = c * t;
            }
            for (long e = e0; e < e1; e++) {
                float *row = dinp + (long)g->src[e] * IN;
                for (int m = 0; m < IN; m++) row[m] += G[m];
            }
        }
    }
    if (inp && B) {
        /* W_r = sum_b comp[r][b] V_b: dV_b += sum_r comp[r][b] dW_r, dcomp[r][b] += <dW_r, V_b> */
        for (int r = 0; r < R; r++)
            for (int m = 0; m < IN; m++) {
                const float *dwr = dw + ((long)r * IN + m) * OUT;
                for (int b = 0; b < B; b++) {
                    const float *vb = weight + ((long)m * B + b) * OUT;
                    float *dvb = dweight ? dweight + ((long)m * B + b) * OUT : NULL;
                    float a = comp[r * B + b], t = 0.0f;
                    for (int k = 0; k < OUT; k++) {
                        t += dwr[k] * vb[k];
                        if (dvb) dvb[k] += a * dwr[k];
                    }
                    if (dcomp) dcomp[r * B + b] += t;
                }
            }
    }
}

/* ------------------------------------------------------------------------- */
/* the models                                                                 */

static long take(long *n, long k) {
    long at = *n;
    *n += k;
    return at;
}

void kgnet_free(KgNet *k) {
    relgraph_free(&k->g);
    for (int m = 0; m < FT_N; m++) free(k->fnode[m]), free(k->fx[m]), k->fnode[m] = NULL, k->fx[m] = NULL;
}

int kgnet_build(KgNet *k, Model *mdl, const Config *c, const KG *g, KgFeatures *f, int K) {
    memset(k, 0, sizeof *k);
    memset(mdl, 0, sizeof *mdl);
    k->kind = !strcmp(c->model, "rgcn") ? KGNET_RGCN : !strcmp(c->model, "mrgcn") ? KGNET_MRGCN : -1;
    if (k->kind < 0)
        return nl_fail("config key 'model': '%s' is not a knowledge-graph model. Hint: use model=rgcn or "
                       "model=mrgcn with a knowledge-graph dataset.", c->model);
    if (k->kind == KGNET_MRGCN && !f)
        return nl_fail("mrgcn: no literal features were given. Hint: this is a bug in the caller.");
    int N = g->n_nodes, H = c->hidden;
    k->N = N, k->H1 = H, k->K = K, k->p = (float)c->dropout;
    int *src, *rel, *dst;
    int m = kg_edges(g, &src, &rel, &dst);
    if (m < 0) return -1;
    int rc = relgraph_build(&k->g, N, g->n_rel, src, rel, dst, m);
    free(src), free(rel), free(dst);
    if (rc < 0) return -1;
    int R = k->g.R, B = c->bases;
    if (B > R) B = R; /* more bases than relations only adds parameters */
    int featureless = k->kind == KGNET_RGCN;
    k->s1 = (RgcnShape){N, featureless ? N : H, H, R, B, featureless};
    k->s2 = (RgcnShape){N, H, K, R, B, 0};
    long n = 0;
    k->emb = -1;
    for (int t = 0; t < FT_N; t++) k->proj[t] = k->pbias[t] = -1;
    if (!featureless) {
        k->emb = take(&n, (long)N * H);
        for (int t = 1; t < FT_N; t++) {
            if (!f->n[t]) continue;
            k->fn[t] = f->n[t], k->fdim[t] = f->dim[t];
            k->fnode[t] = f->node[t], k->fx[t] = f->x[t];
            f->node[t] = NULL, f->x[t] = NULL, f->n[t] = 0;
            k->proj[t] = take(&n, (long)k->fdim[t] * H);
        }
    }
    k->w1 = take(&n, rgcn_weight_size(&k->s1));
    k->c1 = B ? take(&n, rgcn_comp_size(&k->s1)) : -1;
    k->first_end = n;
    for (int t = 1; t < FT_N; t++)
        if (k->proj[t] >= 0) k->pbias[t] = take(&n, H);
    k->b1 = take(&n, H);
    k->w2 = take(&n, rgcn_weight_size(&k->s2));
    k->c2 = B ? take(&n, rgcn_comp_size(&k->s2)) : -1;
    k->b2 = take(&n, K);
    snprintf(mdl->name, sizeof mdl->name, "%s", c->model);
    mdl->classes = K;
    mdl->nparams = n;
    mdl->mem = calloc((size_t)(4 * n), sizeof(float));
    long nh = (long)N * H, nk = (long)N * K;
    long s1 = rgcn_scratch_size(&k->s1), s2 = rgcn_scratch_size(&k->s2);
    long total = 9 * nh + 2 * nk + (s1 > s2 ? s1 : s2);
    float *act = calloc((size_t)total, sizeof(float));
    mdl->acts = act;
    if (!mdl->mem || !act) {
        kgnet_free(k), model_free(mdl);
        return nl_fail("out of memory for model '%s': %ld parameters (%.0f MB with Adam's state) on %d nodes. "
                       "Hint: set bases (e.g. bases=30) or lower hidden.", c->model, n, 16.0 * n / 1e6, N);
    }
    mdl->params = mdl->mem, mdl->grads = mdl->params + n;
    mdl->opt_m = mdl->grads + n, mdl->opt_v = mdl->opt_m + n, mdl->buffers = mdl->opt_v + n;
    k->h0 = act, k->h1 = k->h0 + nh, k->a1 = k->h1 + nh, k->d1 = k->a1 + nh, k->m1 = k->d1 + nh;
    k->dh0 = k->m1 + nh, k->dd1 = k->dh0 + nh, k->da1 = k->dd1 + nh, k->dh1 = k->da1 + nh;
    k->logits = k->dh1 + nh, k->dlogits = k->logits + nk, k->scratch = k->dlogits + nk;
    return 0;
}

/* Glorot-uniform: U(-r, r), r = sqrt(6 / (fan_in + fan_out)) */
static void glorot(float *w, long n, long fan_in, long fan_out, Rng *rng) {
    float r = sqrtf(6.0f / (float)(fan_in + fan_out));
    for (long i = 0; i < n; i++) w[i] = r * (2.0f * rng_uniform(rng) - 1.0f);
}

/* a layer's weights: each W_r (IN x OUT), or each basis V_b and the (R x B) comp */
static void init_layer(float *p, long w, long c, const RgcnShape *s, Rng *rng) {
    glorot(p + w, rgcn_weight_size(s), s->IN, s->OUT, rng);
    if (c >= 0) glorot(p + c, rgcn_comp_size(s), s->R, s->B, rng);
}

void kgnet_init(KgNet *k, Model *mdl, Rng *rng) {
    memset(mdl->mem, 0, sizeof(float) * 4 * (size_t)mdl->nparams);
    float *p = mdl->params;
    if (k->emb >= 0) {
        float sd = 1.0f / sqrtf((float)k->H1);
        for (long i = 0; i < (long)k->N * k->H1; i++) p[k->emb + i] = sd * rng_normal(rng);
        for (int t = 1; t < FT_N; t++)
            if (k->proj[t] >= 0) glorot(p + k->proj[t], (long)k->fdim[t] * k->H1, k->fdim[t], k->H1, rng);
    }
    init_layer(p, k->w1, k->c1, &k->s1, rng);
    init_layer(p, k->w2, k->c2, &k->s2, rng);
}

/* mrgcn's input: h0 = E + for each modality, on its literal rows, x P_m + p_m */
static void input_forward(KgNet *k, const float *p) {
    int H = k->H1;
    memcpy(k->h0, p + k->emb, sizeof(float) * (size_t)k->N * H);
    for (int t = 1; t < FT_N; t++) {
        if (k->proj[t] < 0) continue;
        const float *P = p + k->proj[t], *pb = p + k->pbias[t];
        for (int i = 0; i < k->fn[t]; i++) {
            float *o = k->h0 + (long)k->fnode[t][i] * H;
            const float *x = k->fx[t] + (long)i * k->fdim[t];
            for (int h = 0; h < H; h++) o[h] += pb[h];
            for (int m = 0; m < k->fdim[t]; m++) {
                if (x[m] == 0.0f) continue;
                for (int h = 0; h < H; h++) o[h] += x[m] * P[(long)m * H + h];
            }
        }
    }
}

static void input_backward(KgNet *k, float *d) {
    int H = k->H1;
    for (long i = 0; i < (long)k->N * H; i++) d[k->emb + i] += k->dh0[i];
    for (int t = 1; t < FT_N; t++) {
        if (k->proj[t] < 0) continue;
        float *dP = d + k->proj[t], *dpb = d + k->pbias[t];
        for (int i = 0; i < k->fn[t]; i++) {
            const float *g = k->dh0 + (long)k->fnode[t][i] * H;
            const float *x = k->fx[t] + (long)i * k->fdim[t];
            for (int h = 0; h < H; h++) dpb[h] += g[h];
            for (int m = 0; m < k->fdim[t]; m++) {
                if (x[m] == 0.0f) continue;
                for (int h = 0; h < H; h++) dP[(long)m * H + h] += x[m] * g[h];
            }
        }
    }
}

static const float *at(const float *p, long off) { return off >= 0 ? p + off : NULL; }
static float *atw(float *p, long off) { return off >= 0 ? p + off : NULL; }

float *kgnet_forward(KgNet *k, Model *mdl, int train, Rng *rng) {
    const float *p = mdl->params;
    long nh = (long)k->N * k->H1;
    const float *x = NULL;
    if (k->kind == KGNET_MRGCN) input_forward(k, p), x = k->h0;
    rgcn_forward(k->h1, k->scratch, &k->g, x, p + k->w1, at(p, k->c1), p + k->b1, &k->s1);
    relu_forward(k->a1, k->h1, nh);
    dropout_forward(k->d1, k->m1, k->a1, nh, k->p, train, rng);
    rgcn_forward(k->logits, k->scratch, &k->g, k->d1, p + k->w2, at(p, k->c2), p + k->b2, &k->s2);
    return k->logits;
}

void kgnet_backward(KgNet *k, Model *mdl) {
    const float *p = mdl->params;
    float *d = mdl->grads;
    long nh = (long)k->N * k->H1;
    memset(k->dd1, 0, sizeof(float) * 3 * (size_t)nh); /* dd1, da1, dh1 */
    rgcn_backward(k->dd1, d + k->w2, atw(d, k->c2), d + k->b2, k->scratch, k->dlogits, &k->g, k->d1,
                  p + k->w2, at(p, k->c2), &k->s2);
    dropout_backward(k->da1, k->dd1, k->m1, nh);
    relu_backward(k->dh1, k->da1, k->h1, nh);
    if (k->kind == KGNET_RGCN) {
        rgcn_backward(NULL, d + k->w1, atw(d, k->c1), d + k->b1, k->scratch, k->dh1, &k->g, NULL, p + k->w1,
                      at(p, k->c1), &k->s1);
        return;
    }
    memset(k->dh0, 0, sizeof(float) * (size_t)nh);
    rgcn_backward(k->dh0, d + k->w1, atw(d, k->c1), d + k->b1, k->scratch, k->dh1, &k->g, k->h0, p + k->w1,
                  at(p, k->c1), &k->s1);
    input_backward(k, d);
}

int kgnet_summary(const KgNet *k, const Model *mdl, char *buf, unsigned long cap) {
    char bases[32];
    if (k->s1.B) snprintf(bases, sizeof bases, "%d bases", k->s1.B);
    else snprintf(bases, sizeof bases, "full weights");
    if (k->kind == KGNET_RGCN)
        return snprintf(buf, cap, "rgcn %d-%d-%d, %d relations (inverses and self included), %s, %ld params",
                        k->N, k->H1, k->K, k->g.R, bases, mdl->nparams);
    int nm = 0, w = 0;
    for (int t = 1; t < FT_N; t++)
        if (k->proj[t] >= 0) nm++, w += k->fdim[t];
    return snprintf(buf, cap, "mrgcn %d nodes, %d literal modalities (%d features) -> %d-%d-%d, %d relations, "
                    "%s, %ld params", k->N, nm, w, k->H1, k->H1, k->K, k->g.R, bases, mdl->nparams);
}
