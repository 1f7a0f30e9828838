/* test_layers.c: every layer of core/layers.c against finite differences.

   The loss is a random projection of the layer output, L = sum(out * r), so
   dL/dout = r and the backward pass under test receives dout = r. For every
   differentiable tensor (input, weight, bias, gamma, ...) the analytic gradient
   is compared with the central difference (L(x+e) - L(x-e)) / (x+e - x-e)
   computed in double from float32 forwards (the actual float step is used as
   the denominator, not 2e), at steps e and e/2 combined by Richardson
   extrapolation, which cancels the O(e^2) truncation error of smooth layers.
   Piecewise-linear layers (relu, maxpool) get inputs that stay a margin away
   from their kinks, larger than the step. Linear layers use a large step:
   their truncation error is zero, so a larger step only divides the float32
   noise of the forward by more.

   Error measure, per element: |ana - num| / max(|ana|, |num|, 1% of the
   largest |num| of the tensor). The floor keeps float32 noise on near-zero
   entries from dominating; a wrong sign, a missing term or a wrong index gives
   errors of order 1 on the large entries and is caught.

   Accumulation is checked on every call: gradient buffers are pre-filled with
   random junk before backward, the junk is subtracted afterwards, and a second
   backward must add the same amount again (an "=" instead of "+=" fails).

   Besides gradients: forwards against naive double-precision references
   (dense, conv2d, pooling), batch-norm running statistics and eval mode,
   maxpool padding, dropout masks and statistics, softmax stability. A harness
   self-test feeds deliberately wrong backwards and requires them to fail. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "layers.h"
#include "rng.h"

/* ---- allocation: everything is freed at exit (LeakSanitizer is on) */
static void *pool[4096];
static int npool;

static void *alloc(size_t bytes) {
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p || npool == (int)(sizeof pool / sizeof pool[0])) {
        fprintf(stderr, "test_layers: out of memory or pool\n");
        exit(2);
    }
    pool[npool++] = p;
    return p;
}
static void free_all(void) {
    while (npool) free(pool[--npool]);
}

static Rng rng;

static float *fbuf(long n) { return alloc(sizeof(float) * (size_t)n); }
static float *randn(long n, float scale) {
    float *p = fbuf(n);
    for (long i = 0; i < n; i++) p[i] = scale * rng_normal(&rng);
    return p;
}
static float *copyf(const float *x, long n) {
    float *p = fbuf(n);
    memcpy(p, x, sizeof(float) * (size_t)n);
    return p;
}
/* values at least `gap` apart (a shuffled ramp): max-pool windows never tie
   and a finite-difference step smaller than gap/2 never changes a winner */
static float *distinct(long n, float gap, float offset) {
    int *idx = alloc(sizeof(int) * (size_t)n);
    for (long i = 0; i < n; i++) idx[i] = (int)i;
    rng_shuffle(&rng, idx, (int)n);
    float *p = fbuf(n);
    for (long i = 0; i < n; i++) p[i] = offset + gap * ((float)idx[i] - 0.5f * (float)n);
    return p;
}
/* normal values kept away from the kink at 0 of relu-like functions */
static float *away_from_zero(long n, float margin) {
    float *p = randn(n, 1.0f);
    for (long i = 0; i < n; i++)
        if (fabsf(p[i]) < margin) p[i] += p[i] < 0 ? -2 * margin : 2 * margin;
    return p;
}

/* ------------------------------------------------------------------------ */
/* the gradient-check harness                                                 */

#define MAXT 4
typedef struct Case Case;
struct Case {
    const char *name;
    int nt; /* differentiable tensors */
    const char *tname[MAXT];
    float *x[MAXT];
    long n[MAXT];
    float *out;
    long nout;
    void (*fwd)(Case *);
    void (*bwd)(Case *, const float *dout, float *const *g); /* g[i] matches x[i] */
    /* layer configuration for the callbacks */
    int B, C, H, W, IN, OUT, k, stride, pad, HW, K;
    float slope, p;
    ConvShape cs;
    float *col, *mean, *rstd, *rmean, *rvar, *mask;
    int *iaux, *labels;
    uint64_t seed;
};

static double loss_of(const Case *c, const float *r) {
    double L = 0.0;
    for (long i = 0; i < c->nout; i++) L += (double)c->out[i] * r[i];
    return L;
}

/* returns the worst relative error over all tensors (or 1e9 if accumulation
   is broken); prints one line unless quiet */
