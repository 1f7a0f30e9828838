/* test_golden.c: core/layers.c against PyTorch 1.13 reference tensors.

   The references are written by tests/golden/make_golden.py into
   tests/golden/layers.bin (every layer, forward and all gradients) and
   tests/golden/cnn_small.bin (two SGD-momentum training steps of
   model=cnn-small&mult=0.125, run through Model, Loss and Optim). The format is in
   tests/golden/README.md. Run from the repo root (paths are relative to it).

   Tolerance: |ours - torch| <= 1e-4 * (1 + |torch|) per element. Both sides
   are float32 with different summation orders (sgemm blocking vs. MKL/oneDNN,
   one-pass vs. two-pass batch statistics), so identical math differs by a few
   ulps times sqrt(reduction length): about 1e-6 relative for the sizes used
   here (reductions of at most ~100 terms of O(1) values). 1e-4 leaves two
   orders of magnitude of margin for that, while any real bug (a wrong index,
   a missing term, biased vs. unbiased variance, padding counted wrong)
   produces differences of 1e-2 or more on these O(1) values. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "layers.h"
#include "loss.h"
#include "model.h"

#define TOL 1e-4

/* ---- allocation pool, freed at exit (LeakSanitizer is on) */
static void *pool[1024];
static int npool;
static void *alloc(size_t bytes) {
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p || npool == (int)(sizeof pool / sizeof pool[0])) {
        fprintf(stderr, "test_golden: out of memory\n");
        exit(2);
    }
    pool[npool++] = p;
    return p;
}
static float *fbuf(long n) { return alloc(sizeof(float) * (size_t)n); }

/* ------------------------------------------------------------------------ */
/* the golden file: "NLGOLDEN", u32 version, u32 count, then per tensor
   u32 name_len, name, u32 ndim, u32 dims[ndim], float32 data; little-endian */

typedef struct {
    char name[64];
    int ndim, dims[8];
    long n;
    float *data;
} GTensor;

typedef struct {
    const char *path;
    int count;
    GTensor *t;
} Golden;

static uint32_t rd_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* returns 0 on success; every length is checked against the file size */
static int golden_load(Golden *g, const char *path) {
    g->path = path;
    g->count = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "test_golden: cannot open %s. Hint: run the test from the repo root; "
                        "regenerate with /usr/bin/python3 tests/golden/make_golden.py.\n", path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = alloc((size_t)(len > 0 ? len : 1));
    size_t got = fread(buf, 1, (size_t)len, f);
    fclose(f);
    const char *why = NULL;
    long pos = 16;
    if (len < 16 || got != (size_t)len || memcmp(buf, "NLGOLDEN", 8) != 0) why = "bad magic";
    else if (rd_u32(buf + 8) != 1) why = "unsupported version";
    else {
        uint32_t count = rd_u32(buf + 12);
        if (count > 100000) why = "absurd tensor count";
        else {
            g->t = alloc(sizeof(GTensor) * count);
            for (uint32_t i = 0; i < count && !why; i++) {
                GTensor *t = &g->t[i];
                if (pos + 4 > len) { why = "truncated name length"; break; }
                uint32_t nl = rd_u32(buf + pos);
                pos += 4;
                if (nl >= sizeof t->name || pos + (long)nl + 4 > len) { why = "bad name"; break; }
                memcpy(t->name, buf + pos, nl);
                t->name[nl] = 0;
                pos += nl;
                uint32_t nd = rd_u32(buf + pos);
                pos += 4;
                if (nd > 8 || pos + 4 * (long)nd > len) { why = "bad ndim"; break; }
                t->ndim = (int)nd;
                t->n = 1;
                for (uint32_t d = 0; d < nd; d++) {
                    uint32_t v = rd_u32(buf + pos);
                    pos += 4;
                    if (v > (1u << 24)) { why = "bad dim"; break; }
                    t->dims[d] = (int)v;
                    t->n *= v;
                }
                if (why) break;
                if (t->n > (1L << 24) || pos + 4 * t->n > len) { why = "truncated data"; break; }
                t->data = fbuf(t->n);
                for (long k = 0; k < t->n; k++) {
                    uint32_t u = rd_u32(buf + pos + 4 * k);
                    memcpy(&t->data[k], &u, 4);
                }
                pos += 4 * t->n;
                g->count++;
            }
        }
    }
    if (why) {
        fprintf(stderr, "test_golden: %s: %s at byte %ld. Hint: regenerate with /usr/bin/python3 "
                        "tests/golden/make_golden.py.\n", path, why, pos);
        return -1;
    }
    return 0;
}

