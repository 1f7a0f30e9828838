/* test_graph.c: the graph half of the core (graph.h, gnn.h, pickle.h, planetoid.h, graph runs).

   1. CSR construction: canonical order whatever the edge order (a shuffled,
      duplicated edge list gives the same arrays), undirected, self loops
      removed or made exactly one, bad node ids refused.
   2. Normalisations: D^-1/2 (A+I) D^-1/2 against hand-computed values on a
      path graph; neighbour means sum to 1 per non-empty row.
   3. SpMM: the SIMD path against its scalar twin (bit for bit on units
      without FMA, to rounding with FMA) and both against a dense double
      reference, for both directions, feature widths 1..33 (not multiples of
      the vector width too), row strides wider than F, empty rows.
   4. Gradients: gcn, sage, gat (concat and mean heads, with a fixed attention
      dropout mask), ELU, and whole two-layer models (gnn_forward/backward)
      against central finite differences of L = sum(out * r); backward must
      accumulate (+=).
   5. Real data, when ../shared/datasets (or $NOISYLAB_DATA_DIR) holds cora and
      citeseer (else a printed skip): shapes and known values of the pickles,
      Citeseer's 15 isolated test nodes (zero features, label -1), the public
      split; truncated and corrupted copies give clear errors, never a crash.
   6. Runs: a few epochs of Cora through run_new/run_add_shard/run_step are
      bit-identical twice, restore from a checkpoint continues bit-identically,
      and the error paths (missing file, wrong name, image model) name the problem. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "gnn.h"
#include "graph.h"
#include "layers.h"
#include "pickle.h"
#include "planetoid.h"
#include "rng.h"
#include "simd.h"
#include "train.h"

static Rng rng;

static char *dup(const char *s) {
    char *p = malloc(strlen(s) + 1);
    strcpy(p, s);
    return p;
}

static float *randn(long n, float scale) {
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++) p[i] = scale * rng_normal(&rng);
    return p;
}

/* ------------------------------------------------------------------------- */
/* 1, 2: construction and normalisation                                       */

static void test_csr(void) {
    /* 0-1, 1-2, 2-0 listed with duplicates, a self loop and both directions; node 3 isolated */
    int src[] = {1, 0, 2, 2, 1, 0, 2};
    int dst[] = {2, 1, 0, 2, 0, 1, 1};
    Csr a, b;
    CHECK(csr_from_edges(&a, 4, src, dst, 7, 1, 0) == 0, "csr_from_edges: %s", nl_error());
    int rp[] = {0, 2, 4, 6, 6}, cl[] = {1, 2, 0, 2, 0, 1};
    CHECK(a.nnz == 6, "nnz %ld, want 6", a.nnz);
    CHECK(!memcmp(a.rowptr, rp, sizeof rp) && !memcmp(a.col, cl, sizeof cl), "canonical CSR without self loops");
    /* the same edges in reverse order, and as one direction only: the same arrays */
    int rs[7], rd[7];
    for (int e = 0; e < 7; e++) rs[e] = dst[6 - e], rd[e] = src[6 - e];
    CHECK(csr_from_edges(&b, 4, rs, rd, 7, 1, 0) == 0, "reversed: %s", nl_error());
    CHECK(b.nnz == a.nnz && !memcmp(a.rowptr, b.rowptr, sizeof rp) && !memcmp(a.col, b.col, sizeof cl),
          "edge order must not change the CSR");
    csr_free(&b);
    CHECK(csr_from_edges(&b, 4, src, dst, 7, 1, 1) == 0, "self loops: %s", nl_error());
    int rp2[] = {0, 3, 6, 9, 10}, cl2[] = {0, 1, 2, 0, 1, 2, 0, 1, 2, 3};
    CHECK(b.nnz == 10 && !memcmp(b.rowptr, rp2, sizeof rp2) && !memcmp(b.col, cl2, sizeof cl2),
          "exactly one self loop per node (the listed 2-2 counts once)");
    csr_free(&b);
    /* directed: only src -> dst */
    int s1[] = {0}, d1[] = {3};
    CHECK(csr_from_edges(&b, 4, s1, d1, 1, 0, 0) == 0 && b.nnz == 1 && b.rowptr[1] == 1 && b.col[0] == 3,
          "directed edge");
    csr_free(&b);
    int bad[] = {4};
    CHECK(csr_from_edges(&b, 4, s1, bad, 1, 1, 0) < 0 && strstr(nl_error(), "outside 0..3") &&
          strstr(nl_error(), "Hint:"), "a node id out of range is refused: %s", nl_error());
    CHECK(csr_from_edges(&b, 0, NULL, NULL, 0, 1, 1) == 0 && b.nnz == 0, "empty graph");
    csr_free(&b);
    csr_free(&a);

    /* normalisation on the path 0-1-2 with self loops: degrees 2, 3, 2 */
    int ps[] = {0, 1}, pd[] = {1, 2};
    CHECK(csr_from_edges(&a, 3, ps, pd, 2, 1, 1) == 0, "path");
    csr_norm_sym(&a);
    double want[] = {1.0 / 2, 1 / sqrt(6.0), 1 / sqrt(6.0), 1.0 / 3, 1 / sqrt(6.0), 1 / sqrt(6.0), 1.0 / 2};
    CHECK(a.nnz == 7, "path nnz");
    for (int k = 0; k < 7; k++) CHECK_CLOSE(a.val[k], want[k], 1e-6, "sym normalisation");
    csr_free(&a);
    CHECK(csr_from_edges(&a, 4, src, dst, 7, 1, 0) == 0, "mean");
    csr_norm_mean(&a);
    for (int i = 0; i < 3; i++) {
        double s = 0;
        for (int k = a.rowptr[i]; k < a.rowptr[i + 1]; k++) s += a.val[k];
        CHECK_CLOSE(s, 1.0, 1e-6, "mean row sums to 1");
    }
    CHECK(a.rowptr[4] - a.rowptr[3] == 0, "isolated node keeps an empty row");
    csr_free(&a);
}

