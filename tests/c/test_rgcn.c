/* test_rgcn.c: the R-GCN layer, the rgcn/mrgcn models and knowledge-graph runs.

   1. RelGraph: the same groups whatever the edge order, duplicates collapsed, one
      self-connection per node (relation R-1, norm 1), c_ir = group size, bad ids refused.
   2. The layer against a dense double reference (explicit one-hot identity for the
      featureless input, explicit W_r = sum_b comp V_b), and its gradients against
      central finite differences of L = sum(out * r): featureless and dense input,
      full weights and bases; backward must accumulate (+=).
   3. Whole models (kgnet_forward/backward, rgcn and mrgcn) on a small KG read from
      kgbench CSV text, against finite differences.
   3b. The layer against PyTorch (tests/golden/rgcn.bin, make_rgcn_golden.py).
   4. Runs, when ../shared/datasets (or $NOISYLAB_DATA_DIR) holds aifb (else a printed
      skip): a short AIFB run through run_new/run_add_shard/run_step learns and gives
      the same bits twice, its gradient check passes, a checkpoint restored into a
      fresh run ends bit-identically; a split naming an unknown node, a missing file,
      patience without a validation split and a model/dataset mismatch give clear
      messages.
   5. Subsets and bundles, on AIFB too: a run with hops=2&max_nodes=1000 trains on the
      k-hop subgraph (its size in the result JSON), gives the same bits twice and learns,
      and a checkpoint of it restores bit-identically;
      a bundle of the same subgraph (kg_subgraph + kg_bundle_write, as graph-subset) run
      with dataset=bundle gives the same epochs bit for bit, and echoes its manifest; a
      cap below the labelled nodes, a flipped byte, a file that is no bundle and a bundle
      run without its file fail with clear messages. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "check.h"
#include "err.h"
#include "featurise.h"
#include "kg.h"
#include "rgcn.h"
#include "rng.h"
#include "subgraph.h"
#include "train.h"

static Rng rng;

static float *randn(long n, float scale) {
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++) p[i] = scale * rng_normal(&rng);
    return p;
}

static char *dup(const char *s) {
    char *p = malloc(strlen(s) + 1);
    strcpy(p, s);
    return p;
}

/* ------------------------------------------------------------------------- */
/* 1: RelGraph                                                                */

static void test_relgraph(void) {
    /* 4 nodes, 2 relations; (0 -0-> 1) twice, (2 -0-> 1), (3 -1-> 1), (1 -1-> 0) */
    int s[] = {0, 2, 3, 1, 0}, r[] = {0, 0, 1, 1, 0}, d[] = {1, 1, 1, 0, 1};
    RelGraph a, b;
    CHECK(relgraph_build(&a, 4, 2, s, r, d, 5) == 0, "build: %s", nl_error());
    CHECK(a.R == 3 && a.m == 4 + 4, "R %d m %ld: 4 distinct edges and 4 self loops", a.R, a.m);
    /* groups in (dst, rel) order: (0,1) (0,2) (1,0) (1,1) (1,2) (2,2) (3,2) */
    int gd[] = {0, 0, 1, 1, 1, 2, 3}, gr[] = {1, 2, 0, 1, 2, 2, 2};
    CHECK(a.ngroups == 7, "groups %ld", a.ngroups);
    for (int q = 0; q < 7 && q < a.ngroups; q++) CHECK(a.gdst[q] == gd[q] && a.grel[q] == gr[q], "group %d", q);
    CHECK(a.gstart[3] - a.gstart[2] == 2 && a.src[a.gstart[2]] == 0 && a.src[a.gstart[2] + 1] == 2 &&
          a.gnorm[2] == 0.5f && a.gnorm[4] == 1.0f, "group (1, 0) holds sources 0, 2 with c = 2");
    int s2[] = {1, 0, 3, 2}, r2[] = {1, 0, 1, 0}, d2[] = {0, 1, 1, 1};
    CHECK(relgraph_build(&b, 4, 2, s2, r2, d2, 4) == 0, "rebuild");
    CHECK(b.m == a.m && b.ngroups == a.ngroups && !memcmp(a.src, b.src, sizeof(int) * (size_t)a.m) &&
          !memcmp(a.gstart, b.gstart, sizeof(long) * (size_t)(a.ngroups + 1)), "edge order changes nothing");
    relgraph_free(&b);
    int bad[] = {4};
    CHECK(relgraph_build(&b, 4, 2, s, r, bad, 1) < 0 && strstr(nl_error(), "Hint:"), "bad id: %s", nl_error());
    CHECK(relgraph_build(&b, 4, 2, s, bad, d, 1) < 0, "bad relation refused");
    relgraph_free(&a);
}

