/* test_losses.c: every loss of core/loss.c.

   1. Finite differences: for every loss, several batch shapes and logit
      scales (N(0,1), N(0,20^2) and N(0,1000^2)), the analytic dlogits of
      loss_compute against central differences of the mean loss, computed in
      double from the float per-sample values (steps h and h/2 combined by
      Richardson extrapolation). Error per element:
      |ana - num| / max(|ana|, |num|, 1% of the largest |num|), as in
      test_layers.c. The triplet hinge is kept away from its kink.
   2. Identities: sce = alpha ce + beta rce, every combination = alpha active +
      beta passive, fl(gamma=0) = ce, nfl(gamma=0) = nce, gce(q=1) = mae,
      rce = A mae, nmae = mae/(K-1), normalised losses in [0, 1], mae and ce of
      a confident correct prediction ~ 0, gradient rows sum to 0 (softmax
      shift invariance), accumulation into dlogits and linearity in scale.
   3. Extreme logits (|z| up to 1e3, p_y = 1 and p_y = 0 exactly in double):
      finite loss and gradient for every loss, and the focal limit at p -> 1
      for gamma < 1.
   4. Class-balanced weights (formula, sum K, absent classes), auto resolution
      per dataset, refusals (each message names the key), loss_params_json,
      triplet sampling.
   5. PyTorch goldens (tests/golden/losses.bin, make_loss_golden.py): loss and
      dL/dlogits of every loss; max difference printed per loss.
   Run from the repo root. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "err.h"
#include "loss.h"
#include "rng.h"

static const char *ALL[] = {"ce", "mae", "rce", "sce", "gce", "fl", "nce", "nfl", "ngce", "nmae",
                            "nce+mae", "nce+rce", "nfl+mae", "nfl+rce", "ngce+mae", "ngce+rce",
                            "cb-ce", "cb-focal", "triplet", "cosine-embedding"};
#define NLOSS ((int)(sizeof ALL / sizeof ALL[0]))

static Rng rng;
static Rng triplet_rng; /* re-seeded before every loss_compute: same triplets each time */
#define TRIPLET_SEED 99

static float *fbuf(long n) {
    float *p = calloc((size_t)n, sizeof(float));
    if (!p) exit(2);
    return p;
}

/* a Loss from a config string; counts for the cb losses; the triplet Rng */
static Loss *make(const char *cfg, int K) {
    static Loss l;
    Config c;
    if (config_parse(&c, cfg) < 0 || loss_from_config(&l, &c) < 0) {
        CHECK(0, "config '%s': %s", cfg, nl_error());
        memset(&l, 0, sizeof l);
        return &l;
    }
    long counts[LOSS_MAX_CLASSES];
    for (int k = 0; k < K; k++) counts[k] = 1000 / (k + 1);
    if (loss_set_class_counts(&l, counts, K) < 0) CHECK(0, "counts: %s", nl_error());
    l.rng = &triplet_rng;
    return &l;
}

static float compute(const Loss *l, const float *z, const int *y, int B, int K, float *probs,
                     float *losses, float *dz, float scale) {
    rng_init(&triplet_rng, TRIPLET_SEED, STREAM_SHUFFLE);
    return loss_compute(l, z, y, B, K, probs, losses, dz, scale);
}

/* the mean loss in double from the per-sample values (not for triplet) */
static double mean_loss(const Loss *l, const float *z, const int *y, int B, int K) {
    float *probs = fbuf((long)B * K), *losses = fbuf(B);
    compute(l, z, y, B, K, probs, losses, NULL, 0);
    double s = 0;
    for (int b = 0; b < B; b++) s += losses[b];
    free(probs), free(losses);
    return s / B;
}

/* the triplet loss in double, written here from its definition (the core's
   float forward is checked against it in test_triplet_sampling) */
static double ref_dist(const float *x, const float *y, int D, double p) {
    double s = 0;
    for (int k = 0; k < D; k++) s += pow(fabs((double)x[k] - y[k] + 1e-6), p);
    return pow(s, 1 / p);
}
static double ref_triplet(const float *z, const int *pos, const int *neg, int B, int D, double margin, double p) {
    double s = 0;
    int T = 0;
    for (int i = 0; i < B; i++) {
        if (pos[i] < 0) continue;
        const float *a = z + (long)i * D;
        s += fmax(0, ref_dist(a, z + (long)pos[i] * D, D, p) - ref_dist(a, z + (long)neg[i] * D, D, p) + margin);
        T++;
    }
    return T ? s / T : 0;
}

/* L(z) for the finite differences, in double: the mean over the batch of
   loss_sample (every loss but triplet is a sum of per-row terms, so only row b
   changes); for triplet the reference above on the core's sampled triplets */
static double fd_loss(const Loss *l, const float *z, const int *y, int b, int B, int K) {
    if (l->kind != LOSS_TRIPLET) return loss_sample(l, z + (long)b * K, y[b], K, NULL) / B;
    int pos[64], neg[64];
    rng_init(&triplet_rng, TRIPLET_SEED, STREAM_SHUFFLE);
    triplet_sample(&triplet_rng, pos, neg, y, B);
    return ref_triplet(z, pos, neg, B, K, l->margin, l->pnorm);
}

