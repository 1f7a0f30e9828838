/* loss.c: the losses of loss.h. Softmax-family losses are written per sample
   as "terms" on the log-softmax; the embedding losses on the raw rows. */
#include "loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* ------------------------------------------------------------------------ */
/* the table of losses                                                        */

/* the per-sample terms a softmax-family loss is made of */
enum { T_NONE, T_CE, T_MAE, T_RCE, T_GCE, T_FL, T_NCE, T_NFL, T_NGCE, T_NMAE };
/* the parameters a loss uses */
enum { P_ALPHA = 1, P_BETA = 2, P_Q = 4, P_GAMMA = 8, P_CB = 16, P_MARGIN = 32, P_PNORM = 64 };

/* name, first term (weight alpha if P_ALPHA else 1), second term (weight beta), parameters.
   Order = the LOSS_* enum. */
static const struct {
    const char *name;
    int a, b, params;
} LOSSES[LOSS_COUNT] = {
    {"ce", T_CE, T_NONE, 0},
    {"mae", T_MAE, T_NONE, 0},
    {"rce", T_RCE, T_NONE, 0},
    {"sce", T_CE, T_RCE, P_ALPHA | P_BETA},
    {"gce", T_GCE, T_NONE, P_Q},
    {"fl", T_FL, T_NONE, P_GAMMA},
    {"nce", T_NCE, T_NONE, 0},
    {"nfl", T_NFL, T_NONE, P_GAMMA},
    {"ngce", T_NGCE, T_NONE, P_Q},
    {"nmae", T_NMAE, T_NONE, 0},
    {"nce+mae", T_NCE, T_MAE, P_ALPHA | P_BETA},
    {"nce+rce", T_NCE, T_RCE, P_ALPHA | P_BETA},
    {"nfl+mae", T_NFL, T_MAE, P_ALPHA | P_BETA | P_GAMMA},
    {"nfl+rce", T_NFL, T_RCE, P_ALPHA | P_BETA | P_GAMMA},
    {"ngce+mae", T_NGCE, T_MAE, P_ALPHA | P_BETA | P_Q},
    {"ngce+rce", T_NGCE, T_RCE, P_ALPHA | P_BETA | P_Q},
    {"cb-ce", T_CE, T_NONE, P_CB},
    {"cb-focal", T_FL, T_NONE, P_GAMMA | P_CB},
    {"triplet", T_NONE, T_NONE, P_MARGIN | P_PNORM},
    {"cosine-embedding", T_NONE, T_NONE, 0},
};

/* "auto" values, from the APL configs (HanxunH/Active-Passive-Losses, configs/
   mnist and configs/cifar10): the MNIST column serves mnist and fashion-mnist,
   the CIFAR-10 column every other dataset (cifar10, synth). */
#define COMBOS "nce+mae|nce+rce|nfl+mae|nfl+rce|ngce+mae|ngce+rce"
static const struct {
    const char *key, *losses;
    double mnist, cifar10;
} AUTO[] = {
    {"alpha", "sce", 0.01, 0.1},
    {"beta", "sce", 1.0, 1.0},
    {"alpha", COMBOS, 1.0, 1.0},
    {"beta", COMBOS, 10.0, 1.0},
    {"q", "gce", 0.7, 0.7},
    {"q", "ngce|ngce+mae|ngce+rce", 0.1, 0.1},
    {"gamma", "fl|nfl|nfl+mae|nfl+rce|cb-focal", 0.5, 0.5},
};

const char *loss_name(int kind) { return kind >= 0 && kind < LOSS_COUNT ? LOSSES[kind].name : NULL; }

static int in_list(const char *list, const char *name) {
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && !memcmp(p, name, n)) return 1;
        p += n + (bar ? 1 : 0);
    }
    return 0;
}