static double gradcheck(Case *c, double eps, int quiet) {
    c->fwd(c);
    float *r = randn(c->nout, 1.0f);
    float *g0[MAXT], *g1[MAXT], *g2[MAXT];
    for (int t = 0; t < c->nt; t++) {
        g0[t] = randn(c->n[t], 1.0f); /* junk that backward must add to */
        g1[t] = copyf(g0[t], c->n[t]);
    }
    c->bwd(c, r, g1);
    for (int t = 0; t < c->nt; t++) g2[t] = copyf(g1[t], c->n[t]);
    c->bwd(c, r, g2);

    double worst = 0.0;
    int accum_ok = 1;
    char line[512];
    int len = snprintf(line, sizeof line, "gradcheck %-34s", c->name);
    for (int t = 0; t < c->nt; t++) {
        float *x = c->x[t];
        long n = c->n[t];
        double *num = alloc(sizeof(double) * (size_t)n);
        double gmax = 0.0;
        for (long i = 0; i < n; i++) {
            double d[2];
            for (int h = 0; h < 2; h++) {
                float orig = x[i];
                double step = h ? 0.5 * eps : eps;
                float xp = (float)(orig + step), xm = (float)(orig - step);
                x[i] = xp;
                c->fwd(c);
                double Lp = loss_of(c, r);
                x[i] = xm;
                c->fwd(c);
                double Lm = loss_of(c, r);
                x[i] = orig;
                d[h] = (Lp - Lm) / ((double)xp - (double)xm);
            }
            /* Richardson: the O(e^2) errors of steps e and e/2 cancel */
            num[i] = (4.0 * d[1] - d[0]) / 3.0;
            if (fabs(num[i]) > gmax) gmax = fabs(num[i]);
        }
        double terr = 0.0;
        for (long i = 0; i < n; i++) {
            double ana = (double)g1[t][i] - g0[t][i];
            double again = (double)g2[t][i] - g1[t][i];
            if (fabs(again - ana) > 1e-5 * (1.0 + fabs(g1[t][i]))) accum_ok = 0;
            double den = fmax(fmax(fabs(ana), fabs(num[i])), fmax(1e-2 * gmax, 1e-7));
            double e = fabs(ana - num[i]) / den;
            if (e > terr) terr = e;
        }
        if (terr > worst) worst = terr;
        len += snprintf(line + len, sizeof line - (size_t)len, " %s %.1e", c->tname[t], terr);
        if (len >= (int)sizeof line) len = (int)sizeof line - 1;
    }
    if (!quiet) printf("%s%s\n", line, accum_ok ? "" : "  ACCUMULATION BROKEN");
    c->fwd(c); /* leave the case in its unperturbed state */
    return accum_ok ? worst : 1e9;
}

/* Observed errors are 1e-7 .. 1e-3 (the largest: batch norm, whose output
   couples a whole channel). A wrong sign scores 2, a missing term or index
   error 1e-2 .. 1, an overwrite instead of an accumulate 1e9; see
   test_harness_fails. */
#define GRAD_TOL 5e-3
static double worst_overall;
static void expect_grad(Case *c, double eps) {
    double e = gradcheck(c, eps, 0);
    if (e > worst_overall) worst_overall = e;
    CHECK(e <= GRAD_TOL, "%s: max rel err %.3g > %g", c->name, e, GRAD_TOL);
}

/* ------------------------------------------------------------------------ */
/* dense                                                                      */

static void dense_f(Case *c) { dense_forward(c->out, c->x[0], c->x[1], c->nt > 2 ? c->x[2] : NULL, c->B, c->IN, c->OUT); }
static void dense_b(Case *c, const float *d, float *const *g) {
    dense_backward(g[0], g[1], c->nt > 2 ? g[2] : NULL, d, c->x[0], c->x[1], c->B, c->IN, c->OUT);
}

static void test_dense(int with_bias) {
    Case c = {0};
    c.name = with_bias ? "dense B3 5->4" : "dense B3 5->4 no bias";
    c.B = 3, c.IN = 5, c.OUT = 4;
    c.nt = with_bias ? 3 : 2;
    c.tname[0] = "dinp", c.x[0] = randn(c.n[0] = c.B * c.IN, 1.0f);
    c.tname[1] = "dW", c.x[1] = randn(c.n[1] = c.OUT * c.IN, 0.5f);
    if (with_bias) c.tname[2] = "db", c.x[2] = randn(c.n[2] = c.OUT, 0.5f);
    c.out = fbuf(c.nout = c.B * c.OUT);
    c.fwd = dense_f, c.bwd = dense_b;
    /* forward against the definition */
    dense_f(&c);
    double err = 0.0;
    for (int b = 0; b < c.B; b++)
        for (int o = 0; o < c.OUT; o++) {
            double s = with_bias ? c.x[2][o] : 0.0;
            for (int i = 0; i < c.IN; i++) s += (double)c.x[0][b * c.IN + i] * c.x[1][o * c.IN + i];
            err = fmax(err, fabs(s - c.out[b * c.OUT + o]));
        }
    CHECK(err < 1e-5, "dense forward vs reference: %g", err);
    expect_grad(&c, 0.25);
}

/* ------------------------------------------------------------------------ */
/* conv2d                                                                     */

static void conv_f(Case *c) {
    conv2d_forward(c->out, c->col, c->x[0], c->x[1], c->nt > 2 ? c->x[2] : NULL, c->B, &c->cs);
}
static void conv_b(Case *c, const float *d, float *const *g) {
    /* poison the scratch: backward must not rely on what forward left in col */
    for (long i = 0; i < conv2d_col_size(&c->cs); i++) c->col[i] = NAN;
    conv2d_backward(g[0], g[1], c->nt > 2 ? g[2] : NULL, c->col, d, c->x[0], c->x[1], c->B, &c->cs);
}