static const GTensor *get(const Golden *g, const char *name) {
    for (int i = 0; i < g->count; i++)
        if (strcmp(g->t[i].name, name) == 0) return &g->t[i];
    return NULL;
}

/* the data of tensor "prefix.key"; a missing tensor is a test failure and
   returns a zero buffer (of `n_hint` floats) so the test can run on */
static const float *D(const Golden *g, const char *prefix, const char *key) {
    char name[96];
    snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", key);
    const GTensor *t = get(g, name);
    CHECK(t != NULL, "%s: tensor %s missing. Hint: regenerate the golden files.", g->path, name);
    return t ? t->data : fbuf(4096);
}

static double worst_diff;

/* compare n values of ours against the reference tensor; print a line */
static void compare(const Golden *g, const char *prefix, const char *key, const float *ours, long n) {
    char name[96];
    snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", key);
    const GTensor *t = get(g, name);
    CHECK(t != NULL, "%s: tensor %s missing", g->path, name);
    if (!t) return;
    CHECK(t->n == n, "%s: size %ld, expected %ld", name, t->n, n);
    if (t->n != n) return;
    double maxd = 0.0;
    long bad = 0, first_bad = -1;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)ours[i] - t->data[i]);
        if (d > maxd || d != d) maxd = d != d ? INFINITY : d;
        if (!(d <= TOL * (1.0 + fabs(t->data[i])))) {
            if (first_bad < 0) first_bad = i;
            bad++;
        }
    }
    if (maxd > worst_diff) worst_diff = maxd;
    char line[256];
    int len = snprintf(line, sizeof line, "  %-28s n=%-4ld max|diff| %.2e  [ours/torch]", name, n, maxd);
    for (long i = 0; i < n && i < 3; i++)
        len += snprintf(line + len, sizeof line - (size_t)len, " %.5g/%.5g", ours[i], t->data[i]);
    printf("%s%s\n", line, bad ? "  <-- FAIL" : "");
    CHECK(bad == 0, "%s: %ld values off (first at %ld: %.7g vs %.7g)", name, bad, first_bad,
          first_bad >= 0 ? ours[first_bad] : 0.0, first_bad >= 0 ? t->data[first_bad] : 0.0);
}

static int cfg(const Golden *g, const char *prefix, int i) {
    return (int)lrintf(D(g, prefix, "config")[i]);
}

/* ------------------------------------------------------------------------ */
/* per-layer references                                                       */

static void golden_conv(const Golden *g, const char *p) {
    int B = cfg(g, p, 0), C = cfg(g, p, 1), H = cfg(g, p, 2), W = cfg(g, p, 3);
    int OC = cfg(g, p, 4), KH = cfg(g, p, 5), KW = cfg(g, p, 6), st = cfg(g, p, 7), pad = cfg(g, p, 8);
    int bias = cfg(g, p, 9);
    printf("%s: conv2d %dx%dx%dx%d -> %d, kernel %dx%d, stride %d, pad %d%s\n", p, B, C, H, W, OC,
           KH, KW, st, pad, bias ? "" : ", no bias");
    ConvShape s = conv2d_shape(C, H, W, OC, KH, KW, st, pad);
    long nin = (long)B * C * H * W, nw = (long)OC * C * KH * KW, nout = (long)B * OC * s.OH * s.OW;
    float *col = fbuf(conv2d_col_size(&s)), *out = fbuf(nout);
    float *dx = fbuf(nin), *dw = fbuf(nw), *db = fbuf(OC);
    const float *b = bias ? D(g, p, "b") : NULL;
    conv2d_forward(out, col, D(g, p, "x"), D(g, p, "w"), b, B, &s);
    conv2d_backward(dx, dw, bias ? db : NULL, col, D(g, p, "dout"), D(g, p, "x"), D(g, p, "w"), B, &s);
    compare(g, p, "out", out, nout);
    compare(g, p, "dx", dx, nin);
    compare(g, p, "dw", dw, nw);
    if (bias) compare(g, p, "db", db, OC);
}