/* worst relative error of the analytic gradient; prints one line */
static double gradcheck(const char *name, const Loss *l, float *z, const int *y, int B, int K,
                        double h, const char *what) {
    long n = (long)B * K;
    float *dz = fbuf(n), *junk = fbuf(n), *probs = fbuf(n), *losses = fbuf(B);
    /* dz starts at 0 here: junk of size 1 would round away gradients of 1e-6
       (accumulation is tested in test_identities) */
    compute(l, z, y, B, K, probs, losses, dz, 1.0f);
    double *num = malloc(sizeof(double) * (size_t)(B * K)), gmax = 0;
    if (!num) exit(2);
    for (long i = 0; i < n; i++) {
        double d[2];
        int b = (int)(i / K);
        for (int s = 0; s < 2; s++) {
            float orig = z[i];
            double step = h / (s ? 2 : 1);
            float zp = (float)(orig + step), zm = (float)(orig - step);
            z[i] = zp;
            double Lp = fd_loss(l, z, y, b, B, K);
            z[i] = zm;
            double Lm = fd_loss(l, z, y, b, B, K);
            z[i] = orig;
            d[s] = (Lp - Lm) / ((double)zp - (double)zm);
        }
        num[i] = (4 * d[1] - d[0]) / 3;
        if (fabs(num[i]) > gmax) gmax = fabs(num[i]);
    }
    double worst = 0;
    int finite = 1;
    for (long i = 0; i < n; i++) {
        double ana = (double)dz[i] - junk[i];
        if (!isfinite(dz[i])) finite = 0;
        double den = fmax(fmax(fabs(ana), fabs(num[i])), fmax(1e-2 * gmax, 1e-7));
        double e = fabs(ana - num[i]) / den;
        if (e > worst || e != e) worst = e != e ? INFINITY : e;
    }
    printf("gradcheck %-17s B%-2d K%-2d %-9s max rel err %.1e  max |grad| %.1e\n", name, B, K, what, worst, gmax);
    CHECK(gmax > 0 || l->kind != LOSS_TRIPLET || !strcmp(what, "extreme"), "%s B%d K%d %s: the gradient is 0 everywhere; the test "
          "checks nothing", name, B, K, what);
    free(dz), free(junk), free(probs), free(losses), free(num);
    return finite ? worst : INFINITY;
}

/* random labels; for triplet, a batch where some anchors have no positive */
static void labels_for(int *y, int B, int K) {
    for (int b = 0; b < B; b++) y[b] = (int)rng_below(&rng, (uint32_t)K);
}
/* triplet: at most 3 classes, so most anchors have a positive */
static void triplet_labels(int *y, int B) {
    for (int b = 0; b < B; b++) y[b] = (int)rng_below(&rng, 3);
}

/* triplet: re-draw logits until every used hinge (and, for p < 2, every
   coordinate difference) is at least `gap` from its kink */
static void away_from_hinge(const Loss *l, float *z, const int *y, int B, int K, float scale, double gap) {
    int pos[64], neg[64];
    rng_init(&triplet_rng, TRIPLET_SEED, STREAM_SHUFFLE);
    triplet_sample(&triplet_rng, pos, neg, y, B);
    for (int tries = 0; tries < 1000; tries++) {
        int ok = 1;
        for (int i = 0; i < B && ok; i++) {
            if (pos[i] < 0) continue;
            float e3[3 * 64];
            memcpy(e3, z + (long)i * K, sizeof(float) * (size_t)K);
            memcpy(e3 + K, z + (long)pos[i] * K, sizeof(float) * (size_t)K);
            memcpy(e3 + 2 * K, z + (long)neg[i] * K, sizeof(float) * (size_t)K);
            int pa[3] = {1, -1, -1}, na[3] = {2, -1, -1};
            /* the hinge argument: the loss with the margin shifted far up, minus the shift */
            double L1 = triplet_forward(NULL, e3, pa, na, 3, K, (float)(l->margin + 1000), (float)l->pnorm) - 1000;
            if (fabs(L1) < gap) ok = 0;
            /* |v|^(p-1) of a p-norm below 2 has a kink at v = 0: keep coordinates apart too */
            for (int k = 0; k < K && l->pnorm < 2; k++)
                if (fabs(e3[k] - e3[K + k]) < gap || fabs(e3[k] - e3[2 * K + k]) < gap) ok = 0;
        }
        if (ok) return;
        for (long i = 0; i < (long)B * K; i++) z[i] = scale * rng_normal(&rng);
    }
}

static void test_gradients(void) {
    static const int shapes[][2] = {{1, 2}, {4, 3}, {8, 10}, {5, 7}};
    static const struct { float scale; double h, tol; const char *what; } sets[] = {
        {1.0f, 1e-3, 1e-4, "random"},
        {20.0f, 1e-3, 1e-4, "large"},
        {1000.0f, 1e-2, 1e-4, "extreme"},
    };
    double worst_all = 0;
    for (int li = 0; li < NLOSS; li++) {
        for (int si = 0; si < 4; si++) {
            int B = shapes[si][0], K = shapes[si][1];
            if (!strcmp(ALL[li], "triplet") && B < 3) continue;
            for (int s = 0; s < 3; s++) {
                char cfg[160];
                snprintf(cfg, sizeof cfg, "loss=%s&alpha=0.6&beta=1.7&q=%s&gamma=%s&cb_beta=0.99&margin=%s&pnorm=%s",
                         ALL[li], si % 2 ? "0.3" : "1", si % 2 ? "0.4" : "2", s == 0 ? "3" : s == 1 ? "50" : "100",
                         si == 1 ? "1" : si == 2 ? "1.5" : si == 3 ? "3" : "2");
                const Loss *l = make(cfg, K);
                float *z = fbuf((long)B * K);
                int y[64];
                if (l->kind == LOSS_TRIPLET) triplet_labels(y, B);
                else labels_for(y, B, K);
                for (long i = 0; i < (long)B * K; i++) z[i] = sets[s].scale * rng_normal(&rng);
                /* the embedding losses are homogeneous in z: a step relative to the scale */
                double h = l->kind == LOSS_TRIPLET ? 1e-3 * sets[s].scale
                           : l->kind == LOSS_COSINE ? 1e-4 * sets[s].scale : sets[s].h;
                if (l->kind == LOSS_TRIPLET) away_from_hinge(l, z, y, B, K, sets[s].scale, 20 * h);
                double e = gradcheck(ALL[li], l, z, y, B, K, h, sets[s].what);
                if (e > worst_all) worst_all = e;
                CHECK(e <= sets[s].tol, "%s B%d K%d %s: gradient rel err %.3g > %g", ALL[li], B, K,
                      sets[s].what, e, sets[s].tol);
                free(z);
            }
        }
    }
    printf("gradcheck: worst rel err over all losses %.2e\n", worst_all);
}