static void test_conv(int B, int C, int H, int W, int OC, int KH, int KW, int stride, int pad,
                      int with_bias) {
    static char names[32][96];
    static int nnames;
    Case c = {0};
    char *name = names[nnames++ % 32];
    snprintf(name, 96, "conv2d %dx%d s%d p%d %dx%dx%d->%d%s", KH, KW, stride, pad, C, H, W, OC,
             with_bias ? "" : " nobias");
    c.name = name;
    c.B = B;
    c.cs = conv2d_shape(C, H, W, OC, KH, KW, stride, pad);
    const ConvShape *s = &c.cs;
    CHECK(s->OH == (H + 2 * pad - KH) / stride + 1 && s->OW == (W + 2 * pad - KW) / stride + 1,
          "%s: shape", name);
    c.col = fbuf(conv2d_col_size(s));
    c.nt = with_bias ? 3 : 2;
    c.tname[0] = "dinp", c.x[0] = randn(c.n[0] = (long)B * C * H * W, 1.0f);
    c.tname[1] = "dW", c.x[1] = randn(c.n[1] = (long)OC * C * KH * KW, 0.5f);
    if (with_bias) c.tname[2] = "db", c.x[2] = randn(c.n[2] = OC, 0.5f);
    c.out = fbuf(c.nout = (long)B * OC * s->OH * s->OW);
    c.fwd = conv_f, c.bwd = conv_b;

    /* forward against a direct 7-loop convolution in double */
    conv_f(&c);
    double err = 0.0;
    for (int b = 0; b < B; b++)
        for (int oc = 0; oc < OC; oc++)
            for (int oh = 0; oh < s->OH; oh++)
                for (int ow = 0; ow < s->OW; ow++) {
                    double acc = with_bias ? c.x[2][oc] : 0.0;
                    for (int ci = 0; ci < C; ci++)
                        for (int kh = 0; kh < KH; kh++)
                            for (int kw = 0; kw < KW; kw++) {
                                int ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                acc += (double)c.x[0][((b * C + ci) * H + ih) * W + iw] *
                                       c.x[1][((oc * C + ci) * KH + kh) * KW + kw];
                            }
                    long o = ((long)(b * OC + oc) * s->OH + oh) * s->OW + ow;
                    err = fmax(err, fabs(acc - c.out[o]));
                }
    CHECK(err < 1e-4, "%s: forward vs direct convolution: %g", name, err);
    expect_grad(&c, 0.25);
}

/* ------------------------------------------------------------------------ */
/* pooling                                                                    */

static void maxpool_f(Case *c) {
    maxpool2d_forward(c->out, c->iaux, c->x[0], c->B, c->C, c->H, c->W, c->k, c->stride, c->pad);
}
static void maxpool_b(Case *c, const float *d, float *const *g) {
    int OH = (c->H + 2 * c->pad - c->k) / c->stride + 1, OW = (c->W + 2 * c->pad - c->k) / c->stride + 1;
    maxpool2d_backward(g[0], d, c->iaux, c->B, c->C, OH, OW);
}
static void avgpool_f(Case *c) {
    avgpool2d_forward(c->out, c->x[0], c->B, c->C, c->H, c->W, c->k, c->stride, c->pad);
}
static void avgpool_b(Case *c, const float *d, float *const *g) {
    avgpool2d_backward(g[0], d, c->B, c->C, c->H, c->W, c->k, c->stride, c->pad);
}

/* direct pooling reference: max over real pixels, or sum / (k*k) */
static double pool_ref(const float *inp, int H, int W, int k, int stride, int pad, int oh, int ow,
                       int is_max) {
    double acc = is_max ? -INFINITY : 0.0;
    for (int kh = 0; kh < k; kh++)
        for (int kw = 0; kw < k; kw++) {
            int ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            double v = inp[ih * W + iw];
            acc = is_max ? fmax(acc, v) : acc + v;
        }
    return is_max ? acc : acc / (k * k);
}

static void test_pool(int is_max, int B, int C, int H, int W, int k, int stride, int pad,
                      float offset) {
    static char names[16][96];
    static int nnames;
    char *name = names[nnames++ % 16];
    snprintf(name, 96, "%s k%d s%d p%d %dx%d%s", is_max ? "maxpool" : "avgpool", k, stride, pad,
             H, W, offset < -1 ? " all<0" : "");
    Case c = {0};
    c.name = name;
    c.B = B, c.C = C, c.H = H, c.W = W, c.k = k, c.stride = stride, c.pad = pad;
    int OH = (H + 2 * pad - k) / stride + 1, OW = (W + 2 * pad - k) / stride + 1;
    c.nt = 1;
    c.tname[0] = "dinp";
    c.n[0] = (long)B * C * H * W;
    c.x[0] = is_max ? distinct(c.n[0], 0.25f, offset) : randn(c.n[0], 1.0f);
    c.out = fbuf(c.nout = (long)B * C * OH * OW);
    c.iaux = alloc(sizeof(int) * (size_t)c.nout);
    c.fwd = is_max ? maxpool_f : avgpool_f;
    c.bwd = is_max ? maxpool_b : avgpool_b;
    c.fwd(&c);
    double err = 0.0;
    int argmax_ok = 1;
    for (int bc = 0; bc < B * C; bc++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                long o = ((long)bc * OH + oh) * OW + ow;
                double ref = pool_ref(c.x[0] + (long)bc * H * W, H, W, k, stride, pad, oh, ow, is_max);
                err = fmax(err, fabs(ref - c.out[o]));
                if (is_max) {
                    int a = c.iaux[o];
                    if (a < bc * H * W || a >= (bc + 1) * H * W || c.x[0][a] != c.out[o]) argmax_ok = 0;
                }
            }
    CHECK(err < 1e-6, "%s: forward vs reference: %g", name, err);
    CHECK(argmax_ok, "%s: argmax does not point at the maximum in its own plane", name);
    expect_grad(&c, is_max ? 0.1 : 0.25);
}