/* ------------------------------------------------------------------------- */
/* 2: the layer                                                               */

typedef struct {
    RelGraph g;
    RgcnShape s;
    float *inp, *w, *comp, *b, *out, *scratch;
    long nw, nc, nout;
} Lay;

static double lay_loss(Lay *l, const float *r) {
    rgcn_forward(l->out, l->scratch, &l->g, l->inp, l->w, l->comp, l->b, &l->s);
    double s = 0;
    for (long i = 0; i < l->nout; i++) s += (double)l->out[i] * r[i];
    return s;
}

static void fd_check(Lay *l, const char *name, float *t, const float *g, long n, const float *r) {
    double worst = 0, gmax = 0;
    double *num = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++) {
        float t0 = t[i], h = 1e-2f * fmaxf(1.0f, fabsf(t0));
        t[i] = t0 + h;
        double lp = lay_loss(l, r);
        float up = t[i];
        t[i] = t0 - h;
        double lm = lay_loss(l, r);
        float dn = t[i];
        t[i] = t0;
        num[i] = (lp - lm) / ((double)up - dn);
        gmax = fmax(gmax, fabs(num[i]));
    }
    for (long i = 0; i < n; i++)
        worst = fmax(worst, fabs(g[i] - num[i]) / fmax(fmax(fabs(g[i]), fabs(num[i])), 0.01 * gmax + 1e-6));
    /* the layer is linear in each tensor: only float rounding remains */
    CHECK(worst < 1e-2, "%s: max relative gradient error %.3g", name, worst);
    free(num);
}

/* out in double from the definition: explicit x (one-hot when featureless), explicit W_r */
static void reference(const Lay *l, double *out) {
    const RgcnShape *s = &l->s;
    int N = s->N, IN = s->IN, OUT = s->OUT, R = s->R, B = s->B;
    double *W = calloc((size_t)R * IN * OUT, sizeof(double));
    for (int r = 0; r < R; r++)
        for (int m = 0; m < IN; m++)
            for (int k = 0; k < OUT; k++) {
                double v = 0;
                if (!B) v = l->w[((long)r * IN + m) * OUT + k];
                else
                    for (int b = 0; b < B; b++) v += (double)l->comp[r * B + b] * l->w[((long)m * B + b) * OUT + k];
                W[((long)r * IN + m) * OUT + k] = v;
            }
    for (int i = 0; i < N; i++)
        for (int k = 0; k < OUT; k++) out[(long)i * OUT + k] = l->b[k];
    for (long q = 0; q < l->g.ngroups; q++) {
        int i = l->g.gdst[q], r = l->g.grel[q];
        double c = 1.0 / (double)(l->g.gstart[q + 1] - l->g.gstart[q]);
        for (long e = l->g.gstart[q]; e < l->g.gstart[q + 1]; e++) {
            int j = l->g.src[e];
            for (int m = 0; m < IN; m++) {
                double x = l->s.featureless ? (m == j) : l->inp[(long)j * IN + m];
                for (int k = 0; k < OUT; k++) out[(long)i * OUT + k] += c * x * W[((long)r * IN + m) * OUT + k];
            }
        }
    }
    free(W);
}