/* a deliberately broken gradient must fail the harness */
static void test_harness_fails(void) {
    Loss l_nce = *make("loss=nce", 4), *l = &l_nce;
    float z[8] = {0.3f, -1, 2, 0.5f, 1, 1.5f, -0.2f, 0};
    int y[2] = {1, 3};
    /* a wrong label in the backward only is simulated by the ce gradient of another loss */
    float dz[8] = {0}, probs[8], losses[2];
    loss_compute(make("loss=ce", 4), z, y, 2, 4, probs, losses, dz, 1.0f);
    double worst = 0;
    for (int i = 0; i < 8; i++) {
        float orig = z[i];
        z[i] = orig + 1e-3f;
        double Lp = mean_loss(l, z, y, 2, 4);
        z[i] = orig - 1e-3f;
        double Lm = mean_loss(l, z, y, 2, 4);
        z[i] = orig;
        double num = (Lp - Lm) / 2e-3;
        worst = fmax(worst, fabs(num - dz[i]) / fmax(fabs(num), 1e-3));
    }
    CHECK(worst > 0.1, "harness: ce's gradient passes as nce's (err %.3g)", worst);
}

/* per-sample values and gradient of one loss */
typedef struct { double v[64], g[64 * 16], mean; } Eval;
static void eval(Eval *e, const Loss *l, const float *z, const int *y, int B, int K) {
    float probs[64 * 16], losses[64], dz[64 * 16] = {0};
    e->mean = compute(l, z, y, B, K, probs, losses, dz, 1.0f);
    for (int b = 0; b < B; b++) e->v[b] = losses[b];
    for (int i = 0; i < B * K; i++) e->g[i] = dz[i];
}