/* ties: the first maximum in scan order wins (PyTorch), so the gradient of a
   flat window goes to its top-left pixel */
static void test_maxpool_ties(void) {
    float x[16], y[4];
    int am[4];
    for (int i = 0; i < 16; i++) x[i] = 1.0f;
    maxpool2d_forward(y, am, x, 1, 1, 4, 4, 2, 2, 0);
    CHECK(am[0] == 0 && am[1] == 2 && am[2] == 8 && am[3] == 10,
          "maxpool ties: argmax %d %d %d %d, expected 0 2 8 10", am[0], am[1], am[2], am[3]);
    /* the general path (k3 s1 p1): window (1,1) covers rows/cols 0..2 */
    float z[16];
    int az[16];
    maxpool2d_forward(z, az, x, 1, 1, 4, 4, 3, 1, 1);
    CHECK(az[0] == 0 && az[5] == 0 && az[15] == 10, "maxpool ties (general path): %d %d %d",
          az[0], az[5], az[15]);
}

static void gap_f(Case *c) { global_avgpool_forward(c->out, c->x[0], c->B, c->C, c->HW); }
static void gap_b(Case *c, const float *d, float *const *g) {
    global_avgpool_backward(g[0], d, c->B, c->C, c->HW);
}

static void test_global_avgpool(void) {
    Case c = {0};
    c.name = "global avgpool 3x4x(5x3)";
    c.B = 3, c.C = 4, c.HW = 15;
    c.nt = 1;
    c.tname[0] = "dinp", c.x[0] = randn(c.n[0] = (long)c.B * c.C * c.HW, 1.0f);
    c.out = fbuf(c.nout = c.B * c.C);
    c.fwd = gap_f, c.bwd = gap_b;
    gap_f(&c);
    double err = 0.0;
    for (int bc = 0; bc < c.B * c.C; bc++) {
        double s = 0.0;
        for (int i = 0; i < c.HW; i++) s += c.x[0][bc * c.HW + i];
        err = fmax(err, fabs(s / c.HW - c.out[bc]));
    }
    CHECK(err < 1e-6, "global avgpool forward: %g", err);
    expect_grad(&c, 0.25);
}

/* ------------------------------------------------------------------------ */
/* batch norm                                                                 */

#define BN_EPS 1e-5f
#define BN_MOM 0.1f
static void bn_f(Case *c) {
    batchnorm_forward(c->out, c->mean, c->rstd, c->x[0], c->x[1], c->x[2], c->rmean, c->rvar,
                      c->B, c->C, c->HW, 1, BN_MOM, BN_EPS);
}
static void bn_b(Case *c, const float *d, float *const *g) {
    batchnorm_backward(g[0], g[1], g[2], d, c->x[0], c->x[1], c->mean, c->rstd, c->B, c->C, c->HW);
}

static void test_batchnorm(int B, int C, int HW) {
    static char names[8][64];
    static int nnames;
    char *name = names[nnames++ % 8];
    snprintf(name, 64, "batchnorm train B%d C%d HW%d", B, C, HW);
    Case c = {0};
    c.name = name;
    c.B = B, c.C = C, c.HW = HW;
    long n = (long)B * C * HW;
    c.nt = 3;
    c.tname[0] = "dinp", c.x[0] = randn(c.n[0] = n, 1.0f);
    for (long i = 0; i < n; i++) c.x[0][i] += 0.5f; /* a non-zero mean */
    c.tname[1] = "dgamma", c.x[1] = randn(c.n[1] = C, 0.5f);
    for (int i = 0; i < C; i++) c.x[1][i] += 1.0f;
    c.tname[2] = "dbeta", c.x[2] = randn(c.n[2] = C, 0.5f);
    c.out = fbuf(c.nout = n);
    c.mean = fbuf(C), c.rstd = fbuf(C), c.rmean = fbuf(C), c.rvar = fbuf(C);
    c.fwd = bn_f, c.bwd = bn_b;

    /* statistics and running-statistics update against double references */
    float *rm0 = randn(C, 0.3f), *rv0 = fbuf(C);
    for (int i = 0; i < C; i++) rv0[i] = 0.5f + (float)i;
    memcpy(c.rmean, rm0, sizeof(float) * (size_t)C);
    memcpy(c.rvar, rv0, sizeof(float) * (size_t)C);
    bn_f(&c);
    double err_stat = 0.0, err_run = 0.0, err_out = 0.0;
    long N = (long)B * HW;
    for (int ch = 0; ch < C; ch++) {
        double s = 0.0, ss = 0.0;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++) s += c.x[0][((long)b * C + ch) * HW + i];
        double m = s / N;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++) {
                double v = c.x[0][((long)b * C + ch) * HW + i] - m;
                ss += v * v;
            }
        double var = ss / N, rs = 1.0 / sqrt(var + BN_EPS);
        err_stat = fmax(err_stat, fabs(m - c.mean[ch]));
        err_stat = fmax(err_stat, fabs(rs - c.rstd[ch]) / rs);
        double rm = 0.9 * rm0[ch] + 0.1 * m, rv = 0.9 * rv0[ch] + 0.1 * ss / (N - 1);
        err_run = fmax(err_run, fabs(rm - c.rmean[ch]));
        err_run = fmax(err_run, fabs(rv - c.rvar[ch]) / rv);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++) {
                long j = ((long)b * C + ch) * HW + i;
                double y = c.x[1][ch] * (c.x[0][j] - m) * rs + c.x[2][ch];
                err_out = fmax(err_out, fabs(y - c.out[j]));
            }
    }
    CHECK(err_stat < 1e-5, "%s: batch mean/rstd vs reference: %g", name, err_stat);
    CHECK(err_run < 1e-5, "%s: running stats (unbiased var) vs reference: %g", name, err_run);
    CHECK(err_out < 1e-5, "%s: train output vs reference: %g", name, err_out);

    /* eval mode uses the running statistics and leaves them alone */
    float *rm1 = copyf(c.rmean, C), *rv1 = copyf(c.rvar, C);
    float *ev = fbuf(n);
    batchnorm_forward(ev, NULL, NULL, c.x[0], c.x[1], c.x[2], c.rmean, c.rvar, B, C, HW, 0,
                      BN_MOM, BN_EPS);
    double err_eval = 0.0;
    int untouched = memcmp(rm1, c.rmean, sizeof(float) * (size_t)C) == 0 &&
                    memcmp(rv1, c.rvar, sizeof(float) * (size_t)C) == 0;
    for (int b = 0; b < B; b++)
        for (int ch = 0; ch < C; ch++)
            for (int i = 0; i < HW; i++) {
                long j = ((long)b * C + ch) * HW + i;
                double y = c.x[1][ch] * (c.x[0][j] - rm1[ch]) / sqrt(rv1[ch] + (double)BN_EPS) +
                           c.x[2][ch];
                err_eval = fmax(err_eval, fabs(y - ev[j]));
            }
    CHECK(err_eval < 1e-5, "%s: eval output vs running-stat reference: %g", name, err_eval);
    CHECK(untouched, "%s: eval mode changed the running statistics", name);

    expect_grad(&c, 3e-2);
}