/* ------------------------------------------------------------------------- */
/* 3: SpMM                                                                    */

static Csr random_graph(int n, int avg, int self_loops) {
    long m = (long)n * avg / 2;
    int *s = malloc(sizeof(int) * (size_t)(m + 1)), *d = malloc(sizeof(int) * (size_t)(m + 1));
    /* nodes n/2 .. n/2+2 get no edges: empty rows */
    for (long e = 0; e < m; e++) {
        do {
            s[e] = (int)rng_below(&rng, (uint32_t)n), d[e] = (int)rng_below(&rng, (uint32_t)n);
        } while (abs(s[e] - n / 2 - 1) <= 1 || abs(d[e] - n / 2 - 1) <= 1);
    }
    Csr a;
    csr_from_edges(&a, n, s, d, m, 1, self_loops);
    for (long k = 0; k < a.nnz; k++) a.val[k] = rng_normal(&rng);
    free(s), free(d);
    return a;
}

static void test_spmm(void) {
    const int widths[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 33};
    int exact = !VF_FMA;
    for (int wi = 0; wi < (int)(sizeof widths / sizeof widths[0]); wi++) {
        int F = widths[wi], n = 23 + wi, ld = F + (wi % 3); /* strides wider than F too */
        Csr a = random_graph(n, 4, wi % 2);
        if (wi % 2 == 0) CHECK(a.rowptr[n / 2 + 1] == a.rowptr[n / 2 + 2], "an empty row exists");
        float *x = randn((long)n * ld, 1), *o1 = randn((long)n * ld, 1), *o2 = malloc(sizeof(float) * (size_t)n * ld);
        double *ref = malloc(sizeof(double) * (size_t)n * ld);
        for (int trans = 0; trans < 2; trans++) {
            memcpy(o2, o1, sizeof(float) * (size_t)n * ld);
            for (long i = 0; i < (long)n * ld; i++) ref[i] = o1[i];
            for (int i = 0; i < n; i++)
                for (int k = a.rowptr[i]; k < a.rowptr[i + 1]; k++)
                    for (int f = 0; f < F; f++) {
                        int r = trans ? a.col[k] : i, c = trans ? i : a.col[k];
                        ref[(long)r * ld + f] += (double)a.val[k] * x[(long)c * ld + f];
                    }
            float *v = malloc(sizeof(float) * (size_t)n * ld);
            memcpy(v, o1, sizeof(float) * (size_t)n * ld);
            spmm(trans, &a, NULL, x, ld, v, ld, F);
            spmm_scalar(trans, &a, NULL, x, ld, o2, ld, F);
            double worst = 0, worst_ref = 0;
            int same = 1, pad_ok = 1;
            for (int i = 0; i < n; i++)
                for (int f = 0; f < ld; f++) {
                    long j = (long)i * ld + f;
                    if (f >= F) {
                        pad_ok &= v[j] == o1[j] && o2[j] == o1[j];
                        continue;
                    }
                    same &= v[j] == o2[j];
                    worst = fmax(worst, fabs(v[j] - o2[j]) / (1 + fabs(o2[j])));
                    worst_ref = fmax(worst_ref, fabs(v[j] - ref[j]) / (1 + fabs(ref[j])));
                }
            if (exact) CHECK(same, "spmm trans=%d F=%d: vector and scalar twin differ (no-FMA unit: must be bit-identical)", trans, F);
            else CHECK(worst < 1e-5, "spmm trans=%d F=%d: vector vs scalar %g", trans, F, worst);
            CHECK(worst_ref < 1e-5, "spmm trans=%d F=%d: vs double reference %g", trans, F, worst_ref);
            CHECK(pad_ok, "spmm trans=%d F=%d wrote beyond F inside a wider row", trans, F);
            free(v);
        }
        free(x), free(o1), free(o2), free(ref);
        csr_free(&a);
    }
}

/* ------------------------------------------------------------------------- */
/* 4: gradients                                                               */

/* a layer under test: forward writes out (nout floats) from the current params */
typedef struct {
    int kind; /* 0 gcn, 1 sage, 2 gat, 3 elu */
    Csr *a;
    int N, IN, OUT;
    GatShape gs;
    float *inp, *w, *w2, *as, *ad, *b, *cache, *out;
    long nout;
    Rng mask; /* the attention dropout stream: the same mask every forward */
} Lay;