/* the configured value, or the auto value of the table (NAN if it has none) */
static double resolve(const char *key, double v, const char *loss, const char *dataset) {
    if (!isnan(v)) return v;
    int mnist = !strcmp(dataset, "mnist") || !strcmp(dataset, "fashion-mnist");
    for (size_t i = 0; i < sizeof AUTO / sizeof AUTO[0]; i++)
        if (!strcmp(AUTO[i].key, key) && in_list(AUTO[i].losses, loss))
            return mnist ? AUTO[i].mnist : AUTO[i].cifar10;
    return NAN;
}

int loss_from_config(Loss *l, const Config *c) {
    memset(l, 0, sizeof *l);
    int kind = -1;
    for (int i = 0; i < LOSS_COUNT; i++)
        if (!strcmp(c->loss, LOSSES[i].name)) kind = i;
    if (kind < 0) {
        char all[400];
        size_t n = 0;
        for (int i = 0; i < LOSS_COUNT; i++)
            n += (size_t)snprintf(all + n, sizeof all - n, "%s%s", i ? ", " : "", LOSSES[i].name);
        return nl_fail("config key 'loss': '%.40s' is not a loss; the losses are %s. Hint: "
                       "write e.g. loss=nce+rce.", c->loss, all);
    }
    l->kind = kind;
    int P = LOSSES[kind].params;
    /* every used parameter must be a finite number in its range; the config
       parser checks ranges too, but a Config may also be built in code */
    if (P & P_ALPHA) {
        l->alpha = resolve("alpha", c->alpha, c->loss, c->dataset);
        if (!(l->alpha >= 0 && isfinite(l->alpha)))
            return nl_fail("config key 'alpha': %g is not a weight >= 0. Hint: write e.g. alpha=1 "
                           "or alpha=auto.", l->alpha);
    }
    if (P & P_BETA) {
        l->beta = resolve("beta", c->beta, c->loss, c->dataset);
        if (!(l->beta >= 0 && isfinite(l->beta)))
            return nl_fail("config key 'beta': %g is not a weight >= 0. Hint: write e.g. beta=1 "
                           "or beta=auto.", l->beta);
        if (l->alpha == 0 && l->beta == 0)
            return nl_fail("config keys 'alpha' and 'beta' are both 0, so loss %s would train "
                           "nothing. Hint: make at least one of them positive, or use auto.",
                           c->loss);
    }
    if (P & P_Q) {
        l->q = resolve("q", c->q, c->loss, c->dataset);
        if (!(l->q > 0 && l->q <= 1))
            return nl_fail("config key 'q': %g is outside (0, 1]; loss %s needs 0 < q <= 1. "
                           "Hint: write e.g. q=0.7 or q=auto.", l->q, c->loss);
    }
    if (P & P_GAMMA) {
        l->gamma = resolve("gamma", c->gamma, c->loss, c->dataset);
        if (!(l->gamma >= 0 && l->gamma <= 20))
            return nl_fail("config key 'gamma': %g is outside [0, 20]; loss %s needs a focal "
                           "exponent from 0 to 20. Hint: write e.g. gamma=0.5 or gamma=auto.",
                           l->gamma, c->loss);
    }
    if (P & P_CB) {
        l->cb_beta = c->cb_beta;
        if (!(l->cb_beta >= 0 && l->cb_beta < 1))
            return nl_fail("config key 'cb_beta': %g is outside [0, 1). Hint: write e.g. "
                           "cb_beta=0.9999.", l->cb_beta);
    }
    if (P & P_MARGIN) {
        l->margin = c->margin;
        if (!(l->margin >= 0 && isfinite(l->margin)))
            return nl_fail("config key 'margin': %g is not a margin >= 0. Hint: write e.g. "
                           "margin=1.", l->margin);
    }
    if (P & P_PNORM) {
        l->pnorm = c->pnorm;
        if (!(l->pnorm >= 1 && isfinite(l->pnorm)))
            return nl_fail("config key 'pnorm': %g is not a p >= 1 of a p-norm. Hint: write e.g. "
                           "pnorm=2.", l->pnorm);
    }
    return 0;
}

/* Effective number (Cui et al. 2019): E_n = (1 - beta^n) / (1 - beta), weight
   1 / E_n. 1 - beta^n is computed as -expm1(n log beta), exact for beta near 1. */