static void test_identities(void) {
    enum { B = 6, K = 5 };
    float z[B * K];
    int y[B];
    for (int i = 0; i < B * K; i++) z[i] = 2 * rng_normal(&rng);
    labels_for(y, B, K);
    static Eval ce, mae, rce, nce, nfl, ngce, nmae, x, ya;
    eval(&ce, make("loss=ce", K), z, y, B, K);
    eval(&mae, make("loss=mae", K), z, y, B, K);
    eval(&rce, make("loss=rce", K), z, y, B, K);
    eval(&nce, make("loss=nce", K), z, y, B, K);
    eval(&nfl, make("loss=nfl&gamma=0.5", K), z, y, B, K);
    eval(&ngce, make("loss=ngce&q=0.1", K), z, y, B, K);
    eval(&nmae, make("loss=nmae", K), z, y, B, K);
    for (int b = 0; b < B; b++) {
        CHECK_CLOSE(rce.v[b], LOSS_RCE_A * mae.v[b], 1e-5, "rce = A mae");
        CHECK_CLOSE(nmae.v[b], mae.v[b] / (K - 1), 1e-6, "nmae = mae / (K-1)");
        CHECK(nce.v[b] >= 0 && nce.v[b] <= 1, "nce %g outside [0,1]", nce.v[b]);
        CHECK(nfl.v[b] >= 0 && nfl.v[b] <= 1, "nfl %g outside [0,1]", nfl.v[b]);
        CHECK(ngce.v[b] >= 0 && ngce.v[b] <= 1, "ngce %g outside [0,1]", ngce.v[b]);
        CHECK(nmae.v[b] >= 0 && nmae.v[b] <= 1, "nmae %g outside [0,1]", nmae.v[b]);
    }
    CHECK_CLOSE(LOSS_RCE_A, -log(1e-4), 1e-15, "A = -ln 1e-4");
    /* sce and the combinations are the weighted sums, values and gradients */
    static const struct { const char *combo, *a, *b; } sums[] = {
        {"sce", "ce", "rce"}, {"nce+mae", "nce", "mae"}, {"nce+rce", "nce", "rce"},
        {"nfl+mae", "nfl", "mae"}, {"nfl+rce", "nfl", "rce"}, {"ngce+mae", "ngce", "mae"},
        {"ngce+rce", "ngce", "rce"}};
    for (int i = 0; i < 7; i++) {
        char cfg[120];
        static Eval a, bb;
        snprintf(cfg, sizeof cfg, "loss=%s&alpha=0.3&beta=2.5&gamma=0.7&q=0.4", sums[i].combo);
        eval(&x, make(cfg, K), z, y, B, K);
        snprintf(cfg, sizeof cfg, "loss=%s&gamma=0.7&q=0.4", sums[i].a);
        eval(&a, make(cfg, K), z, y, B, K);
        snprintf(cfg, sizeof cfg, "loss=%s", sums[i].b);
        eval(&bb, make(cfg, K), z, y, B, K);
        double err = 0;
        for (int b = 0; b < B; b++) err = fmax(err, fabs(x.v[b] - (0.3 * a.v[b] + 2.5 * bb.v[b])));
        for (int k = 0; k < B * K; k++) err = fmax(err, fabs(x.g[k] - (0.3 * a.g[k] + 2.5 * bb.g[k])));
        CHECK(err < 1e-5, "%s != 0.3 %s + 2.5 %s (max diff %.3g)", sums[i].combo, sums[i].a, sums[i].b, err);
    }
    /* limits of the parameters */
    static const struct { const char *p, *q; } same[] = {
        {"loss=fl&gamma=0", "loss=ce"}, {"loss=nfl&gamma=0", "loss=nce"}, {"loss=gce&q=1", "loss=mae"},
        {"loss=cb-ce&cb_beta=0", "loss=ce"}, {"loss=cb-focal&cb_beta=0&gamma=0.5", "loss=fl&gamma=0.5"}};
    for (int i = 0; i < 5; i++) {
        const Loss *lp = make(same[i].p, K);
        long counts[K] = {3, 3, 3, 3, 3};
        Loss l2 = *lp;
        loss_set_class_counts(&l2, counts, K);
        eval(&x, &l2, z, y, B, K);
        eval(&ya, make(same[i].q, K), z, y, B, K);
        double err = 0;
        for (int b = 0; b < B; b++) err = fmax(err, fabs(x.v[b] - ya.v[b]));
        for (int k = 0; k < B * K; k++) err = fmax(err, fabs(x.g[k] - ya.g[k]));
        CHECK(err < 1e-5, "%s != %s (max diff %.3g)", same[i].p, same[i].q, err);
    }
    /* shift invariance of softmax: every gradient row of a softmax loss sums to 0 */
    for (int li = 0; li < NLOSS - 2; li++) {
        char cfg[60];
        snprintf(cfg, sizeof cfg, "loss=%s", ALL[li]);
        eval(&x, make(cfg, K), z, y, B, K);
        double worst = 0;
        for (int b = 0; b < B; b++) {
            double s = 0, m = 0;
            for (int k = 0; k < K; k++) s += x.g[b * K + k], m = fmax(m, fabs(x.g[b * K + k]));
            worst = fmax(worst, fabs(s) / (m + 1e-30));
        }
        CHECK(worst < 1e-5, "%s: gradient row sums to %.3g of its largest entry", ALL[li], worst);
    }
    /* a confident correct prediction: ce, mae, rce, gce, fl, nce, ... near 0 */
    float zc[K] = {0, 0, 30, 0, 0};
    int yc = 2;
    for (int li = 0; li < NLOSS - 2; li++) {
        char cfg[60];
        snprintf(cfg, sizeof cfg, "loss=%s", ALL[li]);
        eval(&x, make(cfg, K), zc, &yc, 1, K);
        CHECK(fabs(x.v[0]) < 1e-6, "%s of a confident correct prediction is %.3g, not ~0", ALL[li], x.v[0]);
    }
    /* and a confident wrong one: mae = 1, rce = A, nce = 1/(K-1)... at least clearly positive */
    eval(&x, make("loss=mae", K), zc, (int[]){0}, 1, K);
    CHECK_CLOSE(x.v[0], 1.0, 1e-6, "mae of a confident wrong prediction");
    /* cosine: z = c e_y gives 0, z = -e_y gives 2, z = e_j (j != y) gives 1 */
    float ze[3 * K] = {0, 0, 4, 0, 0, 0, 0, -1, 0, 0, 1, 0, 0, 0, 0};
    int ye[3] = {2, 2, 2};
    eval(&x, make("loss=cosine-embedding", K), ze, ye, 3, K);
    CHECK_CLOSE(x.v[0], 0, 1e-6, "cosine of c e_y");
    CHECK_CLOSE(x.v[1], 2, 1e-6, "cosine of -e_y");
    CHECK_CLOSE(x.v[2], 1, 1e-6, "cosine of e_j");

    /* accumulation and linearity in scale, for every loss */
    for (int li = 0; li < NLOSS; li++) {
        char cfg[60];
        snprintf(cfg, sizeof cfg, "loss=%s", ALL[li]);
        const Loss *l = make(cfg, K);
        float d1[B * K], d2[B * K], d3[B * K], junk[B * K], p[B * K], v[B];
        for (int i = 0; i < B * K; i++) junk[i] = d1[i] = d2[i] = rng_normal(&rng), d3[i] = 0;
        compute(l, z, y, B, K, p, v, d1, 1.0f);
        compute(l, z, y, B, K, p, v, d2, 2.5f);
        compute(l, z, y, B, K, p, v, d3, 1.0f);
        compute(l, z, y, B, K, p, v, d3, 1.0f);
        double err = 0;
        for (int i = 0; i < B * K; i++) {
            double g = (double)d1[i] - junk[i];
            err = fmax(err, fabs(((double)d2[i] - junk[i]) - 2.5 * g));
            err = fmax(err, fabs(d3[i] - 2 * g));
        }
        CHECK(err < 1e-5, "%s: dlogits not accumulated or not linear in scale (%.3g)", ALL[li], err);
        /* probs are softmax(z) for every loss */
        double perr = 0;
        for (int b = 0; b < B; b++) {
            double m = z[b * K], s = 0;
            for (int k = 1; k < K; k++) m = fmax(m, z[b * K + k]);
            for (int k = 0; k < K; k++) s += exp(z[b * K + k] - m);
            for (int k = 0; k < K; k++) perr = fmax(perr, fabs(p[b * K + k] - exp(z[b * K + k] - m) / s));
        }
        CHECK(perr < 1e-6, "%s: probs are not softmax(z) (%.3g)", ALL[li], perr);
    }
}