static void lay_forward(Lay *l) {
    Rng m = l->mask;
    switch (l->kind) {
    case 0: gcn_forward(l->out, l->cache, l->a, l->inp, NULL, l->w, l->b, l->N, l->IN, l->OUT); break;
    case 1: sage_forward(l->out, l->cache, l->a, l->inp, NULL, l->w, l->w2, l->b, l->N, l->IN, l->OUT); break;
    case 2: gat_forward(l->out, l->cache, l->a, l->inp, NULL, l->w, l->as, l->ad, l->b, &l->gs, 1, &m); break;
    default: elu_forward(l->out, l->inp, l->nout);
    }
}

static double lay_loss(Lay *l, const float *r) {
    lay_forward(l);
    double s = 0;
    for (long i = 0; i < l->nout; i++) s += (double)l->out[i] * r[i];
    return s;
}

/* compares an analytic gradient g (n) of tensor t with central differences */
static void fd_check(Lay *l, const char *name, float *t, const float *g, long n, const float *r) {
    double worst = 0, gmax = 0;
    double *num = malloc(sizeof(double) * (size_t)n);
    for (long i = 0; i < n; i++) {
        float t0 = t[i];
        float h = 1e-2f * fmaxf(1.0f, fabsf(t0));
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
    for (long i = 0; i < n; i++) {
        double e = fabs(g[i] - num[i]) / fmax(fmax(fabs(g[i]), fabs(num[i])), 0.01 * gmax + 1e-6);
        worst = fmax(worst, e);
    }
    /* smooth layers with a 1e-2 step: O(h^2) truncation, well under 2% */
    CHECK(worst < 3e-2, "%s: max relative gradient error %.3g", name, worst);
    free(num);
}

static void test_layer_grads(void) {
    int N = 9, IN = 6, OUT = 5;
    Csr sym = random_graph(N, 3, 1), mean = random_graph(N, 3, 0);
    for (long k = 0; k < sym.nnz; k++) sym.val[k] = 1;
    csr_norm_sym(&sym);
    for (long k = 0; k < mean.nnz; k++) mean.val[k] = 1;
    csr_norm_mean(&mean);
    for (int kind = 0; kind < 5; kind++) {
        Lay l = {0};
        int concat = kind == 2, H = 3, F = kind == 2 ? 2 : 4;
        l.kind = kind > 3 ? 2 : kind;
        l.a = kind == 1 ? &mean : &sym;
        l.N = N, l.IN = IN, l.OUT = OUT;
        l.inp = randn((long)N * IN, 1);
        if (l.kind == 2) {
            l.gs = (GatShape){N, IN, H, F, concat, kind == 4 ? 0.3f : 0.0f};
            l.OUT = concat ? H * F : F;
            l.w = randn((long)H * F * IN, 0.5f);
            l.as = randn(H * F, 0.5f), l.ad = randn(H * F, 0.5f);
            l.b = randn(l.OUT, 0.5f);
            l.cache = calloc((size_t)gat_cache_size(&l.gs, sym.nnz), sizeof(float));
        } else {
            l.w = randn((long)OUT * IN, 0.5f), l.w2 = randn((long)OUT * IN, 0.5f), l.b = randn(OUT, 0.5f);
            l.cache = calloc((size_t)N * OUT, sizeof(float));
        }
        if (kind == 3) l.OUT = IN; /* elu: elementwise */
        l.nout = (long)N * l.OUT;
        rng_init(&l.mask, 7, 99);
        l.out = calloc((size_t)l.nout, sizeof(float));
        float *r = randn(l.nout, 1);
        long nw = l.kind == 2 ? (long)H * F * IN : (long)OUT * IN, nb = l.OUT;
        float *dinp = calloc((size_t)N * IN, sizeof(float)), *dw = calloc((size_t)nw, sizeof(float));
        float *dw2 = calloc((size_t)nw, sizeof(float)), *db = calloc((size_t)nb, sizeof(float));
        float *das = calloc((size_t)H * F, sizeof(float)), *dad = calloc((size_t)H * F, sizeof(float));
        float *scratch = calloc((size_t)(l.kind == 2 ? gat_scratch_size(&l.gs, sym.nnz) : (long)N * OUT), sizeof(float));
        /* backward twice: the second must add the same again (+=, not =) */
        for (int rep = 0; rep < 2; rep++) {
            lay_forward(&l);
            switch (kind) {
            case 0: gcn_backward(dinp, dw, db, scratch, r, l.a, l.inp, NULL, l.w, N, IN, OUT); break;
            case 1: sage_backward(dinp, dw, dw2, db, scratch, r, l.a, l.inp, NULL, l.w, l.w2, N, IN, OUT); break;
            case 3: elu_backward(dinp, r, l.inp, l.nout); break;
            default:
                gat_backward(dinp, dw, das, dad, db, scratch, r, l.cache, l.a, l.inp, NULL, l.w, l.as, l.ad, &l.gs);
            }
        }
        const char *names[] = {"gcn", "sage", "gat concat", "elu", "gat mean+attn dropout"};
        char what[96];
#define HALF(p, n) for (long i_ = 0; i_ < (n); i_++) (p)[i_] *= 0.5f
        HALF(dinp, (long)N * IN);
        snprintf(what, sizeof what, "%s dinp", names[kind]);
        fd_check(&l, what, l.inp, dinp, (long)N * IN, r);
        if (kind != 3) {
            HALF(dw, nw);
            HALF(db, nb);
            snprintf(what, sizeof what, "%s dweight", names[kind]);
            fd_check(&l, what, l.w, dw, nw, r);
            snprintf(what, sizeof what, "%s dbias", names[kind]);
            fd_check(&l, what, l.b, db, nb, r);
        }
        if (kind == 1) {
            HALF(dw2, nw);
            fd_check(&l, "sage dwneigh", l.w2, dw2, nw, r);
        }
        if (l.kind == 2) {
            HALF(das, H * F);
            HALF(dad, H * F);
            snprintf(what, sizeof what, "%s datt_src", names[kind]);
            fd_check(&l, what, l.as, das, H * F, r);
            snprintf(what, sizeof what, "%s datt_dst", names[kind]);
            fd_check(&l, what, l.ad, dad, H * F, r);
        }
        free(dinp), free(dw), free(dw2), free(db), free(das), free(dad), free(scratch), free(r);
        free(l.inp), free(l.w), free(l.w2), free(l.as), free(l.ad), free(l.b), free(l.cache), free(l.out);
    }
    csr_free(&sym), csr_free(&mean);
}

/* whole models: loss sum(logits * r) through gnn_forward/gnn_backward, dropout off */
static void test_model_grads(void) {
    const char *models[] = {"gcn", "sage", "gat"};
    int N = 12, IN = 7, K = 3;
    int src[20], dst[20];
    for (int e = 0; e < 20; e++) src[e] = (int)rng_below(&rng, N), dst[e] = (int)rng_below(&rng, N);
    float *x = randn((long)N * IN, 1), *r = randn((long)N * K, 1);
    for (int mi = 0; mi < 3; mi++) {
        Config c;
        char cfg[128];
        snprintf(cfg, sizeof cfg, "dataset=cora&model=%s&hidden=4&heads=2&out_heads=2", models[mi]);
        CHECK(config_parse(&c, cfg) == 0, "config %s: %s", cfg, nl_error());
        Gnn g;
        Model m;
        CHECK(gnn_build(&g, &m, &c, N, src, dst, 20, IN, K) == 0, "gnn_build %s: %s", models[mi], nl_error());
        Rng init;
        rng_init(&init, 1, STREAM_INIT);
        gnn_init(&g, &m, &init);
        /* non-zero biases, so their gradients are exercised from a generic point */
        for (long k = 0; k < m.nparams; k++) m.params[k] += 0.1f * rng_normal(&rng);
        memset(m.grads, 0, sizeof(float) * (size_t)m.nparams);
        gnn_forward(&g, &m, x, 1, NULL);
        memcpy(g.dlogits, r, sizeof(float) * (size_t)N * K);
        gnn_backward(&g, &m);
        double worst = 0;
        for (int t = 0; t < 40; t++) {
            long k = (long)rng_below(&rng, (uint32_t)m.nparams);
            float p0 = m.params[k], h = 1e-3f;
            double l[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                m.params[k] = p0 + (sgn ? -h : h);
                const float *z = gnn_forward(&g, &m, x, 1, NULL);
                double s = 0;
                for (long i = 0; i < (long)N * K; i++) s += (double)z[i] * r[i];
                l[sgn] = s;
            }
            m.params[k] = p0;
            double num = (l[0] - l[1]) / (2 * h), ana = m.grads[k];
            double e = fabs(num - ana) / fmax(fmax(fabs(num), fabs(ana)), 0.05);
            if (getenv("NL_VERBOSE") && e > 0.01) printf("%s param %ld: num %g ana %g\n", models[mi], k, num, ana);
            worst = fmax(worst, e);
        }
        /* ReLU kinks may be crossed by a step: the whole-model bound is looser */
        CHECK(worst < 5e-2, "model %s: max relative gradient error %.3g", models[mi], worst);
        /* the sparse input path: the same logits and gradients as the dense one,
           and with dropout the same masks (the draws go to the non-zeros in order) */
        float *dense_logits = malloc(sizeof(float) * (size_t)N * K), *dense_grads = malloc(sizeof(float) * (size_t)m.nparams);
        Rng d1;
        rng_init(&d1, 5, STREAM_DROPOUT);
        g.p = 0.5f;
        memcpy(dense_logits, gnn_forward(&g, &m, x, 1, &d1), sizeof(float) * (size_t)N * K);
        memset(m.grads, 0, sizeof(float) * (size_t)m.nparams);
        gnn_backward(&g, &m);
        memcpy(dense_grads, m.grads, sizeof(float) * (size_t)m.nparams);
        CHECK(gnn_set_sparse_input(&g, x) == 0 && g.xs.nnz == (long)N * IN, "sparse input: %s", nl_error());
        rng_init(&d1, 5, STREAM_DROPOUT);
        const float *zs = gnn_forward(&g, &m, NULL, 1, &d1);
        memset(m.grads, 0, sizeof(float) * (size_t)m.nparams);
        gnn_backward(&g, &m);
        double dl = 0, dg = 0;
        for (long i = 0; i < (long)N * K; i++) dl = fmax(dl, fabs(zs[i] - dense_logits[i]) / (1 + fabs(dense_logits[i])));
        for (long k = 0; k < m.nparams; k++) dg = fmax(dg, fabs(m.grads[k] - dense_grads[k]) / (1 + fabs(dense_grads[k])));
        CHECK(dl < 1e-5 && dg < 1e-4, "model %s: sparse vs dense input: logits %g, grads %g", models[mi], dl, dg);
        free(dense_logits), free(dense_grads);
        gnn_free(&g);
        model_free(&m);
    }
    free(x), free(r);
}

/* ------------------------------------------------------------------------- */
/* 5: real files                                                              */

static const char *data_dir(void) {
    const char *d = getenv("NOISYLAB_DATA_DIR");
    return d && *d ? d : "../shared/datasets";
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)(n > 0 ? n : 1));
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) free(b), b = NULL;
    fclose(f);
    *len = (size_t)n;
    return b;
}