int loss_set_class_counts(Loss *l, const long *counts, int K) {
    if (K < 2 || K > LOSS_MAX_CLASSES)
        return nl_fail("loss: class counts for %d classes; need 2 to %d. Hint: pass one count "
                       "per class.", K, LOSS_MAX_CLASSES);
    long total = 0;
    for (int c = 0; c < K; c++) {
        if (counts[c] < 0)
            return nl_fail("loss: class %d has a negative count (%ld). Hint: pass the number of "
                           "training samples of each class.", c, counts[c]);
        total += counts[c];
    }
    if (total == 0)
        return nl_fail("loss: every class count is 0, so no class can be weighted. Hint: pass "
                       "the number of training samples of each class.");
    double sum = 0;
    for (int c = 0; c < K; c++) {
        double w = 0; /* an absent class gets weight 0 */
        if (counts[c] > 0) {
            if (l->cb_beta == 0) w = 1;
            else w = (1 - l->cb_beta) / -expm1((double)counts[c] * log(l->cb_beta));
        }
        l->cb_weight[c] = w;
        sum += w;
    }
    for (int c = 0; c < K; c++) l->cb_weight[c] *= K / sum;
    l->nclasses = K;
    return 0;
}

int loss_params_json(const Loss *l, char *buf, size_t cap) {
    int P = LOSSES[l->kind].params;
    size_t n = (size_t)snprintf(buf, cap, "{\"loss\":\"%s\"", LOSSES[l->kind].name);
#define ADD(flag, key, v) \
    if ((P & flag) && n < cap) n += (size_t)snprintf(buf + n, cap - n, ",\"" key "\":%.17g", v)
    ADD(P_ALPHA, "alpha", l->alpha);
    ADD(P_BETA, "beta", l->beta);
    ADD(P_Q, "q", l->q);
    ADD(P_GAMMA, "gamma", l->gamma);
    ADD(P_CB, "cb_beta", l->cb_beta);
    ADD(P_MARGIN, "margin", l->margin);
    ADD(P_PNORM, "pnorm", l->pnorm);
#undef ADD
    if ((P & P_CB) && l->nclasses > 0 && n < cap) {
        n += (size_t)snprintf(buf + n, cap - n, ",\"class_weights\":[");
        for (int c = 0; c < l->nclasses && n < cap; c++)
            n += (size_t)snprintf(buf + n, cap - n, "%s%.9g", c ? "," : "", l->cb_weight[c]);
        if (n < cap) n += (size_t)snprintf(buf + n, cap - n, "]");
    }
    if (n < cap) n += (size_t)snprintf(buf + n, cap - n, "}");
    return n < cap ? 0 : nl_fail("loss: parameter JSON is too long. Hint: this is a bug.");
}

/* ------------------------------------------------------------------------ */
/* softmax-family losses, one sample at a time                                */

/* One sample in double: lp = log softmax(z), p = softmax(z), u = 1 - p
   (without cancellation), y the label. */
typedef struct {
    int K, y;
    double *lp, *p, *u;
} Row;

/* log-softmax with the largest logit a subtracted: log p_k = z_k - z_a - log1p(s),
   s = sum_{k != a} exp(z_k - z_a), so log p_a = -log1p(s) stays exact when
   s is tiny, and 1 - p_a = s / (1 + s). For k != a, p_k <= 1/2, and 1 - p_k
   is safe to subtract. */
static void row_init(Row *r, const float *z, int K, int y) {
    int a = 0;
    for (int k = 1; k < K; k++)
        if (z[k] > z[a]) a = k;
    double s = 0;
    for (int k = 0; k < K; k++)
        if (k != a) s += exp((double)z[k] - z[a]);
    double ls = log1p(s);
    for (int k = 0; k < K; k++) {
        r->lp[k] = ((double)z[k] - z[a]) - ls; /* log p_a = -log1p(s) exactly */
        r->p[k] = exp(r->lp[k]);
        r->u[k] = k == a ? s / (1 + s) : 1 - r->p[k];
    }
    r->K = K, r->y = y;
}