static void golden_dense(const Golden *g, const char *p) {
    int B = cfg(g, p, 0), IN = cfg(g, p, 1), OUT = cfg(g, p, 2);
    printf("%s: dense %dx%d -> %d\n", p, B, IN, OUT);
    float *out = fbuf((long)B * OUT), *dx = fbuf((long)B * IN), *dw = fbuf((long)OUT * IN), *db = fbuf(OUT);
    dense_forward(out, D(g, p, "x"), D(g, p, "w"), D(g, p, "b"), B, IN, OUT);
    dense_backward(dx, dw, db, D(g, p, "dout"), D(g, p, "x"), D(g, p, "w"), B, IN, OUT);
    compare(g, p, "out", out, (long)B * OUT);
    compare(g, p, "dx", dx, (long)B * IN);
    compare(g, p, "dw", dw, (long)OUT * IN);
    compare(g, p, "db", db, OUT);
}

static void golden_batchnorm(const Golden *g, const char *p) {
    const float *c = D(g, p, "config");
    int B = (int)c[0], C = (int)c[1], HW = (int)c[2];
    float momentum = c[3], eps = c[4];
    printf("%s: batchnorm B%d C%d HW%d momentum %g eps %g\n", p, B, C, HW, momentum, eps);
    long n = (long)B * C * HW;
    float *out = fbuf(n), *dx = fbuf(n), *dg = fbuf(C), *dbeta = fbuf(C), *mean = fbuf(C), *rstd = fbuf(C);
    float *rm = fbuf(C), *rv = fbuf(C);
    memcpy(rm, D(g, p, "running_mean0"), sizeof(float) * (size_t)C);
    memcpy(rv, D(g, p, "running_var0"), sizeof(float) * (size_t)C);
    batchnorm_forward(out, mean, rstd, D(g, p, "x"), D(g, p, "gamma"), D(g, p, "beta"), rm, rv, B,
                      C, HW, 1, momentum, eps);
    batchnorm_backward(dx, dg, dbeta, D(g, p, "dout"), D(g, p, "x"), D(g, p, "gamma"), mean, rstd,
                       B, C, HW);
    compare(g, p, "out", out, n);
    compare(g, p, "dx", dx, n);
    compare(g, p, "dgamma", dg, C);
    compare(g, p, "dbeta", dbeta, C);
    compare(g, p, "running_mean1", rm, C);
    compare(g, p, "running_var1", rv, C);
    /* eval with our own updated running statistics */
    batchnorm_forward(out, NULL, NULL, D(g, p, "x_eval"), D(g, p, "gamma"), D(g, p, "beta"), rm,
                      rv, B, C, HW, 0, momentum, eps);
    compare(g, p, "out_eval", out, n);
}

static void golden_pool(const Golden *g, const char *p, int is_max) {
    int B = cfg(g, p, 0), C = cfg(g, p, 1), H = cfg(g, p, 2), W = cfg(g, p, 3);
    int k = cfg(g, p, 4), st = cfg(g, p, 5), pad = cfg(g, p, 6);
    int OH = (H + 2 * pad - k) / st + 1, OW = (W + 2 * pad - k) / st + 1;
    printf("%s: %s %dx%dx%dx%d k%d s%d p%d\n", p, is_max ? "maxpool" : "avgpool", B, C, H, W, k, st, pad);
    long nin = (long)B * C * H * W, nout = (long)B * C * OH * OW;
    float *out = fbuf(nout), *dx = fbuf(nin);
    int *am = alloc(sizeof(int) * (size_t)nout);
    if (is_max) {
        maxpool2d_forward(out, am, D(g, p, "x"), B, C, H, W, k, st, pad);
        maxpool2d_backward(dx, D(g, p, "dout"), am, B, C, OH, OW);
    } else {
        avgpool2d_forward(out, D(g, p, "x"), B, C, H, W, k, st, pad);
        avgpool2d_backward(dx, D(g, p, "dout"), B, C, H, W, k, st, pad);
    }
    compare(g, p, "out", out, nout);
    compare(g, p, "dx", dx, nin);
}