typedef struct {
    uint8_t *buf[PL_FILES];
    size_t len[PL_FILES];
    char path[PL_FILES][512];
} Files;

static int load_files(Files *f, const char *name) {
    for (int p = 0; p < PL_FILES; p++) {
        snprintf(f->path[p], sizeof f->path[p], "%s/%s/ind.%s.%s", data_dir(), name, name, planetoid_parts[p]);
        f->buf[p] = slurp(f->path[p], &f->len[p]);
        if (!f->buf[p]) {
            for (int q = 0; q < p; q++) free(f->buf[q]);
            return -1;
        }
    }
    return 0;
}

static void free_files(Files *f) {
    for (int p = 0; p < PL_FILES; p++) free(f->buf[p]);
}

static void test_pickles(const Files *f) {
    int R, C, *ip, *ix;
    float *dv;
    CHECK(pickle_csr(f->buf[PL_X], f->len[PL_X], "x", &R, &C, &ip, &ix, &dv) == 0, "cora x: %s", nl_error());
    CHECK(R == 140 && C == 1433 && ip[140] == 2647, "cora x is 140 x 1433 with 2647 entries (%d x %d, %d)", R, C, ip[R]);
    CHECK(dv[0] == 1.0f && dv[2646] == 1.0f, "cora features are 0/1");
    free(ip), free(ix), free(dv);
    CHECK(pickle_csr(f->buf[PL_ALLX], f->len[PL_ALLX], "allx", &R, &C, &ip, &ix, &dv) == 0, "cora allx: %s", nl_error());
    CHECK(R == 1708 && ip[1] == 9 && ip[2] == 32 && ix[0] == 19 && ix[1] == 81 && ix[2] == 146 && ix[3] == 315,
          "cora allx: row 0 has 9 entries starting at columns 19, 81, 146, 315");
    CHECK(ip[R] == 31261, "cora allx has 31261 entries (%d)", ip[R]);
    free(ip), free(ix), free(dv);
    int *y;
    CHECK(pickle_int_matrix(f->buf[PL_ALLY], f->len[PL_ALLY], "ally", &R, &C, &y) == 0, "cora ally: %s", nl_error());
    CHECK(R == 1708 && C == 7 && y[3] == 1 && y[0] == 0, "cora ally is 1708 x 7, row 0 is class 3");
    free(y);
    CHECK(pickle_int_matrix(f->buf[PL_Y], f->len[PL_Y], "y", &R, &C, &y) == 0 && R == 140 && C == 7, "cora y 140 x 7");
    free(y);
    int *s, *d, nodes;
    long m;
    CHECK(pickle_adjacency(f->buf[PL_GRAPH], f->len[PL_GRAPH], "graph", &s, &d, &m, &nodes) == 0, "cora graph: %s", nl_error());
    CHECK(m == 10858 && nodes == 2708, "cora graph: 10858 entries over 2708 nodes (%ld, %d)", m, nodes);
    CHECK(s[0] == 0 && d[0] == 633 && d[1] == 1862 && d[2] == 2582 && s[3] == 1 && d[3] == 2,
          "cora graph starts 0: [633, 1862, 2582], 1: [2, ...]");
    free(s), free(d);
    /* a csr is not an array, an array is not a dict: clear refusals */
    CHECK(pickle_int_matrix(f->buf[PL_X], f->len[PL_X], "ind.cora.x", &R, &C, &y) < 0 &&
          strstr(nl_error(), "ind.cora.x") && strstr(nl_error(), "numpy array") && strstr(nl_error(), "Hint:"),
          "x read as an array: %s", nl_error());
    CHECK(pickle_adjacency(f->buf[PL_Y], f->len[PL_Y], "ind.cora.y", &s, &d, &m, &nodes) < 0 &&
          strstr(nl_error(), "adjacency"), "y read as a graph: %s", nl_error());
    CHECK(pickle_csr(f->buf[PL_GRAPH], f->len[PL_GRAPH], "ind.cora.graph", &R, &C, &ip, &ix, &dv) < 0 &&
          strstr(nl_error(), "csr_matrix"), "graph read as csr: %s", nl_error());
}