/* rho = -log p / (1 - p), the factor that makes the focal gradient finite:
   d/dlogp [(1-p)^g log p] = (1-p)^g (1 + g p rho). rho -> 1 as p -> 1. */
static double rho(const Row *r, int k) { return r->u[k] > 0 ? -r->lp[k] / r->u[k] : 1.0; }

/* focal factor f_k = (1-p_k)^g log p_k (<= 0) and its derivative in log p_k */
static double focal(const Row *r, int k, double g) { return pow(r->u[k], g) * r->lp[k]; }
static double dfocal(const Row *r, int k, double g) {
    return pow(r->u[k], g) * (1 + g * r->p[k] * rho(r, k));
}

/* Each term returns its value on one sample and, when gl is not NULL, adds
   w * d(value)/d(log p_k) into gl[k]. The chain rule through log-softmax
   (d log p_k / dz_j = [k = j] - p_j) is applied once per sample, in row_loss. */
static double term(int t, const Loss *l, const Row *r, double w, double *gl) {
    const int K = r->K, y = r->y;
    const double *lp = r->lp, *p = r->p, *u = r->u;
    switch (t) {
    case T_CE:
        if (gl) gl[y] -= w;
        return -lp[y];
    case T_MAE:
        if (gl) gl[y] -= w * p[y];
        return u[y];
    case T_RCE:
        if (gl) gl[y] -= w * LOSS_RCE_A * p[y];
        return LOSS_RCE_A * u[y];
    case T_NMAE:
        if (gl) gl[y] -= w * p[y] / (K - 1);
        return u[y] / (K - 1);
    case T_GCE: /* p^q = exp(q log p); 1 - p^q = -expm1(q log p) */
        if (gl) gl[y] -= w * exp(l->q * lp[y]);
        return -expm1(l->q * lp[y]) / l->q;
    case T_FL:
        if (gl) gl[y] -= w * dfocal(r, y, l->gamma);
        return -focal(r, y, l->gamma);
    case T_NCE: { /* L = lp_y / S, S = sum lp_k < 0; dL/dlp_k = ([k=y] - L) / S */
        double S = 0;
        for (int k = 0; k < K; k++) S += lp[k];
        double L = lp[y] / S;
        if (gl)
            for (int k = 0; k < K; k++) gl[k] += w * ((k == y) - L) / S;
        return L;
    }
    case T_NFL: { /* L = f_y / D, D = sum f_k; dL/dlp_k = ([k=y] - L) f'_k / D */
        double D = 0;
        for (int k = 0; k < K; k++) D += focal(r, k, l->gamma);
        double L = focal(r, y, l->gamma) / D;
        if (gl)
            for (int k = 0; k < K; k++) gl[k] += w * ((k == y) - L) * dfocal(r, k, l->gamma) / D;
        return L;
    }
    case T_NGCE: { /* L = N / D, N = 1 - p_y^q, D = sum_k (1 - p_k^q) = K - sum p^q > 0;
                      dL/dlp_k = q p_k^q (L - [k=y]) / D */
        double q = l->q, D = 0;
        for (int k = 0; k < K; k++) D += -expm1(q * lp[k]);
        double L = -expm1(q * lp[y]) / D;
        if (gl)
            for (int k = 0; k < K; k++) gl[k] += w * q * exp(q * lp[k]) * (L - (k == y)) / D;
        return L;
    }
    }
    return 0;
}

/* value of the whole loss on one sample; gl (if not NULL) gets d/dlogp added */
static double sample_loss(const Loss *l, const Row *r, double *gl) {
    int a = LOSSES[l->kind].a, b = LOSSES[l->kind].b, P = LOSSES[l->kind].params;
    double wa = P & P_ALPHA ? l->alpha : 1.0;
    if (P & P_CB) wa = l->cb_weight[r->y];
    double v = term(a, l, r, wa, gl) * wa;
    if (b != T_NONE) v += l->beta * term(b, l, r, l->beta, gl);
    return v;
}