/* |z| up to 1e3: p_y = 1 and p_y = 0 exactly in double; every loss finite */
static void test_extreme(void) {
    enum { K = 4 };
    float z[4 * K] = {1000, -1000, 0, 999,  -1000, 1000, -1000, -1000,  1000, 1000, 1000, 1000,
                      -1000, -1000, -1000, 1000};
    int y[4] = {0, 0, 2, 3}; /* p_y ~ 0.73, p_y = 0, uniform, p_y = 1 */
    for (int li = 0; li < NLOSS; li++) {
        for (int gi = 0; gi < 3; gi++) {
            char cfg[100];
            snprintf(cfg, sizeof cfg, "loss=%s&gamma=%s&q=%s", ALL[li], gi == 0 ? "0.2" : gi == 1 ? "1" : "3",
                     gi == 0 ? "0.05" : gi == 1 ? "1" : "0.5");
            const Loss *l = make(cfg, K);
            float p[4 * K], v[4], d[4 * K] = {0};
            float m = compute(l, z, y, 4, K, p, v, d, 1.0f);
            int ok = isfinite(m);
            for (int i = 0; i < 4 * K; i++) ok &= isfinite(d[i]) && isfinite(p[i]);
            for (int b = 0; b < 4; b++) ok &= isfinite(v[b]);
            CHECK(ok, "%s: not finite at |z| = 1000 (mean %g)", cfg, m);
        }
    }
    /* the focal limit for gamma < 1: as 1 - p_y -> 0 the logit gradient tends to 0
       like (1-p)^gamma (1 + gamma); check against (1-p)^gamma (1 + gamma rho) in
       double at gaps where 1 - p_y is tiny but representable, and 0 beyond */
    const Loss *l = make("loss=fl&gamma=0.3", 2);
    for (int gi = 0; gi < 6; gi++) {
        double gap = (double[]){5, 20, 40, 100, 700, 2000}[gi];
        float zz[2] = {(float)gap, 0};
        int yy = 0;
        float d[2] = {0}, v;
        compute(l, zz, &yy, 1, 2, NULL, &v, d, 1.0f);
        double u = exp(-gap) / (1 + exp(-gap)), lp = -log1p(exp(-gap)), p = 1 - u;
        double rho = u > 0 ? -lp / u : 1;
        /* dL/dlp_y = -(1-p)^g (1 + g p rho); dL/dz_0 = dL/dlp_y (1 - p_0) */
        double want = -pow(u, 0.3) * (1 + 0.3 * p * rho) * u;
        CHECK(isfinite(d[0]) && fabs(d[0] - want) <= 1e-5 * fabs(want) + 1e-37,
              "fl gamma 0.3, gap %g: dz %.9g vs %.9g", gap, d[0], want);
        CHECK(fabs(d[0] + d[1]) <= 1e-6 * fabs(d[0]) + 1e-37, "fl gap %g: row sum", gap);
        CHECK(v >= 0 && fabs(v - pow(u, 0.3) * -lp) <= 1e-5 * pow(u, 0.3) * -lp + 1e-37,
              "fl gamma 0.3, gap %g: value %.9g", gap, v);
    }
}

static void test_class_balanced(void) {
    Loss l;
    Config c;
    config_parse(&c, "loss=cb-ce&cb_beta=0.9999");
    CHECK(loss_from_config(&l, &c) == 0, "cb-ce: %s", nl_error());
    /* CIFAR-10 long tail, IF = 100: the reference values (sum 10, head -> tail) */
    long lt[10] = {5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50};
    static const double want[10] = {0.051, 0.077, 0.121, 0.195, 0.319, 0.525, 0.868, 1.443, 2.409, 3.993};
    CHECK(loss_set_class_counts(&l, lt, 10) == 0, "counts: %s", nl_error());
    double sum = 0, raw[10], rsum = 0;
    for (int k = 0; k < 10; k++) {
        sum += l.cb_weight[k];
        raw[k] = (1 - 0.9999) / (1 - pow(0.9999, (double)lt[k]));
        rsum += raw[k];
        CHECK(fabs(l.cb_weight[k] - want[k]) < 1e-3, "cb weight %d: %.4f vs %.3f", k, l.cb_weight[k], want[k]);
    }
    CHECK_CLOSE(sum, 10, 1e-12, "cb weights sum to K");
    for (int k = 0; k < 10; k++) CHECK_CLOSE(l.cb_weight[k], raw[k] / rsum * 10, 1e-9, "cb weight formula");
    /* an absent class: weight 0, the others still sum to K */
    long gap[4] = {100, 0, 10, 1};
    CHECK(loss_set_class_counts(&l, gap, 4) == 0, "counts with a 0: %s", nl_error());
    CHECK(l.cb_weight[1] == 0, "absent class weight %g", l.cb_weight[1]);
    CHECK_CLOSE(l.cb_weight[0] + l.cb_weight[2] + l.cb_weight[3], 4, 1e-12, "weights sum to K with an absent class");
    CHECK(l.cb_weight[3] > l.cb_weight[2] && l.cb_weight[2] > l.cb_weight[0], "rarer classes weigh more");
    /* cb-ce value = w_y ce, batch mean */
    float z[8] = {1, 2, 0.5f, -1, 0, 0.3f, 2, 1};
    int y[2] = {3, 2};
    float v[2];
    float m = loss_compute(&l, z, y, 2, 4, NULL, v, NULL, 0);
    Loss ce;
    config_parse(&c, "loss=ce");
    loss_from_config(&ce, &c);
    float vc[2];
    loss_compute(&ce, z, y, 2, 4, NULL, vc, NULL, 0);
    CHECK_CLOSE(v[0], l.cb_weight[3] * vc[0], 1e-6, "cb-ce sample 0");
    CHECK_CLOSE(m, (l.cb_weight[3] * vc[0] + l.cb_weight[2] * vc[1]) / 2, 1e-6, "cb-ce mean over the batch");
    /* refusals */
    long neg[3] = {3, -1, 2}, zero[3] = {0, 0, 0};
    CHECK(loss_set_class_counts(&l, neg, 3) < 0 && strstr(nl_error(), "negative"), "negative count: %s", nl_error());
    CHECK(loss_set_class_counts(&l, zero, 3) < 0 && strstr(nl_error(), "Hint:"), "all zero: %s", nl_error());
    CHECK(loss_set_class_counts(&l, zero, 1) < 0, "K = 1 accepted");
    config_parse(&c, "loss=cb-focal");
    loss_from_config(&l, &c);
    float d[8] = {0};
    nl_clear_error();
    m = loss_compute(&l, z, y, 2, 4, NULL, NULL, d, 1.0f);
    CHECK(isnan(m) && strstr(nl_error(), "were not set"), "cb without counts: %g, %s", m, nl_error());
    CHECK(d[0] == 0 && d[7] == 0, "cb without counts touched dlogits");
    long three[3] = {5, 5, 5};
    loss_set_class_counts(&l, three, 3);
    m = loss_compute(&l, z, y, 2, 4, NULL, NULL, d, 1.0f);
    CHECK(isnan(m) && strstr(nl_error(), "3 classes but the logits have 4"), "cb K mismatch: %s", nl_error());
}