/* one-pass statistics must survive a large common offset */
static void test_batchnorm_offset(void) {
    int B = 8, C = 2, HW = 16;
    long n = (long)B * C * HW;
    float *x = randn(n, 1.0f), *y = fbuf(n), *m = fbuf(C), *rs = fbuf(C);
    for (long i = 0; i < n; i++) x[i] += 1000.0f;
    batchnorm_forward(y, m, rs, x, NULL, NULL, NULL, NULL, B, C, HW, 1, BN_MOM, BN_EPS);
    double worst = 0.0, worst_y = 0.0;
    for (int ch = 0; ch < C; ch++) {
        double s = 0.0, ss = 0.0;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++) s += x[((long)b * C + ch) * HW + i];
        double mu = s / (B * HW);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++) {
                double v = x[((long)b * C + ch) * HW + i] - mu;
                ss += v * v;
            }
        double r = 1.0 / sqrt(ss / (B * HW) + BN_EPS);
        worst = fmax(worst, fabs(r - rs[ch]) / r);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++) {
                long j = ((long)b * C + ch) * HW + i;
                worst_y = fmax(worst_y, fabs((x[j] - mu) * r - y[j]));
            }
    }
    CHECK(worst < 1e-5, "batchnorm with mean 1000: rstd rel err %g", worst);
    CHECK(worst_y < 1e-4, "batchnorm with mean 1000: output err %g", worst_y);
    printf("batchnorm mean-1000 input: rstd rel err %.1e, output abs err %.1e\n", worst, worst_y);
}

/* ------------------------------------------------------------------------ */
/* elementwise activations                                                    */

enum { ACT_RELU, ACT_LEAKY, ACT_SIGMOID, ACT_TANH, ACT_GELU };
static void act_f(Case *c) {
    long n = c->n[0];
    switch (c->k) {
    case ACT_RELU: relu_forward(c->out, c->x[0], n); break;
    case ACT_LEAKY: leaky_relu_forward(c->out, c->x[0], n, c->slope); break;
    case ACT_SIGMOID: sigmoid_forward(c->out, c->x[0], n); break;
    case ACT_TANH: tanh_forward(c->out, c->x[0], n); break;
    default: gelu_forward(c->out, c->x[0], n); break;
    }
}
static void act_b(Case *c, const float *d, float *const *g) {
    long n = c->n[0];
    switch (c->k) {
    case ACT_RELU: relu_backward(g[0], d, c->x[0], n); break;
    case ACT_LEAKY: leaky_relu_backward(g[0], d, c->x[0], n, c->slope); break;
    case ACT_SIGMOID: sigmoid_backward(g[0], d, c->out, n); break;
    case ACT_TANH: tanh_backward(g[0], d, c->out, n); break;
    default: gelu_backward(g[0], d, c->x[0], n); break;
    }
}