/* Each row needs 4 K doubles of scratch; K <= LOSS_MAX_CLASSES is checked by
   loss_compute. Static: the core is single-threaded per module instance. */
static double s_lp[LOSS_MAX_CLASSES], s_p[LOSS_MAX_CLASSES], s_u[LOSS_MAX_CLASSES], s_gl[LOSS_MAX_CLASSES];

/* one sample of a softmax-family loss: the value, and d(value)/dz added into
   dz when not NULL; r->p holds softmax(z) afterwards */
static double row_loss(const Loss *l, Row *r, const float *z, int y, int K, double *dz) {
    row_init(r, z, K, y);
    if (!dz) return sample_loss(l, r, NULL);
    for (int k = 0; k < K; k++) s_gl[k] = 0;
    double v = sample_loss(l, r, s_gl);
    /* dL/dz_j = gl_j - p_j sum_k gl_k = (1 - p_j) gl_j - p_j sum_{k != j} gl_k, the
       second form with the exact 1 - p_j: for p_j within 1e-16 of 1 the first
       cancels to 0 where the true value is tiny but representable */
    double gsum = 0;
    for (int k = 0; k < K; k++) gsum += s_gl[k];
    for (int j = 0; j < K; j++) dz[j] += r->u[j] * s_gl[j] - r->p[j] * (gsum - s_gl[j]);
    return v;
}

float softmax_loss_forward(const Loss *l, float *probs, float *losses, const float *logits,
                           const int *labels, int B, int K) {
    Row r = {K, 0, s_lp, s_p, s_u};
    double total = 0;
    for (int b = 0; b < B; b++) {
        double v = row_loss(l, &r, logits + (long)b * K, labels[b], K, NULL);
        if (probs)
            for (int k = 0; k < K; k++) probs[(long)b * K + k] = (float)r.p[k];
        if (losses) losses[b] = (float)v;
        total += v;
    }
    return (float)(total / B);
}

void softmax_loss_backward(const Loss *l, float *dlogits, const float *logits, const int *labels,
                           int B, int K, float scale) {
    static double dz[LOSS_MAX_CLASSES];
    Row r = {K, 0, s_lp, s_p, s_u};
    const double c = (double)scale / B;
    for (int b = 0; b < B; b++) {
        for (int k = 0; k < K; k++) dz[k] = 0;
        row_loss(l, &r, logits + (long)b * K, labels[b], K, dz);
        float *d = dlogits + (long)b * K;
        for (int j = 0; j < K; j++) d[j] += (float)(c * dz[j]);
    }
}

/* ------------------------------------------------------------------------ */
/* embedding losses                                                           */

void triplet_sample(Rng *rng, int *pos, int *neg, const int *labels, int B) {
    for (int i = 0; i < B; i++) {
        int npos = 0, nneg = 0;
        for (int j = 0; j < B; j++) {
            if (j == i) continue;
            if (labels[j] == labels[i]) npos++;
            else nneg++;
        }
        pos[i] = neg[i] = -1;
        if (!npos || !nneg) continue;
        /* the n-th positive, then the m-th negative, in batch order */
        int n = (int)rng_below(rng, (uint32_t)npos), m = (int)rng_below(rng, (uint32_t)nneg);
        for (int j = 0; j < B; j++) {
            if (j == i) continue;
            if (labels[j] == labels[i]) {
                if (n-- == 0) pos[i] = j;
            } else if (m-- == 0) {
                neg[i] = j;
            }
        }
    }
}

/* d = ||x - y + eps||_p as torch.nn.functional.pairwise_distance (eps 1e-6) */
#define PDIST_EPS 1e-6
static double pdist(const float *x, const float *y, int D, double p) {
    double s = 0;
    for (int k = 0; k < D; k++) {
        double v = fabs((double)x[k] - y[k] + PDIST_EPS);
        s += p == 2 ? v * v : p == 1 ? v : pow(v, p);
    }
    return p == 2 ? sqrt(s) : p == 1 ? s : pow(s, 1 / p);
}