static void check_layer(int featureless, int B) {
    char name[64];
    snprintf(name, sizeof name, "rgcn %s, %s", featureless ? "featureless" : "dense", B ? "bases" : "full");
    int N = 11, n_rel = 4, IN = featureless ? N : 6, OUT = 5;
    long m = 30;
    int src[30], rel[30], dst[30];
    for (long e = 0; e < m; e++) {
        src[e] = (int)rng_below(&rng, (uint32_t)N), dst[e] = (int)rng_below(&rng, (uint32_t)N);
        rel[e] = (int)rng_below(&rng, (uint32_t)n_rel);
    }
    dst[0] = dst[1] = dst[2] = 3, rel[0] = rel[1] = rel[2] = 1; /* one group of 3: c = 1/3 */
    Lay l = {0};
    CHECK(relgraph_build(&l.g, N, n_rel, src, rel, dst, m) == 0, "%s: build", name);
    l.s = (RgcnShape){N, IN, OUT, l.g.R, B, featureless};
    l.nw = rgcn_weight_size(&l.s), l.nc = rgcn_comp_size(&l.s), l.nout = (long)N * OUT;
    l.inp = featureless ? NULL : randn((long)N * IN, 1.0f);
    l.w = randn(l.nw, 0.5f), l.comp = B ? randn(l.nc, 0.7f) : NULL, l.b = randn(OUT, 0.3f);
    l.out = malloc(sizeof(float) * (size_t)l.nout);
    l.scratch = malloc(sizeof(float) * (size_t)rgcn_scratch_size(&l.s));
    float *r = randn(l.nout, 1.0f);
    /* forward against the definition */
    double *ref = malloc(sizeof(double) * (size_t)l.nout), worst = 0;
    rgcn_forward(l.out, l.scratch, &l.g, l.inp, l.w, l.comp, l.b, &l.s);
    reference(&l, ref);
    for (long i = 0; i < l.nout; i++) worst = fmax(worst, fabs(l.out[i] - ref[i]) / (1 + fabs(ref[i])));
    CHECK(worst < 1e-5, "%s: forward against the dense reference (%.3g)", name, worst);
    /* gradients: backward twice must give twice the gradient (it accumulates) */
    float *dinp = featureless ? NULL : calloc((size_t)N * IN, sizeof(float));
    float *dw = calloc((size_t)l.nw, sizeof(float)), *dc = B ? calloc((size_t)l.nc, sizeof(float)) : NULL;
    float *db = calloc((size_t)OUT, sizeof(float));
    rgcn_backward(dinp, dw, dc, db, l.scratch, r, &l.g, l.inp, l.w, l.comp, &l.s);
    float w0 = dw[0];
    rgcn_backward(dinp, dw, dc, db, l.scratch, r, &l.g, l.inp, l.w, l.comp, &l.s);
    CHECK(fabsf(dw[0] - 2 * w0) <= 1e-6f * (1 + fabsf(w0)), "%s: backward accumulates", name);
    for (long i = 0; i < l.nw; i++) dw[i] *= 0.5f;
    for (long i = 0; i < l.nc; i++) dc[i] *= 0.5f;
    for (int i = 0; i < OUT; i++) db[i] *= 0.5f;
    for (long i = 0; dinp && i < (long)N * IN; i++) dinp[i] *= 0.5f;
    char t[96];
    snprintf(t, sizeof t, "%s: dweight", name);
    fd_check(&l, t, l.w, dw, l.nw, r);
    snprintf(t, sizeof t, "%s: dbias", name);
    fd_check(&l, t, l.b, db, OUT, r);
    if (B) snprintf(t, sizeof t, "%s: dcomp", name), fd_check(&l, t, l.comp, dc, l.nc, r);
    if (!featureless) snprintf(t, sizeof t, "%s: dinp", name), fd_check(&l, t, l.inp, dinp, (long)N * IN, r);
    /* determinism: the same inputs, the same bits */
    float *again = malloc(sizeof(float) * (size_t)l.nout);
    memcpy(again, l.out, sizeof(float) * (size_t)l.nout);
    rgcn_forward(l.out, l.scratch, &l.g, l.inp, l.w, l.comp, l.b, &l.s);
    lay_loss(&l, r);
    rgcn_forward(again, l.scratch, &l.g, l.inp, l.w, l.comp, l.b, &l.s);
    CHECK(!memcmp(again, l.out, sizeof(float) * (size_t)l.nout), "%s: same bits twice", name);
    free(again), free(ref), free(r), free(dinp), free(dw), free(dc), free(db);
    free(l.inp), free(l.w), free(l.comp), free(l.b), free(l.out), free(l.scratch);
    relgraph_free(&l.g);
}

static void test_layer(void) {
    for (int f = 0; f < 2; f++)
        for (int b = 0; b < 2; b++) check_layer(f, b ? 3 : 0);
}

/* ------------------------------------------------------------------------- */
/* 3: the models on a small KG                                                */

static KgFile kf(const char *s, const char *what) { return (KgFile){(const uint8_t *)s, s ? strlen(s) : 0, what}; }

/* 8 nodes: 0-3 IRIs (0, 1 labelled), literals: a string, a number, a date, a number */
static const char *k_nodes = "index,annotation,label\n0,iri,http://x/a\n1,iri,http://x/b\n2,iri,http://x/c\n"
                             "3,iri,http://x/d\n4,http://www.w3.org/2001/XMLSchema#string,red apple pie\n"
                             "5,http://www.w3.org/2001/XMLSchema#integer,42\n"
                             "6,http://www.w3.org/2001/XMLSchema#date,2001-05-03\n"
                             "7,http://www.w3.org/2001/XMLSchema#integer,-7\n";