static void test_activation(int kind, const char *name) {
    Case c = {0};
    c.name = name;
    c.k = kind, c.slope = 0.1f;
    c.nt = 1;
    c.tname[0] = "dinp", c.n[0] = 61;
    c.x[0] = away_from_zero(c.n[0], 0.05f);
    for (int i = 0; i < 5; i++) c.x[0][i] *= 3.0f; /* some larger values too */
    c.out = fbuf(c.nout = c.n[0]);
    c.fwd = act_f, c.bwd = act_b;
    act_f(&c);
    double err = 0.0;
    for (long i = 0; i < c.n[0]; i++) {
        double x = c.x[0][i], y;
        switch (kind) {
        case ACT_RELU: y = x > 0 ? x : 0; break;
        case ACT_LEAKY: y = x > 0 ? x : 0.1 * x; break;
        case ACT_SIGMOID: y = 1.0 / (1.0 + exp(-x)); break;
        case ACT_TANH: y = tanh(x); break;
        default: y = 0.5 * x * (1.0 + erf(x / sqrt(2.0))); break;
        }
        err = fmax(err, fabs(y - c.out[i]));
    }
    CHECK(err < 1e-6, "%s forward vs reference: %g", name, err);
    expect_grad(&c, 3e-2);
}

static void test_activation_extremes(void) {
    float x[4] = {-100.0f, 100.0f, -1e30f, 1e30f}, y[4];
    sigmoid_forward(y, x, 4);
    CHECK(y[0] >= 0.0f && y[0] < 1e-30f && y[1] == 1.0f && y[2] == 0.0f && y[3] == 1.0f,
          "sigmoid saturates cleanly: %g %g %g %g", y[0], y[1], y[2], y[3]);
    gelu_forward(y, x, 2);
    CHECK(y[0] == 0.0f && y[1] == 100.0f, "gelu(-100)=%g gelu(100)=%g", y[0], y[1]);
    float d[2] = {0, 0}, one[2] = {1, 1};
    gelu_backward(d, one, x, 2);
    CHECK(d[0] == 0.0f && d[1] == 1.0f, "gelu'(-100)=%g gelu'(100)=%g", d[0], d[1]);
}

/* ------------------------------------------------------------------------ */
/* dropout                                                                    */

static void dropout_f(Case *c) {
    Rng r;
    rng_init(&r, c->seed, STREAM_DROPOUT); /* the same mask on every call */
    dropout_forward(c->out, c->mask, c->x[0], c->n[0], c->p, 1, &r);
}
static void dropout_b(Case *c, const float *d, float *const *g) {
    dropout_backward(g[0], d, c->mask, c->n[0]);
}

static void test_dropout(void) {
    Case c = {0};
    c.name = "dropout p0.3 fixed mask";
    c.p = 0.3f, c.seed = 42;
    c.nt = 1;
    c.tname[0] = "dinp", c.x[0] = randn(c.n[0] = 200, 1.0f);
    c.out = fbuf(c.nout = c.n[0]);
    c.mask = fbuf(c.n[0]);
    c.fwd = dropout_f, c.bwd = dropout_b;
    expect_grad(&c, 0.25);

    /* backward is exactly dout * mask, accumulated */
    long n = c.n[0];
    const float keep = 1.0f / (1.0f - c.p);
    float *dout = randn(n, 1.0f), *g = randn(n, 1.0f), *g0 = copyf(g, n);
    dropout_b(&c, dout, &g);
    int exact = 1, mask_ok = 1, out_ok = 1;
    for (long i = 0; i < n; i++) {
        if (g[i] != g0[i] + dout[i] * c.mask[i]) exact = 0;
        if (c.mask[i] != 0.0f && c.mask[i] != keep) mask_ok = 0;
        if (c.out[i] != c.x[0][i] * c.mask[i]) out_ok = 0;
    }
    CHECK(exact, "dropout backward is not dinp += dout * mask");
    CHECK(mask_ok, "dropout mask values are not in {0, 1/(1-p)}");
    CHECK(out_ok, "dropout output is not inp * mask");

    /* statistics over many values: drop rate p, mean preserved */
    long big = 20000;
    float *ones = fbuf(big), *o = fbuf(big), *m = fbuf(big);
    for (long i = 0; i < big; i++) ones[i] = 1.0f;
    Rng r;
    rng_init(&r, 7, STREAM_DROPOUT);
    dropout_forward(o, m, ones, big, 0.3f, 1, &r);
    long dropped = 0;
    double sum = 0.0;
    for (long i = 0; i < big; i++) {
        dropped += m[i] == 0.0f;
        sum += o[i];
    }
    double rate = (double)dropped / big;
    /* binomial sd of the rate is sqrt(0.21/20000) = 0.0032; allow 5 sd */
    CHECK(fabs(rate - 0.3) < 0.016, "dropout rate %g, expected 0.3", rate);
    CHECK(fabs(sum / big - 1.0) < 0.025, "dropout changes the mean: %g", sum / big);
    /* a different stream position gives a different mask */
    float *m2 = fbuf(big);
    dropout_forward(o, m2, ones, big, 0.3f, 1, &r);
    CHECK(memcmp(m, m2, sizeof(float) * (size_t)big) != 0, "dropout repeats its mask");

    /* eval and p = 0 copy and set the mask to 1; p = 1 drops everything */
    int copy_ok = 1;
    for (int mode = 0; mode < 2; mode++) {
        dropout_forward(o, m, c.x[0], n, mode ? 0.0f : 0.5f, mode, &r);
        for (long i = 0; i < n; i++)
            if (o[i] != c.x[0][i] || m[i] != 1.0f) copy_ok = 0;
    }
    CHECK(copy_ok, "dropout eval / p=0 is not a copy with mask 1");
    dropout_forward(o, m, c.x[0], n, 1.0f, 1, &r);
    int all_zero = 1;
    for (long i = 0; i < n; i++)
        if (o[i] != 0.0f || m[i] != 0.0f || isnan(o[i])) all_zero = 0;
    CHECK(all_zero, "dropout p=1 must zero everything without NaN");
}