/* adds c * d(dist)/dx to gx and its negative to gy: dd/dv_k = sign(v_k) |v_k|^(p-1) / d^(p-1) */
static void pdist_grad(float *gx, float *gy, const float *x, const float *y, int D, double p,
                       double c) {
    double d = pdist(x, y, D, p);
    if (d == 0) return; /* v = 0: the norm's subgradient 0, as torch */
    for (int k = 0; k < D; k++) {
        double v = (double)x[k] - y[k] + PDIST_EPS;
        double g = v > 0 ? 1 : v < 0 ? -1 : 0;
        if (p != 1) g *= pow(fabs(v) / d, p - 1);
        gx[k] += (float)(c * g);
        gy[k] -= (float)(c * g);
    }
}

static int triplet_used(const int *pos, const int *neg, int B) {
    int T = 0;
    for (int i = 0; i < B; i++) T += pos[i] >= 0 && neg[i] >= 0;
    return T;
}

float triplet_forward(float *losses, const float *emb, const int *pos, const int *neg, int B, int D,
                      float margin, float pnorm) {
    double total = 0;
    for (int i = 0; i < B; i++) {
        double v = 0;
        if (pos[i] >= 0 && neg[i] >= 0) {
            const float *a = emb + (long)i * D;
            v = pdist(a, emb + (long)pos[i] * D, D, pnorm) - pdist(a, emb + (long)neg[i] * D, D, pnorm) + margin;
            if (v < 0) v = 0;
        }
        if (losses) losses[i] = (float)v;
        total += v;
    }
    int T = triplet_used(pos, neg, B);
    return T ? (float)(total / T) : 0.0f;
}

void triplet_backward(float *demb, const float *emb, const int *pos, const int *neg, int B, int D,
                      float margin, float pnorm, float scale) {
    int T = triplet_used(pos, neg, B);
    for (int i = 0; i < B; i++) {
        if (pos[i] < 0 || neg[i] < 0) continue;
        const float *a = emb + (long)i * D, *pp = emb + (long)pos[i] * D, *nn = emb + (long)neg[i] * D;
        double v = pdist(a, pp, D, pnorm) - pdist(a, nn, D, pnorm) + margin;
        if (v <= 0) continue; /* the hinge is flat */
        double c = (double)scale / T;
        pdist_grad(demb + (long)i * D, demb + (long)pos[i] * D, a, pp, D, pnorm, c);
        pdist_grad(demb + (long)i * D, demb + (long)neg[i] * D, a, nn, D, pnorm, -c);
    }
}

/* as torch.nn.functional.cosine_embedding_loss(z, e_y, +1): eps 1e-12 under the
   square root of the squared norm (the target's norm is 1). One sample in
   double; d(value)/dz added into dz when not NULL. */
#define COS_EPS 1e-12
static double cosine_sample(const float *z, int y, int D, double *dz) {
    double n2 = COS_EPS;
    for (int k = 0; k < D; k++) n2 += (double)z[k] * z[k];
    double n = sqrt(n2), zy = z[y];
    /* d cos / dz_k = [k=y] / n - z_y z_k / n^3 */
    if (dz)
        for (int k = 0; k < D; k++) dz[k] -= (k == y) / n - zy * z[k] / (n2 * n);
    return 1 - zy / n;
}

float cosine_embedding_forward(float *losses, const float *emb, const int *labels, int B, int D) {
    double total = 0;
    for (int b = 0; b < B; b++) {
        double v = cosine_sample(emb + (long)b * D, labels[b], D, NULL);
        if (losses) losses[b] = (float)v;
        total += v;
    }
    return (float)(total / B);
}

void cosine_embedding_backward(float *demb, const float *emb, const int *labels, int B, int D,
                               float scale) {
    static double dz[LOSS_MAX_CLASSES];
    const double c = (double)scale / B;
    for (int b = 0; b < B; b++) {
        for (int k = 0; k < D; k++) dz[k] = 0;
        cosine_sample(emb + (long)b * D, labels[b], D, dz);
        for (int k = 0; k < D; k++) demb[(long)b * D + k] += (float)(c * dz[k]);
    }
}