static const char *k_rel = "index,label\n0,http://x/p\n1,http://x/q\n2,http://x/lit\n";
static const char *k_tri = "0, 0, 2\n1, 0, 2\n2, 1, 3\n0, 2, 4\n1, 2, 5\n3, 2, 6\n2, 2, 7\n1, 1, 0\n";
static const char *k_train = "0,0\n1,1\n";
static const char *k_test = "2,1\n3,0\n";

static double model_loss(KgNet *k, Model *mdl, const float *r) {
    float *z = kgnet_forward(k, mdl, 1, NULL);
    double s = 0;
    for (long i = 0; i < (long)k->N * k->K; i++) s += (double)z[i] * r[i];
    return s;
}

static void check_model(const char *cfg_text) {
    KG g;
    CHECK(kg_read_kgbench(&g, kf(k_tri, "triples"), kf(k_nodes, "nodes"), kf(k_rel, "rel"), kf(k_train, "train"),
                          kf(NULL, "valid"), kf(k_test, "test")) == 0, "small KG: %s", nl_error());
    KgFeatures f;
    CHECK(kg_featurise(&g, 16, &f) == 0, "featurise: %s", nl_error());
    Config c;
    CHECK(config_parse(&c, cfg_text) == 0, "%s: %s", cfg_text, nl_error());
    KgNet k;
    Model mdl;
    CHECK(kgnet_build(&k, &mdl, &c, &g, &f, g.n_classes) == 0, "build %s: %s", cfg_text, nl_error());
    Rng init;
    rng_init(&init, 1, STREAM_INIT);
    kgnet_init(&k, &mdl, &init);
    long nk = (long)k.N * k.K, n = mdl.nparams;
    float *r = randn(nk, 1.0f);
    memset(mdl.grads, 0, sizeof(float) * (size_t)n);
    kgnet_forward(&k, &mdl, 1, NULL);
    memcpy(k.dlogits, r, sizeof(float) * (size_t)nk);
    kgnet_backward(&k, &mdl);
    /* ReLU kinks: a step that crosses one changes the slope, so the check uses a small
       step and counts a parameter wrong only beyond rounding and kink noise */
    double worst = 0, gmax = 0;
    double *num = malloc(sizeof(double) * (size_t)n);
    for (long i = 0; i < n; i++) {
        float p0 = mdl.params[i], h = 1e-3f;
        mdl.params[i] = p0 + h;
        double lp = model_loss(&k, &mdl, r);
        mdl.params[i] = p0 - h;
        double lm = model_loss(&k, &mdl, r);
        mdl.params[i] = p0;
        num[i] = (lp - lm) / (2.0 * h);
        gmax = fmax(gmax, fabs(num[i]));
    }
    int bad = 0;
    for (long i = 0; i < n; i++) {
        double e = fabs(mdl.grads[i] - num[i]) / fmax(fmax(fabs(mdl.grads[i]), fabs(num[i])), 0.01 * gmax + 1e-6);
        worst = fmax(worst, e);
        bad += e > 2e-2;
    }
    CHECK(bad <= n / 200 + 1, "%s: %d of %ld gradients off (worst %.3g)", cfg_text, bad, n, worst);
    char sum[256];
    kgnet_summary(&k, &mdl, sum, sizeof sum);
    CHECK(strstr(sum, c.model) == sum, "summary: %s", sum);
    free(num), free(r);
    kgnet_free(&k), model_free(&mdl), kg_features_free(&f), kg_free(&g);
}

static void test_models(void) {
    check_model("dataset=aifb&model=rgcn&hidden=4");
    check_model("dataset=aifb&model=rgcn&hidden=4&bases=2");
    check_model("dataset=aifb-kgbench&model=mrgcn&hidden=4");
    check_model("dataset=aifb-kgbench&model=mrgcn&hidden=3&bases=2");
}

/* ------------------------------------------------------------------------- */
/* 3b: the layer against PyTorch (tests/golden/make_rgcn_golden.py)           */

typedef struct {
    char name[64];
    long n;
    float *data;
} GT;

/* reads the golden file ("NLGOLDEN", u32 version, u32 count, then per tensor u32
   name_len, name, u32 ndim, u32 dims, float32 data); returns the count or -1 */