/* ------------------------------------------------------------------------ */
/* residual, flatten                                                          */

static void residual_f(Case *c) { residual_forward(c->out, c->x[0], c->x[1], c->n[0]); }
static void residual_b(Case *c, const float *d, float *const *g) {
    residual_backward(g[0], g[1], d, c->n[0]);
}
static void flatten_f(Case *c) { flatten_forward(c->out, c->x[0], c->n[0]); }
static void flatten_b(Case *c, const float *d, float *const *g) { flatten_backward(g[0], d, c->n[0]); }

static void test_residual_flatten(void) {
    Case c = {0};
    c.name = "residual add";
    c.nt = 2;
    c.tname[0] = "da", c.x[0] = randn(c.n[0] = 40, 1.0f);
    c.tname[1] = "db", c.x[1] = randn(c.n[1] = 40, 1.0f);
    c.out = fbuf(c.nout = 40);
    c.fwd = residual_f, c.bwd = residual_b;
    expect_grad(&c, 0.25);

    Case f = {0};
    f.name = "flatten";
    f.nt = 1;
    f.tname[0] = "dinp", f.x[0] = randn(f.n[0] = 2 * 3 * 4 * 5, 1.0f);
    f.out = fbuf(f.nout = f.n[0]);
    f.fwd = flatten_f, f.bwd = flatten_b;
    expect_grad(&f, 0.25);
    CHECK(memcmp(f.out, f.x[0], sizeof(float) * (size_t)f.n[0]) == 0, "flatten is not a copy");
}

/* ------------------------------------------------------------------------ */
/* softmax + cross-entropy                                                    */

static void ce_f(Case *c) {
    c->out[0] = softmax_ce_forward(c->mean, c->rstd, c->x[0], c->labels, c->B, c->K);
}
static void ce_b(Case *c, const float *d, float *const *g) {
    softmax_ce_backward(g[0], c->mean, c->labels, c->B, c->K, d[0]);
}

static void test_softmax_ce(void) {
    Case c = {0};
    c.name = "softmax+CE B5 K7";
    c.B = 5, c.K = 7;
    c.nt = 1;
    c.tname[0] = "dlogits", c.x[0] = randn(c.n[0] = c.B * c.K, 1.0f);
    c.labels = alloc(sizeof(int) * (size_t)c.B);
    for (int b = 0; b < c.B; b++) c.labels[b] = (int)rng_below(&rng, (uint32_t)c.K);
    c.mean = fbuf(c.B * c.K); /* probs */
    c.rstd = fbuf(c.B);       /* per-sample losses */
    c.out = fbuf(c.nout = 1);
    c.fwd = ce_f, c.bwd = ce_b;
    ce_f(&c);
    double err = 0.0, total = 0.0;
    for (int b = 0; b < c.B; b++) {
        const float *z = c.x[0] + b * c.K;
        double s = 0.0, psum = 0.0;
        for (int k = 0; k < c.K; k++) s += exp(z[k]);
        for (int k = 0; k < c.K; k++) {
            err = fmax(err, fabs(exp(z[k]) / s - c.mean[b * c.K + k]));
            psum += c.mean[b * c.K + k];
        }
        double l = log(s) - z[c.labels[b]];
        err = fmax(err, fabs(l - c.rstd[b]));
        err = fmax(err, fabs(psum - 1.0));
        total += l;
    }
    err = fmax(err, fabs(total / c.B - c.out[0]));
    CHECK(err < 1e-5, "softmax+CE forward vs reference: %g", err);
    expect_grad(&c, 0.1);

    /* huge logits: stable, exact answers */
    float z[6] = {1000.0f, -1000.0f, 0.0f, 500.0f, 500.0f, -3e38f}, p[6], l[2];
    int y[2] = {1, 0};
    float mean = softmax_ce_forward(p, l, z, y, 2, 3);
    CHECK(isfinite(mean) && fabs(l[0] - 2000.0f) < 1e-2f && fabs(l[1] - logf(2.0f)) < 1e-5f,
          "softmax+CE with huge logits: losses %g %g", l[0], l[1]);
    CHECK(p[0] == 1.0f && p[1] == 0.0f && fabs(p[3] - 0.5f) < 1e-7f, "softmax with huge logits");
    /* a label outside [0, K) is reported, not read out of bounds */
    nl_clear_error();
    int bad[2] = {0, 3};
    float r = softmax_ce_forward(p, l, z, bad, 2, 3);
    CHECK(isnan(r) && strstr(nl_error(), "Hint:") != NULL, "bad label: %g '%s'", r, nl_error());
}

/* ------------------------------------------------------------------------ */
/* the harness must be able to fail                                           */

static void relu_wrong_sign(Case *c, const float *d, float *const *g) {
    for (long i = 0; i < c->n[0]; i++) g[0][i] -= c->x[0][i] > 0 ? d[i] : 0.0f;
}
static void relu_overwrites(Case *c, const float *d, float *const *g) {
    for (long i = 0; i < c->n[0]; i++) g[0][i] = c->x[0][i] > 0 ? d[i] : 0.0f;
}
static void conv_wrong_bias(Case *c, const float *d, float *const *g) {
    conv_b(c, d, g);
    g[2][0] += 0.05f; /* a small error in one element */
}