/* every prefix of a small file, prefixes of the big ones, and byte flips:
   an error with the file's name and a hint, or (a flip in payload bytes) success */
static void test_damaged(const Files *f) {
    int R, C, *y, *ip, *ix, *s, *d, nodes;
    float *dv;
    long m;
    size_t n = f->len[PL_Y];
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        if (pickle_int_matrix(f->buf[PL_Y], k, "ind.cora.y", &R, &C, &y) == 0) {
            free(y);
            bad++;
        } else if (!strstr(nl_error(), "ind.cora.y") || !strstr(nl_error(), "Hint:")) {
            bad++;
        }
    }
    CHECK(bad == 0, "%d truncations of ind.cora.y were accepted or unclear", bad);
    CHECK(pickle_int_matrix(f->buf[PL_Y], n - 1, "ind.cora.y", &R, &C, &y) < 0 && strstr(nl_error(), "truncated"),
          "the message says truncated: %s", nl_error());
    bad = 0;
    for (size_t k = 0; k < f->len[PL_GRAPH]; k += 97)
        if (pickle_adjacency(f->buf[PL_GRAPH], k, "ind.cora.graph", &s, &d, &m, &nodes) == 0) free(s), free(d), bad++;
    for (size_t k = 0; k < f->len[PL_X]; k += 89)
        if (pickle_csr(f->buf[PL_X], k, "ind.cora.x", &R, &C, &ip, &ix, &dv) == 0) free(ip), free(ix), free(dv), bad++;
    CHECK(bad == 0, "%d truncations of graph / x were accepted", bad);
    /* random byte flips: whatever happens, no crash and no leak (ASan) */
    uint8_t *copy = malloc(f->len[PL_X]);
    int ok = 0, refused = 0;
    for (int t = 0; t < 300; t++) {
        memcpy(copy, f->buf[PL_X], f->len[PL_X]);
        for (int j = 0; j < 3; j++) copy[rng_below(&rng, (uint32_t)(t % 2 ? 300 : f->len[PL_X]))] ^= (uint8_t)(1 + rng_below(&rng, 255));
        if (pickle_csr(copy, f->len[PL_X], "ind.cora.x", &R, &C, &ip, &ix, &dv) == 0) {
            for (int r = 0; r < R; r++)
                for (int k = ip[r]; k < ip[r + 1]; k++) ok += ix[k] >= 0 && ix[k] < C ? 0 : 1000000;
            free(ip), free(ix), free(dv);
        } else {
            refused++;
            if (!strstr(nl_error(), "Hint:")) ok += 1000000;
        }
    }
    CHECK(ok < 1000000 && refused > 0, "corrupted copies: indices checked, errors with hints (refused %d)", refused);
    /* an unsupported opcode is named */
    memcpy(copy, f->buf[PL_X], f->len[PL_X]);
    copy[2] = 'Z';
    CHECK(pickle_csr(copy, f->len[PL_X], "ind.cora.x", &R, &C, &ip, &ix, &dv) < 0 && strstr(nl_error(), "opcode 0x5a") &&
          strstr(nl_error(), "byte 2"), "unsupported opcode: %s", nl_error());
    copy[1] = 4;
    CHECK(pickle_csr(copy, f->len[PL_X], "ind.cora.x", &R, &C, &ip, &ix, &dv) < 0 && strstr(nl_error(), "protocol"),
          "protocol 4: %s", nl_error());
    free(copy);
}