static void golden_gap(const Golden *g, const char *p) {
    int B = cfg(g, p, 0), C = cfg(g, p, 1), HW = cfg(g, p, 2);
    printf("%s: global avgpool B%d C%d HW%d\n", p, B, C, HW);
    float *out = fbuf((long)B * C), *dx = fbuf((long)B * C * HW);
    global_avgpool_forward(out, D(g, p, "x"), B, C, HW);
    global_avgpool_backward(dx, D(g, p, "dout"), B, C, HW);
    compare(g, p, "out", out, (long)B * C);
    compare(g, p, "dx", dx, (long)B * C * HW);
}

static void golden_activations(const Golden *g) {
    const GTensor *t = get(g, "act.x");
    CHECK(t != NULL, "act.x missing");
    if (!t) return;
    long n = t->n;
    const float *x = t->data, *dout = D(g, "act", "dout");
    float *out = fbuf(n), *dx = fbuf(n);
    printf("activations on %ld values\n", n);
    const char *names[5] = {"relu", "leaky_relu", "sigmoid", "tanh", "gelu"};
    for (int a = 0; a < 5; a++) {
        memset(dx, 0, sizeof(float) * (size_t)n);
        switch (a) {
        case 0: relu_forward(out, x, n), relu_backward(dx, dout, x, n); break;
        case 1: leaky_relu_forward(out, x, n, 0.1f), leaky_relu_backward(dx, dout, x, n, 0.1f); break;
        case 2: sigmoid_forward(out, x, n), sigmoid_backward(dx, dout, out, n); break;
        case 3: tanh_forward(out, x, n), tanh_backward(dx, dout, out, n); break;
        default: gelu_forward(out, x, n), gelu_backward(dx, dout, x, n); break;
        }
        compare(g, names[a], "out", out, n);
        compare(g, names[a], "dx", dx, n);
    }
}

static int *labels_of(const Golden *g, const char *prefix, const char *key, int n) {
    const float *f = D(g, prefix, key);
    int *y = alloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) y[i] = (int)lrintf(f[i]);
    return y;
}

static void golden_softmax_ce(const Golden *g) {
    int B = cfg(g, "ce", 0), K = cfg(g, "ce", 1);
    printf("ce: softmax + cross-entropy B%d K%d\n", B, K);
    int *y = labels_of(g, "ce", "labels", B);
    float *probs = fbuf((long)B * K), *losses = fbuf(B), *dl = fbuf((long)B * K);
    float loss = softmax_ce_forward(probs, losses, D(g, "ce", "logits"), y, B, K);
    softmax_ce_backward(dl, probs, y, B, K, 1.0f);
    compare(g, "ce", "probs", probs, (long)B * K);
    compare(g, "ce", "losses", losses, B);
    compare(g, "ce", "loss", &loss, 1);
    compare(g, "ce", "dlogits", dl, (long)B * K);
}

/* ------------------------------------------------------------------------ */
/* cnn-small: two SGD-momentum steps, composed from the layers by hand        */

/* The whole training step through the code that trains: Model (model=cnn-small,
   mult=0.125), Loss and Optim, with PyTorch's initial parameters copied into the
   arena. The arena's parameter order is PyTorch's named_parameters() order. */