static int golden_read(const char *path, GT *t, int cap) {
    size_t len;
    uint8_t *b = kg_slurp(path, &len);
    if (!b) return -1;
    uint32_t u[3];
    size_t pos = 16;
    int n = 0;
    if (len < 16 || memcmp(b, "NLGOLDEN", 8)) n = -1;
    memcpy(u, b + 8, 8);
    for (uint32_t i = 0; n >= 0 && i < u[1] && n < cap; i++) {
        memcpy(u, b + pos, 4), pos += 4;
        if (u[0] >= sizeof t[n].name || pos + u[0] + 4 > len) { n = -1; break; }
        memcpy(t[n].name, b + pos, u[0]), t[n].name[u[0]] = 0, pos += u[0];
        uint32_t nd, d;
        memcpy(&nd, b + pos, 4), pos += 4;
        t[n].n = 1;
        for (uint32_t k = 0; k < nd && pos + 4 <= len; k++) memcpy(&d, b + pos, 4), pos += 4, t[n].n *= d;
        if (pos + 4 * (size_t)t[n].n > len) { n = -1; break; }
        t[n].data = malloc(sizeof(float) * (size_t)t[n].n + 1);
        memcpy(t[n].data, b + pos, 4 * (size_t)t[n].n), pos += 4 * (size_t)t[n].n;
        n++;
    }
    free(b);
    return n;
}

static const float *gt(GT *t, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, name)) return t[i].data;
    return NULL;
}

static void close_all(const float *a, const float *b, long n, const char *what) {
    double worst = 0;
    for (long i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - b[i]) / (1e-3 + fabs(b[i])));
    CHECK(b && worst < 1e-4, "%s against PyTorch: max relative error %.3g", what, worst);
}

static void test_golden(void) {
    GT t[64];
    int n = golden_read("tests/golden/rgcn.bin", t, 64);
    if (n < 0) {
        printf("test_rgcn: SKIP golden: tests/golden/rgcn.bin not found (run from the repository root)\n");
        return;
    }
    const int N = 10, NREL = 3, IN = 6, OUT = 4;
    const float *e = gt(t, n, "edges");
    int src[64], rel[64], dst[64], m = 28;
    for (int k = 0; k < m; k++) src[k] = (int)e[3 * k], rel[k] = (int)e[3 * k + 1], dst[k] = (int)e[3 * k + 2];
    RelGraph g;
    CHECK(relgraph_build(&g, N, NREL, src, rel, dst, m) == 0, "golden graph");
    const float *r = gt(t, n, "r");
    for (int f = 1; f >= 0; f--)
        for (int B = 0; B <= 3; B += 3) {
            char tag[64], nm[96];
            snprintf(tag, sizeof tag, "%s_%s", f ? "featureless" : "dense", B ? "bases" : "full");
            RgcnShape s = {N, f ? N : IN, OUT, g.R, B, f};
#define G(x) (snprintf(nm, sizeof nm, "%s.%s", tag, x), gt(t, n, nm))
            const float *w = G("weight"), *comp = B ? G("comp") : NULL, *bias = G("bias"), *x = f ? NULL : G("x");
            long nw = rgcn_weight_size(&s), nc = rgcn_comp_size(&s);
            float *out = calloc((size_t)N * OUT, sizeof(float)), *dw = calloc((size_t)nw, sizeof(float));
            float *dc = calloc((size_t)nc + 1, sizeof(float)), *db = calloc(OUT, sizeof(float));
            float *dx = calloc((size_t)N * IN, sizeof(float)), *scr = malloc(sizeof(float) * (size_t)rgcn_scratch_size(&s));
            rgcn_forward(out, scr, &g, x, w, comp, bias, &s);
            rgcn_backward(f ? NULL : dx, dw, B ? dc : NULL, db, scr, r, &g, x, w, comp, &s);
            snprintf(nm, sizeof nm, "%s out", tag), close_all(out, G("out"), (long)N * OUT, nm);
            char what[96];
            snprintf(what, sizeof what, "%s dweight", tag), close_all(dw, G("dweight"), nw, what);
            snprintf(what, sizeof what, "%s dbias", tag), close_all(db, G("dbias"), OUT, what);
            if (B) snprintf(what, sizeof what, "%s dcomp", tag), close_all(dc, G("dcomp"), nc, what);
            if (!f) snprintf(what, sizeof what, "%s dx", tag), close_all(dx, G("dx"), (long)N * IN, what);
#undef G
            free(out), free(dw), free(dc), free(db), free(dx), free(scr);
        }
    relgraph_free(&g);
    for (int i = 0; i < n; i++) free(t[i].data);
}

/* ------------------------------------------------------------------------- */
/* 4: runs on AIFB                                                            */

static const char *data_dir(void) {
    const char *d = getenv("NOISYLAB_DATA_DIR");
    return d && *d ? d : "../shared/datasets";
}

typedef struct {
    uint8_t *buf[3];
    size_t len[3];
} Files;

static const char *const aifb_names[3] = {"aifb_stripped.nt.gz", "trainingSet.tsv", "testSet.tsv"};