static void test_harness_fails(void) {
    Case c = {0};
    c.name = "relu (deliberately broken)";
    c.k = ACT_RELU;
    c.nt = 1;
    c.tname[0] = "dinp", c.x[0] = away_from_zero(c.n[0] = 30, 0.05f);
    c.out = fbuf(c.nout = 30);
    c.fwd = act_f;
    c.bwd = relu_wrong_sign;
    double e1 = gradcheck(&c, 1e-2, 1);
    c.bwd = relu_overwrites;
    double e2 = gradcheck(&c, 1e-2, 1);

    Case v = {0};
    v.name = "conv (deliberately broken)";
    v.B = 1;
    v.cs = conv2d_shape(2, 4, 4, 2, 3, 3, 1, 1);
    v.col = fbuf(conv2d_col_size(&v.cs));
    v.nt = 3;
    v.tname[0] = "dinp", v.x[0] = randn(v.n[0] = 32, 1.0f);
    v.tname[1] = "dW", v.x[1] = randn(v.n[1] = 36, 0.5f);
    v.tname[2] = "db", v.x[2] = randn(v.n[2] = 2, 0.5f);
    v.out = fbuf(v.nout = 32);
    v.fwd = conv_f, v.bwd = conv_wrong_bias;
    double e3 = gradcheck(&v, 1e-2, 1);
    printf("harness self-test: wrong sign -> %.2g, overwrite -> %.2g, bias off by 0.05 -> %.2g\n",
           e1, e2, e3);
    CHECK(e1 > GRAD_TOL && e2 > GRAD_TOL && e3 > GRAD_TOL,
          "the gradient check failed to catch a broken backward (%g %g %g)", e1, e2, e3);
}

/* ------------------------------------------------------------------------ */

int main(void) {
    rng_init(&rng, 1234, 99);

    test_harness_fails();

    test_dense(1);
    test_dense(0);

    /*          B  C  H  W  OC KH KW s  p  bias */
    test_conv(2, 2, 5, 7, 3, 3, 3, 1, 1, 1);
    test_conv(2, 2, 6, 5, 3, 3, 3, 2, 1, 0);
    test_conv(2, 2, 7, 6, 3, 3, 3, 2, 0, 1);
    test_conv(2, 2, 7, 6, 2, 5, 5, 1, 0, 1);
    test_conv(2, 1, 7, 8, 2, 5, 5, 2, 2, 1);
    test_conv(2, 1, 6, 5, 2, 5, 5, 1, 2, 0);
    test_conv(2, 3, 4, 5, 4, 1, 1, 1, 0, 1); /* pointwise fast path */
    test_conv(2, 3, 5, 5, 2, 1, 1, 2, 0, 0); /* 1x1 with stride: im2col path */
    test_conv(2, 3, 4, 5, 2, 1, 1, 1, 1, 1); /* 1x1 with padding */
    test_conv(2, 2, 6, 7, 2, 3, 2, 2, 1, 1); /* rectangular kernels */
    test_conv(2, 2, 5, 6, 3, 1, 3, 1, 0, 0);
    test_conv(1, 1, 3, 3, 2, 3, 3, 1, 2, 1); /* padding wider than the image edge */
    test_conv(1, 1, 2, 1, 2, 5, 5, 1, 2, 1); /* taps that see only padding columns */

    /*         max B  C  H  W  k  s  p  offset */
    test_pool(1, 2, 2, 6, 6, 2, 2, 0, 0.0f);
    test_pool(1, 1, 2, 5, 7, 2, 2, 0, 0.0f); /* odd sizes: last row/column unused */
    test_pool(1, 2, 2, 5, 7, 3, 2, 1, 0.0f);
    test_pool(1, 1, 2, 5, 6, 3, 1, 1, -20.0f); /* all negative: padding as 0 would win */
    test_pool(1, 2, 1, 7, 5, 2, 1, 1, 0.0f);
    test_pool(0, 2, 2, 6, 6, 2, 2, 0, 0.0f);
    test_pool(0, 2, 2, 5, 7, 3, 2, 1, 0.0f);
    test_pool(0, 1, 2, 5, 6, 3, 1, 1, 0.0f);
    test_maxpool_ties();
    test_global_avgpool();

    test_batchnorm(6, 4, 1); /* BatchNorm1d after a dense layer */
    test_batchnorm(3, 3, 10);
    test_batchnorm(3, 5, 1);
    test_batchnorm_offset();

    test_activation(ACT_RELU, "relu");
    test_activation(ACT_LEAKY, "leaky relu 0.1");
    test_activation(ACT_SIGMOID, "sigmoid");
    test_activation(ACT_TANH, "tanh");
    test_activation(ACT_GELU, "gelu (erf)");
    test_activation_extremes();

    test_dropout();
    test_residual_flatten();
    test_softmax_ce();

    /* invalid conv shapes are reported */
    nl_clear_error();
    ConvShape bad = conv2d_shape(1, 2, 2, 1, 5, 5, 1, 0);
    CHECK(bad.OH == 0 && bad.OW == 0 && strstr(nl_error(), "Hint:"), "invalid conv shape");

    printf("worst gradient error over all layers: %.2e (tolerance %g)\n", worst_overall, GRAD_TOL);
    free_all();
    return check_summary("test_layers");
}