double loss_sample(const Loss *l, const float *z, int y, int K, double *dz) {
    if (l->kind == LOSS_TRIPLET || K < 2 || K > LOSS_MAX_CLASSES || y < 0 || y >= K) return NAN;
    if (l->kind == LOSS_COSINE) return cosine_sample(z, y, K, dz);
    if ((LOSSES[l->kind].params & P_CB) && l->nclasses != K) return NAN;
    Row r = {K, 0, s_lp, s_p, s_u};
    return row_loss(l, &r, z, y, K, dz);
}

/* ------------------------------------------------------------------------ */

static void softmax_rows(float *probs, const float *logits, int B, int K) {
    for (int b = 0; b < B; b++) {
        const float *z = logits + (long)b * K;
        float *p = probs + (long)b * K;
        float m = z[0], sum = 0;
        for (int k = 1; k < K; k++) m = z[k] > m ? z[k] : m;
        for (int k = 0; k < K; k++) sum += p[k] = expf(z[k] - m);
        for (int k = 0; k < K; k++) p[k] /= sum;
    }
}

float loss_compute(const Loss *l, const float *logits, const int *labels, int B, int K,
                   float *probs, float *losses, float *dlogits, float scale) {
    const char *name = LOSSES[l->kind].name;
    if (B < 1 || K < 2 || K > LOSS_MAX_CLASSES) {
        nl_fail("loss: %s got a batch of %d x %d logits; it needs at least 1 sample and 2 to %d "
                "classes. Hint: check the model's number of outputs.", name, B, K, LOSS_MAX_CLASSES);
        return NAN;
    }
    for (int b = 0; b < B; b++)
        if (labels[b] < 0 || labels[b] >= K) {
            nl_fail("loss: label %d of sample %d is outside [0, %d) (loss %s). Hint: check that "
                    "the dataset's labels match the model's number of classes.", labels[b], b, K, name);
            return NAN;
        }
    if ((LOSSES[l->kind].params & P_CB) && l->nclasses != K) {
        if (l->nclasses == 0)
            nl_fail("loss: %s weights each class by its training count, but the class counts "
                    "were not set. Hint: call loss_set_class_counts (CLI: --class-counts "
                    "n1,n2,...) before computing the loss.", name);
        else
            nl_fail("loss: %s has class counts for %d classes but the logits have %d. Hint: "
                    "pass one count per class.", name, l->nclasses, K);
        return NAN;
    }
    if (l->kind == LOSS_TRIPLET) {
        if (!l->rng) {
            nl_fail("loss: triplet has no random generator for sampling the triplets. Hint: "
                    "set Loss.rng before loss_compute.");
            return NAN;
        }
        int *pos = malloc(sizeof(int) * (size_t)B), *neg = malloc(sizeof(int) * (size_t)B);
        if (!pos || !neg) {
            free(pos), free(neg);
            nl_fail("loss: triplet is out of memory. Hint: use a smaller batch.");
            return NAN;
        }
        triplet_sample(l->rng, pos, neg, labels, B);
        float mean = triplet_forward(losses, logits, pos, neg, B, K, (float)l->margin, (float)l->pnorm);
        if (dlogits) triplet_backward(dlogits, logits, pos, neg, B, K, (float)l->margin, (float)l->pnorm, scale);
        free(pos), free(neg);
        if (probs) softmax_rows(probs, logits, B, K);
        return mean;
    }
    if (l->kind == LOSS_COSINE) {
        float mean = cosine_embedding_forward(losses, logits, labels, B, K);
        if (dlogits) cosine_embedding_backward(dlogits, logits, labels, B, K, scale);
        if (probs) softmax_rows(probs, logits, B, K);
        return mean;
    }
    float mean = softmax_loss_forward(l, probs, losses, logits, labels, B, K);
    if (dlogits) softmax_loss_backward(l, dlogits, logits, labels, B, K, scale);
    return mean;
}