static Run *aifb_run(const char *cfg, const Files *f, int nfiles) {
    Run *r = run_new(cfg);
    for (int k = 0; r && k < nfiles; k++)
        if (run_add_shard(r, 0, f->buf[k], f->len[k], aifb_names[k]) < 0) {
            run_free(r);
            return NULL;
        }
    return r;
}

static int finish(Run *r) {
    int st = RUN_TRAINING;
    while (st != RUN_DONE && st != RUN_DIVERGED && st >= 0) st = run_step(r, 1);
    return st;
}

/* a checkpoint of `a` after 4 epochs, restored into the fresh run `b`: both must end with the
   same result JSON, bit for bit; returns a's (malloc'd) */
static char *restored_result(Run *a, Run *b, const char *what) {
    for (int e = 0; e < 4; e++) run_step(a, 1);
    size_t len;
    const uint8_t *ck = run_checkpoint(a, &len);
    uint8_t *copy = ck ? malloc(len) : NULL;
    if (copy) memcpy(copy, ck, len);
    CHECK(copy && run_restore(b, copy, len) == 0, "restore a %s: %s", what, nl_error());
    free(copy);
    finish(a), finish(b);
    char *ja = dup(run_result_json(a));
    CHECK(!strcmp(ja, run_result_json(b)), "a restored %s ends bit-identically", what);
    return ja;
}

static void test_runs(const Files *f) {
    /* small on purpose (bases, 8 hidden) so the sanitizer build stays quick */
    const char *cfg = "dataset=aifb&model=rgcn&bases=10&hidden=8&opt=adam&lr=0.01&wd=0&epochs=10&tsne=20&seed=1";
    char *first = NULL;
    for (int t = 0; t < 2; t++) {
        Run *r = aifb_run(cfg, f, 3);
        CHECK(r != NULL, "aifb run: %s", nl_error());
        if (!r) return;
        CHECK(finish(r) == RUN_DONE, "aifb run ends: %s", nl_error());
        const char *j = run_result_json(r);
        CHECK(strstr(j, "\"nodes\":8285") && strstr(j, "\"triples\":29043") && strstr(j, "\"train\":140") &&
              strstr(j, "\"test\":36") && strstr(j, "id1instance") && strstr(j, "\"final\""), "result JSON of an AIFB run");
        /* chance is 15/36 (the largest class); 10 epochs of R-GCN are far above it */
        CHECK(r->hist[9].test_acc > 0.75f, "AIFB learns: test accuracy %g", (double)r->hist[9].test_acc);
        if (!first) first = dup(j);
        else CHECK(!strcmp(first, j), "the same config gives the same bits");
        if (t == 1) {
            const char *gc = run_gradcheck_json(r);
            CHECK(gc && strstr(gc, "\"kind\":\"rgcn.comp\"") && strstr(gc, "\"kind\":\"rgcn.weight\""),
                  "gradcheck of an rgcn run: %s", gc ? gc : nl_error());
            double worst = 1;
            const char *p = gc ? strstr(gc, "],\"max_rel_err\":") : NULL;
            if (p) worst = atof(p + 16);
            CHECK(worst < 0.5, "gradcheck worst relative error %g", worst);
        }
        run_free(r);
    }
    free(first);
    /* a checkpoint after 4 epochs, restored into a fresh run: the same end, bit for bit */
    Run *a = aifb_run(cfg, f, 3), *b = aifb_run(cfg, f, 3);
    CHECK(a && b, "aifb runs: %s", nl_error());
    if (a && b) free(restored_result(a, b, "rgcn run"));
    run_free(a), run_free(b);
    /* bad input: a split naming a node that is not in the graph */
    Files bad = *f;
    const char *tsv = "person\tid\tlabel_affiliation\r\nhttp://example.org/nobody\t1.0\thttp://x/g\r\n";
    bad.buf[1] = (uint8_t *)tsv, bad.len[1] = strlen(tsv);
    Run *r = aifb_run(cfg, &bad, 3);
    CHECK(r && run_start(r) < 0 && strstr(nl_error(), "trainingSet.tsv") && strstr(nl_error(), "Hint:"),
          "unknown node in a split: %s", nl_error());
    run_free(r);
    r = aifb_run(cfg, f, 1);
    CHECK(r && run_start(r) < 0 && strstr(nl_error(), "trainingSet.tsv was not added"), "missing file: %s", nl_error());
    run_free(r);
    r = run_new(cfg);
    CHECK(r && run_add_shard(r, 0, f->buf[1], f->len[1], "labels.csv") < 0 &&
          strstr(nl_error(), "not one of the files of 'aifb'"), "a file of another name: %s", nl_error());
    run_free(r);
    CHECK(run_new("dataset=aifb&model=gcn") == NULL && strstr(nl_error(), "model=rgcn"), "gcn on a KG: %s", nl_error());
    CHECK(run_new("dataset=cora&model=rgcn") == NULL && strstr(nl_error(), "dataset=aifb"), "rgcn on cora: %s", nl_error());
    CHECK(run_new("dataset=mnist&model=mrgcn") == NULL && strstr(nl_error(), "image dataset"), "mrgcn on images: %s", nl_error());
    r = aifb_run("dataset=aifb&model=rgcn&bases=2&epochs=2&patience=5", f, 3);
    CHECK(r && run_start(r) < 0 && strstr(nl_error(), "no validation split"), "patience without validation: %s", nl_error());
    run_free(r);
}