static void test_planetoid(const Files *cora, const Files *cite) {
    Planetoid g, h;
    const uint8_t *files[PL_FILES];
    for (int p = 0; p < PL_FILES; p++) files[p] = cora->buf[p];
    CHECK(planetoid_load(&g, "cora", files, cora->len) == 0, "cora: %s", nl_error());
    CHECK(g.n == 2708 && g.F == 1433 && g.K == 7 && g.m == 10858, "cora: 2708 nodes, 1433 features, 7 classes");
    CHECK(g.ntrain == 140 && g.nval == 500 && g.ntest == 1000, "cora public split 140/500/1000");
    CHECK(g.train[0] == 0 && g.train[139] == 139 && g.val[0] == 140 && g.val[499] == 639 &&
          g.test[0] == 1708 && g.test[999] == 2707, "cora split ids");
    long counts[7] = {0};
    for (int i = 0; i < 140; i++) counts[g.label[i]]++;
    int twenty = 1;
    for (int k = 0; k < 7; k++) twenty &= counts[k] == 20;
    CHECK(twenty, "20 training nodes per class");
    CHECK(g.label[0] == 3, "node 0 is class 3");
    /* test.index line 1 says node 2692 holds tx row 0: 15 features, class 3 */
    int nz = 0;
    double sum = 0;
    for (int f = 0; f < g.F; f++) nz += g.x[2692L * g.F + f] != 0, sum += g.x[2692L * g.F + f];
    CHECK(nz == 15 && fabs(sum - 1) < 1e-5 && g.label[2692] == 3, "node 2692 = tx row 0 (nnz %d, class %d)", nz, g.label[2692]);
    nz = 0;
    for (int f = 0; f < g.F; f++) nz += g.x[f] != 0;
    CHECK(nz == 9 && fabsf(g.x[19] - 1.0f / 9) < 1e-7f, "node 0: 9 features of 1/9 after row normalisation");
    /* the same bytes give the same graph */
    CHECK(planetoid_load(&h, "cora", files, cora->len) == 0 && !memcmp(g.x, h.x, sizeof(float) * (size_t)g.n * g.F) &&
          !memcmp(g.label, h.label, sizeof(int) * (size_t)g.n), "deterministic load");
    planetoid_free(&h);
    /* a missing file, and files of two datasets mixed */
    if (cite) {
        const uint8_t *mixed[PL_FILES];
        size_t ml[PL_FILES];
        for (int p = 0; p < PL_FILES; p++) mixed[p] = cora->buf[p], ml[p] = cora->len[p];
        mixed[PL_TX] = cite->buf[PL_TX], ml[PL_TX] = cite->len[PL_TX];
        CHECK(planetoid_load(&h, "cora", mixed, ml) < 0 && strstr(nl_error(), "ind.cora.tx") &&
              strstr(nl_error(), "Hint:"), "mixed datasets: %s", nl_error());
    }
    files[PL_GRAPH] = NULL;
    CHECK(planetoid_load(&h, "cora", files, cora->len) < 0 && strstr(nl_error(), "ind.cora.graph is missing"),
          "missing file: %s", nl_error());
    planetoid_free(&g);
    if (!cite) return;
    for (int p = 0; p < PL_FILES; p++) files[p] = cite->buf[p];
    CHECK(planetoid_load(&g, "citeseer", files, cite->len) == 0, "citeseer: %s", nl_error());
    CHECK(g.n == 3327 && g.F == 3703 && g.K == 6, "citeseer: 3327 nodes, 3703 features, 6 classes");
    CHECK(g.ntrain == 120 && g.nval == 500 && g.ntest == 1000, "citeseer public split 120/500/1000");
    /* the isolated test nodes: ids in 2312..3326 that test.index does not list */
    int missing = 0, zero_ok = 1;
    for (int i = 2312; i < 3327; i++)
        if (g.label[i] < 0) {
            missing++;
            for (int f = 0; f < g.F; f++) zero_ok &= g.x[(long)i * g.F + f] == 0.0f;
        }
    CHECK(missing == 15 && zero_ok, "citeseer: 15 isolated test nodes with zero features and label -1 (%d)", missing);
    CHECK(g.test[0] == 2312 && g.label[2488] == 2, "citeseer: tx row 0 is node 2488, class 2");
    planetoid_free(&g);
}