static void golden_cnn_small(const Golden *g) {
    int B = cfg(g, "", 0), C = cfg(g, "", 1), H = cfg(g, "", 2), W = cfg(g, "", 3);
    int K = cfg(g, "", 6);
    const float *hyper = D(g, "", "hyper");
    char cfgstr[256];
    snprintf(cfgstr, sizeof cfgstr, "model=cnn-small&mult=0.125&opt=sgd&lr=%.9g&momentum=%.9g&wd=%.9g",
             (double)hyper[0], (double)hyper[1], (double)hyper[2]);
    printf("cnn_small: %dx%dx%dx%d, %s, %d classes, two steps\n", B, C, H, W, cfgstr, K);
    int *y = labels_of(g, "", "labels", B);
    const float *x = D(g, "", "x");
    Config c;
    Model m;
    Loss loss;
    Optim opt;
    CHECK(config_parse(&c, cfgstr) == 0 && loss_from_config(&loss, &c) == 0, "config: %s", nl_error());
    CHECK(model_build(&m, &c, C, H, W, K, B) == 0, "model_build: %s", nl_error());
    optim_from_config(&opt, &c);
    const char *pname[6] = {"conv.weight", "conv.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};
    long off[7] = {0};
    for (int i = 0; i < 6; i++) {
        char key[64];
        snprintf(key, sizeof key, "param0.%s", pname[i]);
        const GTensor *t = get(g, key);
        off[i + 1] = off[i] + t->n;
        memcpy(m.params + off[i], t->data, sizeof(float) * (size_t)t->n);
    }
    CHECK(off[6] == m.nparams, "arena holds %ld parameters, PyTorch %ld", m.nparams, off[6]);
    float *probs = fbuf((long)B * K), *losses = fbuf(B);
    for (int step = 1; step <= 2 && off[6] == m.nparams; step++) {
        char pre[16];
        snprintf(pre, sizeof pre, "step%d", step);
        model_zero_grad(&m, B);
        float *logits = model_forward(&m, x, B, 1, NULL);
        compare(g, pre, "logits", logits, (long)B * K);
        float l = loss_compute(&loss, logits, y, B, K, probs, losses, model_dlogits(&m), 1.0f);
        compare(g, pre, "loss", &l, 1);
        model_backward(&m, B);
        for (int i = 0; i < 6; i++) {
            char key[64];
            snprintf(key, sizeof key, "grad.%s", pname[i]);
            compare(g, pre, key, m.grads + off[i], off[i + 1] - off[i]);
        }
        optim_step(&opt, &m, (float)c.lr);
        for (int i = 0; i < 6; i++) {
            char key[64];
            snprintf(key, sizeof key, "param.%s", pname[i]);
            compare(g, pre, key, m.params + off[i], off[i + 1] - off[i]);
        }
    }
    model_free(&m);
}

int main(void) {
    Golden lay = {0}, cnn = {0};
    CHECK(golden_load(&lay, "tests/golden/layers.bin") == 0, "cannot load layers.bin");
    CHECK(golden_load(&cnn, "tests/golden/cnn_small.bin") == 0, "cannot load cnn_small.bin");
    if (lay.count) {
        const char *convs[] = {"conv_a", "conv_b", "conv_c", "conv_d", "conv_e"};
        for (int i = 0; i < 5; i++) golden_conv(&lay, convs[i]);
        golden_dense(&lay, "dense");
        golden_batchnorm(&lay, "bn2d");
        golden_batchnorm(&lay, "bn1d");
        golden_pool(&lay, "maxpool_a", 1);
        golden_pool(&lay, "maxpool_b", 1);
        golden_pool(&lay, "avgpool_a", 0);
        golden_pool(&lay, "avgpool_b", 0);
        golden_gap(&lay, "gap");
        golden_activations(&lay);
        golden_softmax_ce(&lay);
    }
    if (cnn.count) golden_cnn_small(&cnn);
    printf("worst max|diff| over all golden tensors: %.2e (tolerance %g * (1 + |torch|))\n",
           worst_diff, TOL);
    while (npool) free(pool[--npool]);
    return check_summary("test_golden");
}