static void test_auto_and_refusals(void) {
    static const struct { const char *loss; double a[2], b[2], q, g; } want[] = {
        {"sce", {0.01, 0.1}, {1, 1}, 0, 0},     {"nce+mae", {1, 1}, {10, 1}, 0, 0},
        {"nce+rce", {1, 1}, {10, 1}, 0, 0},     {"nfl+mae", {1, 1}, {10, 1}, 0, 0.5},
        {"nfl+rce", {1, 1}, {10, 1}, 0, 0.5},   {"ngce+mae", {1, 1}, {10, 1}, 0.1, 0},
        {"ngce+rce", {1, 1}, {10, 1}, 0.1, 0},  {"gce", {0, 0}, {0, 0}, 0.7, 0},
        {"ngce", {0, 0}, {0, 0}, 0.1, 0},       {"fl", {0, 0}, {0, 0}, 0, 0.5},
        {"nfl", {0, 0}, {0, 0}, 0, 0.5},        {"cb-focal", {0, 0}, {0, 0}, 0, 0.5},
        {"ce", {0, 0}, {0, 0}, 0, 0},           {"nce", {0, 0}, {0, 0}, 0, 0},
    };
    static const char *datasets[] = {"mnist", "fashion-mnist", "cifar10", "synth"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        for (int d = 0; d < 4; d++) {
            char cfg[100];
            snprintf(cfg, sizeof cfg, "dataset=%s&loss=%s", datasets[d], want[i].loss);
            Config c;
            Loss l;
            CHECK(config_parse(&c, cfg) == 0 && loss_from_config(&l, &c) == 0, "%s: %s", cfg, nl_error());
            int col = d >= 2;
            CHECK(l.alpha == want[i].a[col] && l.beta == want[i].b[col] && l.q == want[i].q &&
                  l.gamma == want[i].g, "%s: alpha %g beta %g q %g gamma %g", cfg, l.alpha, l.beta, l.q, l.gamma);
        }
    /* an explicit value wins over auto */
    Config c;
    Loss l;
    config_parse(&c, "dataset=mnist&loss=nce+rce&beta=3");
    CHECK(loss_from_config(&l, &c) == 0 && l.alpha == 1 && l.beta == 3, "explicit beta: %g %g", l.alpha, l.beta);
    /* refusals, each naming the key */
    static const struct { const char *cfg, *needle; int parse_fails; } bad[] = {
        {"loss=sce&alpha=0&beta=0", "'alpha' and 'beta' are both 0", 0},
        {"loss=nce+rce&alpha=0&beta=0", "'alpha' and 'beta' are both 0", 0},
        {"loss=gce&q=0", "'q'", 1},
        {"loss=ngce&q=1.5", "'q'", 1},
        {"loss=fl&gamma=-1", "'gamma'", 1},
        {"loss=nce+mae&alpha=-2", "'alpha'", 1},
        {"loss=cb-ce&cb_beta=1", "'cb_beta'", 1},
        {"loss=huber", "'loss'", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = config_parse(&c, bad[i].cfg);
        if (rc == 0) rc = loss_from_config(&l, &c);
        CHECK(rc < 0 && strstr(nl_error(), bad[i].needle) && strstr(nl_error(), "Hint:"),
              "%s: rc %d, '%s'", bad[i].cfg, rc, nl_error());
    }
    /* a hand-built Config bypasses the parser: loss_from_config refuses too */
    struct { const char *loss; double *field; double v; const char *needle; } hand[] = {
        {"gce", &c.q, 0, "'q'"}, {"ngce+mae", &c.q, 2, "'q'"}, {"nfl", &c.gamma, -0.5, "'gamma'"},
        {"sce", &c.alpha, -1, "'alpha'"}, {"nce+rce", &c.beta, INFINITY, "'beta'"},
        {"cb-ce", &c.cb_beta, 1, "'cb_beta'"}, {"triplet", &c.pnorm, 0.5, "'pnorm'"},
        {"triplet", &c.margin, -1, "'margin'"}};
    for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) {
        config_defaults(&c);
        snprintf(c.loss, sizeof c.loss, "%s", hand[i].loss);
        *hand[i].field = hand[i].v;
        CHECK(loss_from_config(&l, &c) < 0 && strstr(nl_error(), hand[i].needle),
              "hand-built %s: %s", hand[i].loss, nl_error());
    }
    config_defaults(&c);
    snprintf(c.loss, sizeof c.loss, "huber");
    CHECK(loss_from_config(&l, &c) < 0 && strstr(nl_error(), "nce+rce") && strstr(nl_error(), "cosine-embedding"),
          "unknown loss lists the losses: %s", nl_error());
    /* a loss with one weight 0 is fine (pure active or passive) */
    config_parse(&c, "loss=nce+mae&alpha=0&beta=1");
    CHECK(loss_from_config(&l, &c) == 0, "alpha=0 beta=1 refused: %s", nl_error());
    /* bad labels and shapes: NAN with a message */
    config_parse(&c, "loss=nce");
    loss_from_config(&l, &c);
    float z[4] = {0, 1, 2, 3};
    int y[2] = {0, 2};
    CHECK(isnan(loss_compute(&l, z, y, 2, 2, NULL, NULL, NULL, 0)) && strstr(nl_error(), "label 2"),
          "bad label: %s", nl_error());
    config_parse(&c, "loss=triplet");
    loss_from_config(&l, &c);
    CHECK(isnan(loss_compute(&l, z, (int[]){0, 1}, 2, 2, NULL, NULL, NULL, 0)) && strstr(nl_error(), "rng"),
          "triplet without rng: %s", nl_error());
}

static void test_params_json(void) {
    static const struct { const char *cfg, *json; } cases[] = {
        {"dataset=mnist&loss=nce+rce", "{\"loss\":\"nce+rce\",\"alpha\":1,\"beta\":10}"},
        {"loss=sce", "{\"loss\":\"sce\",\"alpha\":0.10000000000000001,\"beta\":1}"},
        {"loss=ngce+mae&q=0.5", "{\"loss\":\"ngce+mae\",\"alpha\":1,\"beta\":1,\"q\":0.5}"},
        {"loss=ce&alpha=3", "{\"loss\":\"ce\"}"},
        {"loss=fl", "{\"loss\":\"fl\",\"gamma\":0.5}"},
        {"loss=triplet&margin=0.5", "{\"loss\":\"triplet\",\"margin\":0.5,\"pnorm\":2}"},
        {"loss=cb-ce&cb_beta=0", "{\"loss\":\"cb-ce\",\"cb_beta\":0}"},
    };
    char buf[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Config c;
        Loss l;
        config_parse(&c, cases[i].cfg);
        loss_from_config(&l, &c);
        CHECK(loss_params_json(&l, buf, sizeof buf) == 0 && !strcmp(buf, cases[i].json), "%s: %s", cases[i].cfg, buf);
    }
    Config c;
    Loss l;
    config_parse(&c, "loss=cb-ce&cb_beta=0");
    loss_from_config(&l, &c);
    long n[3] = {4, 0, 9};
    loss_set_class_counts(&l, n, 3);
    CHECK(loss_params_json(&l, buf, sizeof buf) == 0 && strstr(buf, "\"class_weights\":[1.5,0,1.5]"), "%s", buf);
    CHECK(loss_params_json(&l, buf, 10) < 0, "a small buffer is refused");
}

static void test_triplet_sampling(void) {
    enum { B = 9, D = 3 };
    int y[B] = {0, 1, 0, 2, 1, 0, 1, 3, 0}; /* classes 2 and 3: no positive */
    int pos[B], neg[B], pos2[B], neg2[B];
    Rng r;
    rng_init(&r, 5, STREAM_SHUFFLE);
    triplet_sample(&r, pos, neg, y, B);
    rng_init(&r, 5, STREAM_SHUFFLE);
    triplet_sample(&r, pos2, neg2, y, B);
    CHECK(!memcmp(pos, pos2, sizeof pos) && !memcmp(neg, neg2, sizeof neg), "same seed, other triplets");
    for (int i = 0; i < B; i++) {
        if (y[i] >= 2) {
            CHECK(pos[i] == -1 && neg[i] == -1, "anchor %d without positive not skipped", i);
            continue;
        }
        CHECK(pos[i] >= 0 && pos[i] != i && y[pos[i]] == y[i], "anchor %d: bad positive %d", i, pos[i]);
        CHECK(neg[i] >= 0 && y[neg[i]] != y[i], "anchor %d: bad negative %d", i, neg[i]);
    }
    /* every valid partner gets drawn, roughly uniformly */
    int hits[B] = {0};
    for (int t = 0; t < 3000; t++) {
        triplet_sample(&r, pos, neg, y, B);
        hits[pos[0]]++;
    }
    CHECK(hits[2] > 850 && hits[5] > 850 && hits[8] > 850 && hits[1] == 0, "positives of anchor 0: %d %d %d",
          hits[2], hits[5], hits[8]);
    /* value against a direct double computation; mean over the used anchors */
    float e[B * D];
    for (int i = 0; i < B * D; i++) e[i] = rng_normal(&rng);
    rng_init(&r, 5, STREAM_SHUFFLE);
    triplet_sample(&r, pos, neg, y, B);
    float v[B];
    float m = triplet_forward(v, e, pos, neg, B, D, 1.5f, 2.0f);
    double s = 0;
    int T = 0;
    for (int i = 0; i < B; i++) {
        if (pos[i] < 0) {
            CHECK(v[i] == 0, "skipped anchor %d has loss %g", i, v[i]);
            continue;
        }
        double dp = 0, dn = 0;
        for (int k = 0; k < D; k++) {
            double a = e[i * D + k] - e[pos[i] * D + k] + 1e-6, b = e[i * D + k] - e[neg[i] * D + k] + 1e-6;
            dp += a * a, dn += b * b;
        }
        double want = fmax(0, sqrt(dp) - sqrt(dn) + 1.5);
        CHECK_CLOSE(v[i], want, 1e-6, "triplet anchor");
        s += want, T++;
    }
    CHECK_CLOSE(m, s / T, 1e-6, "triplet mean over the used triplets");
    /* a batch of one class has no triplets: 0 and no gradient */
    int one[3] = {1, 1, 1};
    Loss l;
    Config c;
    config_parse(&c, "loss=triplet");
    loss_from_config(&l, &c);
    l.rng = &r;
    float d[9] = {0};
    CHECK(loss_compute(&l, e, one, 3, 3, NULL, NULL, d, 1.0f) == 0 && d[0] == 0 && d[8] == 0,
          "no triplets: not 0");
}

/* ------------------------------------------------------------------------ */
/* goldens: tests/golden/losses.bin (format: tests/golden/README.md)          */

typedef struct { char name[64]; long n; float *data; } GT;
static GT gt[512];
static int ngt;

static unsigned rd32(const unsigned char *p) {
    return (unsigned)p[0] | (unsigned)p[1] << 8 | (unsigned)p[2] << 16 | (unsigned)p[3] << 24;
}

static int golden_load(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    static unsigned char buf[1 << 17];
    long len = (long)fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (len < 16 || len == (long)sizeof buf || memcmp(buf, "NLGOLDEN", 8) || rd32(buf + 8) != 1) return -1;
    unsigned count = rd32(buf + 12);
    long pos = 16;
    for (unsigned i = 0; i < count; i++) {
        if (ngt == 512 || pos + 4 > len) return -1;
        GT *t = &gt[ngt];
        unsigned nl = rd32(buf + pos);
        pos += 4;
        if (nl >= sizeof t->name || pos + nl + 4 > len) return -1;
        memcpy(t->name, buf + pos, nl);
        t->name[nl] = 0;
        pos += nl;
        unsigned nd = rd32(buf + pos);
        pos += 4;
        if (nd > 4 || pos + 4 * (long)nd > len) return -1;
        t->n = 1;
        for (unsigned d = 0; d < nd; d++, pos += 4) t->n *= rd32(buf + pos);
        if (t->n > 4096 || pos + 4 * t->n > len) return -1;
        t->data = fbuf(t->n);
        memcpy(t->data, buf + pos, 4 * (size_t)t->n); /* little-endian hosts */
        pos += 4 * t->n;
        ngt++;
    }
    return 0;
}

static const GT *G(const char *c, const char *key) {
    char name[80];
    snprintf(name, sizeof name, "%s.%s", c, key);
    for (int i = 0; i < ngt; i++)
        if (!strcmp(gt[i].name, name)) return &gt[i];
    CHECK(0, "golden tensor %s missing. Hint: regenerate with make_loss_golden.py.", name);
    return NULL;
}

static void test_goldens(void) {
    if (golden_load("tests/golden/losses.bin") < 0) {
        CHECK(0, "cannot read tests/golden/losses.bin. Hint: run from the repo root; regenerate with "
                 "/usr/bin/python3 tests/golden/make_loss_golden.py.");
        return;
    }
    double worst = 0;
    for (int li = 0; li < NLOSS; li++) {
        double maxd = 0;
        for (int ci = 0; ci < 2; ci++) {
            char c[48];
            snprintf(c, sizeof c, "%s/%c", ALL[li], 'a' + ci);
            const GT *z = G(c, "logits"), *yl = G(c, "labels"), *pr = G(c, "params"), *L = G(c, "loss"),
                     *dl = G(c, "dlogits");
            if (!z || !yl || !pr || !L || !dl) continue;
            int B = (int)yl->n, K = (int)(z->n / B);
            int y[64];
            for (int b = 0; b < B; b++) y[b] = (int)yl->data[b];
            const float *P = pr->data;
            char cfg[200];
            snprintf(cfg, sizeof cfg, "loss=%s&alpha=%.9g&beta=%.9g&q=%.9g&gamma=%.9g&cb_beta=%.9g&margin=%.9g&pnorm=%.9g",
                     ALL[li], P[0], P[1], P[2], P[3], P[4], P[5], P[6]);
            Config cf;
            static Loss l;
            CHECK(config_parse(&cf, cfg) == 0 && loss_from_config(&l, &cf) == 0, "%s: %s", cfg, nl_error());
            float *d = fbuf(z->n), m;
            if (!strncmp(ALL[li], "cb-", 3)) {
                const GT *cn = G(c, "counts");
                long counts[64];
                for (int k = 0; k < K; k++) counts[k] = cn ? (long)cn->data[k] : 1;
                loss_set_class_counts(&l, counts, K);
            }
            if (l.kind == LOSS_TRIPLET) { /* replay torch's sampled partners */
                const GT *gp = G(c, "pos"), *gn = G(c, "neg");
                int pos[64], neg[64];
                for (int b = 0; b < B; b++) pos[b] = gp ? (int)gp->data[b] : -1, neg[b] = gn ? (int)gn->data[b] : -1;
                m = triplet_forward(NULL, z->data, pos, neg, B, K, (float)l.margin, (float)l.pnorm);
                triplet_backward(d, z->data, pos, neg, B, K, (float)l.margin, (float)l.pnorm, 1.0f);
            } else {
                m = loss_compute(&l, z->data, y, B, K, NULL, NULL, d, 1.0f);
            }
            double e = fabs(m - L->data[0]) / (1 + fabs(L->data[0]));
            for (long i = 0; i < z->n; i++) e = fmax(e, fabs(d[i] - dl->data[i]) / (1 + fabs(dl->data[i])));
            if (!(e == e)) e = INFINITY;
            maxd = fmax(maxd, e);
            free(d);
        }
        printf("golden %-17s max |ours - torch| / (1 + |torch|) %.2e%s\n", ALL[li], maxd, maxd > 1e-5 ? "  <-- FAIL" : "");
        CHECK(maxd <= 1e-5, "%s: differs from torch by %.3g", ALL[li], maxd);
        worst = fmax(worst, maxd);
    }
    printf("golden: worst %.2e over %d losses\n", worst, NLOSS);
    for (int i = 0; i < ngt; i++) free(gt[i].data);
}

int main(void) {
    rng_init(&rng, 2024, STREAM_INIT);
    test_gradients();
    test_harness_fails();
    test_identities();
    test_extreme();
    test_class_balanced();
    test_auto_and_refusals();
    test_params_json();
    test_triplet_sampling();
    test_goldens();
    return check_summary("test_losses");
}