/* ------------------------------------------------------------------------- */
/* 6: runs                                                                    */

static Run *graph_run(const char *cfg, const Files *f) {
    Run *r = run_new(cfg);
    if (!r) return NULL;
    for (int p = 0; p < PL_FILES; p++)
        if (run_add_shard(r, 0, f->buf[p], f->len[p], f->path[p]) < 0) {
            run_free(r);
            return NULL;
        }
    return r;
}

static void test_runs(const Files *f) {
    const char *cfg = "dataset=cora&model=gcn&opt=adam&lr=0.01&dropout=0.5&epochs=6&tsne=20&noise=0.2&seed=3";
    char *first = NULL;
    for (int t = 0; t < 2; t++) {
        Run *r = graph_run(cfg, f);
        CHECK(r != NULL, "graph run: %s", nl_error());
        if (!r) return;
        int st;
        while ((st = run_step(r, 1)) != RUN_DONE && st >= 0 && st != RUN_DIVERGED) {}
        CHECK(st == RUN_DONE, "run ends: %d %s", st, nl_error());
        const char *j = run_result_json(r);
        CHECK(strstr(j, "\"nodes\":2708") && strstr(j, "\"edges\":13264") && strstr(j, "\"final\"") &&
              strstr(j, "\"embedding\"") && strstr(j, "\"realised_rate\":0.2"), "result JSON of a graph run");
        CHECK(r->hist[5].train_loss < r->hist[0].train_loss - 0.01f, "6 epochs of GCN lower the loss (%g -> %g)",
              (double)r->hist[0].train_loss, (double)r->hist[5].train_loss);
        if (!first) first = dup(j);
        else CHECK(!strcmp(first, j), "the same config gives the same bits");
        run_free(r);
    }
    free(first);
    /* checkpoint after 3 epochs, restore into a fresh run: the same end */
    const char *cfg2 = "dataset=cora&model=gat&hidden=4&heads=2&opt=adam&lr=0.005&dropout=0.6&attn_dropout=0.6&epochs=5&tsne=0&val=100";
    CHECK(run_new(cfg2) == NULL && strstr(nl_error(), "public Planetoid split"), "val with a graph: %s", nl_error());
    cfg2 = "dataset=cora&model=gat&hidden=4&heads=2&opt=adam&lr=0.005&dropout=0.6&attn_dropout=0.6&epochs=5&tsne=0&patience=2";
    Run *a = graph_run(cfg2, f), *b = graph_run(cfg2, f);
    CHECK(a && b, "gat runs: %s", nl_error());
    if (a && b) {
        for (int e = 0; e < 3; e++) run_step(a, 1);
        size_t len;
        const uint8_t *ck = run_checkpoint(a, &len);
        uint8_t *copy = malloc(len);
        memcpy(copy, ck, len);
        CHECK(run_restore(b, copy, len) == 0, "restore: %s", nl_error());
        free(copy);
        while (a->status != RUN_DONE && a->status != RUN_DIVERGED && run_step(a, 1) >= 0) {}
        while (b->status != RUN_DONE && b->status != RUN_DIVERGED && run_step(b, 1) >= 0) {}
        char *ja = dup(run_result_json(a));
        CHECK(!strcmp(ja, run_result_json(b)), "a restored graph run ends bit-identically");
        free(ja);
        const char *gc = run_gradcheck_json(a);
        CHECK(gc && strstr(gc, "\"kind\":\"gat.att_src\""), "gradcheck of a graph run: %s", gc ? gc : nl_error());
        /* attention gradients here are ~1e-5, below float32 difference noise, so the
           relative errors mean little; the absolute ones must stay at noise level */
        double worst_abs = 0;
        for (const char *p = gc; p && (p = strstr(p, "\"max_abs_err\":")); p++) worst_abs = fmax(worst_abs, atof(p + 14));
        CHECK(gc && worst_abs < 2e-4, "gradcheck absolute errors at noise level (%g)", worst_abs);
    }
    run_free(a), run_free(b);
    /* error paths */
    CHECK(run_new("dataset=cora") == NULL && strstr(nl_error(), "model=gcn"), "image model on a graph: %s", nl_error());
    CHECK(run_new("dataset=mnist&model=gat") == NULL && strstr(nl_error(), "dataset=cora"), "graph model on images: %s", nl_error());
    Run *r = run_new("dataset=cora&model=sage");
    CHECK(run_add_shard(r, 0, f->buf[0], f->len[0], "x.bin") < 0 && strstr(nl_error(), "not one of the Planetoid files"),
          "a file of another name: %s", nl_error());
    CHECK(run_add_shard(r, 0, f->buf[0], f->len[0], "ind.cora.x") == 0, "add x");
    CHECK(run_start(r) < 0 && strstr(nl_error(), "ind.cora.y was not added"), "missing files: %s", nl_error());
    run_free(r);
    /* every loss applies to the training nodes: one epoch each stays finite */
    const char *losses[] = {"nce+rce", "gce", "sce", "cb-focal", "triplet", "cosine-embedding"};
    for (int k = 0; k < 6; k++) {
        char c[160];
        snprintf(c, sizeof c, "dataset=cora&model=gcn&opt=adam&epochs=2&tsne=0&loss=%s&noise=0.4&noise_type=pair", losses[k]);
        r = graph_run(c, f);
        int st = r ? run_step(r, 1) : -1;
        st = st >= 0 ? run_step(r, 1) : st;
        CHECK(st == RUN_DONE && isfinite(r->hist[1].train_loss), "loss %s on a graph: %d %s", losses[k], st, nl_error());
        run_free(r);
    }
}