/* ------------------------------------------------------------------------- */
/* 5: subsets (hops, max_nodes) and bundles                                   */

/* the "epochs" array of a result JSON (a malloc'd copy) */
static char *epochs_of(const char *j) {
    const char *a = strstr(j, "\"epochs\":["), *b = a ? strstr(a, "]") : NULL;
    if (!a || !b) return dup("");
    char *p = malloc((size_t)(b - a) + 1);
    memcpy(p, a, (size_t)(b - a));
    p[b - a] = 0;
    return p;
}

static Run *bundle_run(const char *cfg, const uint8_t *buf, size_t len, const char *name) {
    Run *r = run_new(cfg);
    if (r && run_add_shard(r, 0, buf, len, name) < 0) {
        run_free(r);
        return NULL;
    }
    return r;
}

static void test_subsets(const Files *f) {
    const char *cfg = "dataset=aifb&model=rgcn&hops=2&max_nodes=1000&bases=10&hidden=8&opt=adam&lr=0.01&wd=0&"
                      "epochs=10&tsne=20&seed=1";
    char *first = NULL;
    for (int t = 0; t < 2; t++) {
        Run *r = aifb_run(cfg, f, 3);
        CHECK(r != NULL, "aifb subset run: %s", nl_error());
        if (!r) return;
        CHECK(finish(r) == RUN_DONE, "aifb subset run ends: %s", nl_error());
        const char *j = run_result_json(r);
        /* 176 labelled + 824 of the 1-hop neighbours (hop 1 does not fit: it is sampled) */
        CHECK(strstr(j, "\"nodes\":1000,") && strstr(j, "\"subset\":{\"hops\":2,\"max_nodes\":1000,\"seed\":1,") &&
              strstr(j, "\"labelled\":176,\"from_labelled\":176,\"from_hops\":824,\"from_fill\":0") &&
              strstr(j, "\"source_nodes\":8285,\"source_triples\":29043}") && strstr(j, "\"train\":140") &&
              strstr(j, "\"test\":36"), "result JSON of a subset run: %.400s", strstr(j, "\"dataset\""));
        /* chance is 15/36; the whole graph gives > 0.75 in 10 epochs, 1000 of its 8285 nodes ~0.8 */
        CHECK(r->hist[9].test_acc > 0.6f, "a 2-hop subset of AIFB learns: test accuracy %g", (double)r->hist[9].test_acc);
        if (!first) first = dup(j);
        else CHECK(!strcmp(first, j), "the same subset config gives the same bits");
        run_free(r);
    }
    /* a checkpoint of a subset run, restored into a fresh one (which cuts the same subset) */
    Run *a = aifb_run(cfg, f, 3), *b = aifb_run(cfg, f, 3);
    CHECK(a && b && run_start(b) == 0, "subset runs: %s", nl_error());
    if (a && b) {
        char *ja = restored_result(a, b, "subset run");
        if (first) CHECK(!strcmp(ja, first), "and as the run that never stopped");
        free(ja);
    }
    run_free(a), run_free(b);
    /* the same subgraph as a bundle (what graph-subset writes): the same epochs, bit for bit */
    KG g, sub;
    memset(&g, 0, sizeof g);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/aifb", data_dir());
    int *orig = NULL;
    SubReport rep;
    uint8_t *bund = NULL;
    size_t blen = 0;
    CHECK(kg_load_rgcn(&g, dir, "aifb") == 0, "load aifb: %s", nl_error());
    CHECK(kg_subgraph(&g, 2, 1000, 1, &sub, &orig, NULL, &rep) == 0, "subgraph: %s", nl_error());
    const char *man = "{\"format\":\"noisylab-kg-bundle\",\"version\":1,\"source\":\"aifb\",\"hops\":2,"
                      "\"max_nodes\":1000,\"seed\":1,\"nodes\":1000,\"note\":\"<\\\"weird\\\">\"}";
    CHECK(kg_bundle_write(&sub, orig, man, &bund, &blen) == 0, "bundle: %s", nl_error());
    kg_free(&g), kg_free(&sub), free(orig);
    const char *bcfg = "dataset=bundle&model=rgcn&bases=10&hidden=8&opt=adam&lr=0.01&wd=0&epochs=10&tsne=20&seed=1";
    Run *r = bund ? bundle_run(bcfg, bund, blen, "some/dir/aifb-sub.nlkg") : NULL;
    CHECK(r != NULL, "bundle run: %s", nl_error());
    if (r && first) {
        CHECK(finish(r) == RUN_DONE, "bundle run ends: %s", nl_error());
        const char *j = run_result_json(r);
        char *ea = epochs_of(first), *eb = epochs_of(j);
        CHECK(*ea && !strcmp(ea, eb), "a bundle of the subset trains to the same bits as the subset config");
        free(ea), free(eb);
        CHECK(strstr(j, "\"bundle\":{\"file\":\"aifb-sub.nlkg\",\"source\":\"aifb\",\"hops\":2,\"max_nodes\":1000,"
                        "\"seed\":1,\"nodes\":1000,\"triples\":null") != NULL,
              "the result echoes the manifest (no folder in the name, absent fields null): %.300s", strstr(j, "\"bundle\""));
    }
    run_free(r);
    /* bad input */
    r = aifb_run("dataset=aifb&model=rgcn&hops=2&max_nodes=100&epochs=2", f, 3);
    CHECK(r && run_start(r) < 0 && strstr(nl_error(), "config key 'max_nodes': 100 is smaller than the 176 labelled") &&
          strstr(nl_error(), "Hint: write max_nodes=176"), "cap below the labelled set: %s", nl_error());
    run_free(r);
    CHECK(run_new("dataset=aifb&model=rgcn&hops=2") == NULL && strstr(nl_error(), "config key 'hops'") &&
          strstr(nl_error(), "max_nodes"), "hops without max_nodes: %s", nl_error());
    CHECK(run_new("dataset=cora&model=gcn&max_nodes=500") == NULL && strstr(nl_error(), "config key 'max_nodes'") &&
          strstr(nl_error(), "for knowledge graphs"), "a subset of cora: %s", nl_error());
    CHECK(run_new("dataset=aifb&model=rgcn&max_nodes=100000001") == NULL && strstr(nl_error(), "out of range"),
          "max_nodes out of range: %s", nl_error());
    if (bund) {
        bund[blen / 2] ^= 0x20; /* a flipped byte inside a member: its CRC fails */
        r = bundle_run(bcfg, bund, blen, "flipped.nlkg");
        CHECK(r && run_start(r) < 0 && strstr(nl_error(), "flipped.nlkg") && strstr(nl_error(), "Hint:"),
              "a flipped byte: %s", nl_error());
        run_free(r);
        r = bundle_run(bcfg, bund, 40, "short.nlkg");
        CHECK(r && run_start(r) < 0 && strstr(nl_error(), "short.nlkg") && strstr(nl_error(), "Hint:"),
              "a truncated bundle: %s", nl_error());
        run_free(r);
    }
    CHECK(bundle_run(bcfg, f->buf[1], f->len[1], "trainingSet.tsv") == NULL &&
          strstr(nl_error(), "trainingSet.tsv is not a graph bundle"), "not a bundle: %s", nl_error());
    r = run_new(bcfg);
    CHECK(r && run_start(r) < 0 && strstr(nl_error(), "no bundle file was added") && strstr(nl_error(), "--graph"),
          "a bundle run without its file: %s", nl_error());
    run_free(r);
    free(bund);
    free(first);
}

int main(void) {
    rng_init(&rng, 7, 1);
    test_relgraph();
    test_layer();
    test_models();
    test_golden();
    Files f;
    char path[1024];
    int ok = 1;
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/aifb/%s", data_dir(), aifb_names[k]);
        f.buf[k] = kg_slurp(path, &f.len[k]);
        ok &= f.buf[k] != NULL;
    }
    if (!ok) printf("test_rgcn: SKIP runs: %s/aifb not found (set NOISYLAB_DATA_DIR)\n", data_dir());
    else test_runs(&f), test_subsets(&f);
    for (int k = 0; k < 3; k++) free(f.buf[k]);
    return check_summary("test_rgcn");
}