/* the fuzz seeds are pickles assembled by tests/fuzz/seeds/make_seeds.py, an
   encoder written independently of the reader: it must read back what they say */
static void test_seed_pickles(void) {
    size_t n;
    uint8_t *b = slurp("tests/fuzz/seeds/fuzz_pickle/csr.pkl", &n);
    if (!b) {
        printf("test_graph: SKIP seed pickles (run from the repository root)\n");
        return;
    }
    int R, C, *ip, *ix, *y, *s, *d, nodes;
    float *dv;
    long m;
    CHECK(pickle_csr(b, n, "csr.pkl", &R, &C, &ip, &ix, &dv) == 0, "csr seed: %s", nl_error());
    int wp[] = {0, 3, 3, 4, 4, 8}, wi[] = {3, 17, 299, 0, 5, 6, 7, 8};
    CHECK(R == 5 && C == 300 && !memcmp(ip, wp, sizeof wp) && !memcmp(ix, wi, sizeof wi) && dv[7] == 1.0f, "csr seed values");
    free(ip), free(ix), free(dv), free(b);
    b = slurp("tests/fuzz/seeds/fuzz_pickle/labels.pkl", &n);
    CHECK(b && pickle_int_matrix(b, n, "labels.pkl", &R, &C, &y) == 0, "labels seed: %s", nl_error());
    int wy[] = {0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0};
    CHECK(R == 4 && C == 3 && !memcmp(y, wy, sizeof wy), "labels seed values");
    free(y), free(b);
    b = slurp("tests/fuzz/seeds/fuzz_pickle/graph.pkl", &n);
    CHECK(b && pickle_adjacency(b, n, "graph.pkl", &s, &d, &m, &nodes) == 0, "graph seed: %s", nl_error());
    int ws[] = {0, 0, 1, 2, 2, 2, 300}, wd[] = {1, 2, 0, 0, 300, 2, 2};
    CHECK(m == 7 && nodes == 301 && !memcmp(s, ws, sizeof ws) && !memcmp(d, wd, sizeof wd), "graph seed values");
    free(s), free(d), free(b);
}

int main(void) {
    rng_init(&rng, 42, 1);
    test_seed_pickles();
    test_csr();
    test_spmm();
    test_layer_grads();
    test_model_grads();
    Files cora, cite;
    if (load_files(&cora, "cora") < 0) {
        printf("test_graph: SKIP real-data tests: %s/cora not found (set NOISYLAB_DATA_DIR)\n", data_dir());
    } else {
        int have_cite = load_files(&cite, "citeseer") == 0;
        if (!have_cite) printf("test_graph: SKIP citeseer: %s/citeseer not found\n", data_dir());
        test_pickles(&cora);
        test_damaged(&cora);
        test_planetoid(&cora, have_cite ? &cite : NULL);
        test_runs(&cora);
        free_files(&cora);
        if (have_cite) free_files(&cite);
    }
    return check_summary("test_graph");
}
