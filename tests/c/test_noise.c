/* test_noise.c: label-noise models and class imbalance (core/noise.c).

   The exact-count models (sym, pair, asym) are checked cell by cell against
   floor(eta * n_c); the random ones (sym-incl, custom) with bounds several
   standard deviations wide at a fixed seed, so they are not flaky but fail
   when the model is wrong (e.g. sym-incl implemented as exclusive gives 0.5
   where 0.45 is expected). Class sizes are deliberately unequal, so a
   per-dataset count (APL's int(eta*N)/K) would not pass as per-class. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "err.h"
#include "noise.h"

#define K 10

static Config cfg(const char *s) {
    Config c;
    if (config_parse(&c, s) < 0) {
        fprintf(stderr, "config %s: %s\n", s, nl_error());
        exit(2);
    }
    return c;
}

/* n_c = base + step * c samples of class c, in a shuffled order */
static int *make_labels(int base, int step, int *n) {
    int total = 0;
    for (int c = 0; c < K; c++) total += base + step * c;
    int *y = malloc(sizeof(int) * (size_t)total), m = 0;
    for (int c = 0; c < K; c++)
        for (int i = 0; i < base + step * c; i++) y[m++] = c;
    Rng r;
    rng_init(&r, 99, STREAM_SPLIT);
    rng_shuffle(&r, y, total);
    *n = total;
    return y;
}

static int has_hint(void) { return strstr(nl_error(), "Hint:") != NULL; }

static int run(const char *cs, const char *dataset, int k, const int *clean, int n, int *given,
               long *counts, unsigned seed) {
    Config c = cfg(cs);
    Rng r;
    rng_init(&r, seed, STREAM_NOISE);
    return noise_apply(&c, dataset, k, clean, n, given, &r, counts);
}

/* every count matches target: the diagonal keeps n_c - m_c, cell (c, t[c])
   gets m_c = floor(eta n_c), everything else 0 (t[c] == c: row untouched) */
static void check_exact_map(const long *counts, const int *t, double eta, const char *what) {
    int bad = 0;
    for (int c = 0; c < K; c++) {
        long nc = 0;
        for (int j = 0; j < K; j++) nc += counts[c * K + j];
        long m = t[c] == c ? 0 : (long)floor(eta * nc + 1e-9);
        for (int j = 0; j < K; j++) {
            long want = j == c ? nc - m : j == t[c] ? m : 0;
            if (counts[c * K + j] != want) {
                if (!bad) printf("  %s: cell (%d, %d) = %ld, want %ld\n", what, c, j, counts[c * K + j], want);
                bad++;
            }
        }
    }
    CHECK(bad == 0, "%s: %d cells differ from floor(eta * n_c)", what, bad);
}

static void test_sym(void) {
    int n, *clean = make_labels(1500, 100, &n);
    int *given = malloc(sizeof(int) * n);
    long counts[K * K];
    const double etas[] = {0.2, 0.4, 0.8};
    for (int e = 0; e < 3; e++) {
        char cs[64];
        snprintf(cs, sizeof cs, "noise=%g&noise_type=sym", etas[e]);
        CHECK(run(cs, "cifar10", K, clean, n, given, counts, 1) == 0, "sym: %s", nl_error());
        long wrong = 0, bad_diag = 0, min_off = 1 << 30, max_off = 0;
        for (int c = 0; c < K; c++) {
            long nc = 0, m = (long)floor(etas[e] * (1500 + 100 * c) + 1e-9);
            for (int j = 0; j < K; j++) nc += counts[c * K + j];
            bad_diag += counts[c * K + c] != nc - m;
            for (int j = 0; j < K; j++)
                if (j != c) {
                    wrong += counts[c * K + j];
                    if (counts[c * K + j] < min_off) min_off = counts[c * K + j];
                    if (counts[c * K + j] > max_off) max_off = counts[c * K + j];
                }
        }
        double frac = (double)wrong / n;
        printf("  sym eta=%.1f: wrong fraction %.5f, off-diagonal cells %ld..%ld\n", etas[e], frac,
               min_off, max_off);
        CHECK(bad_diag == 0, "sym eta=%g: %ld classes do not keep n_c - floor(eta n_c)", etas[e], bad_diag);
        CHECK(fabs(frac - etas[e]) <= (double)K / n, "sym eta=%g: wrong fraction %.5f", etas[e], frac);
        /* uniform over the 9 other classes: 33..213 expected per cell (rows of
           1500..2400), sd <= 12; the band [0.3 x smallest, 1.5 x largest
           expected] is >= 4 sd wide, fixed by the seed, and fails when the
           flips go to a few classes only */
        long lo = (long)(etas[e] * 1500 / 9 * 0.3), hi = (long)(etas[e] * 2400 / 9 * 1.5);
        CHECK(min_off >= lo && max_off <= hi, "sym eta=%g: off-diagonal %ld..%ld not uniform-like (%ld..%ld)",
              etas[e], min_off, max_off, lo, hi);
    }
    /* the chosen samples are exactly the changed ones, and nothing else changed */
    CHECK(run("noise=0.4&noise_type=sym", "cifar10", K, clean, n, given, counts, 5) == 0, "sym");
    long changed = 0, diag = 0;
    for (int i = 0; i < n; i++) changed += given[i] != clean[i];
    for (int c = 0; c < K; c++) diag += counts[c * K + c];
    CHECK(changed == n - diag, "sym: %ld changed labels but counts say %ld", changed, n - diag);
    free(clean), free(given);
}

static void test_sym_incl(void) {
    int n, *clean = make_labels(2000, 0, &n);
    int *given = malloc(sizeof(int) * n);
    long counts[K * K];
    CHECK(run("noise=0.5&noise_type=sym-incl", "cifar10", K, clean, n, given, counts, 3) == 0, "sym-incl");
    long wrong = 0;
    for (int i = 0; i < n; i++) wrong += given[i] != clean[i];
    double frac = (double)wrong / n, want = 0.5 * (K - 1) / K;
    /* sd = sqrt(0.45 * 0.55 / 20000) = 0.0035; exclusive noise would give 0.5 */
    printf("  sym-incl eta=0.5: wrong fraction %.4f (expected %.4f)\n", frac, want);
    CHECK(fabs(frac - want) < 0.02, "sym-incl: wrong fraction %.4f, want %.4f", frac, want);
    free(clean), free(given);
}

static void test_pair_asym(void) {
    int n, *clean = make_labels(1000, 50, &n);
    int *given = malloc(sizeof(int) * n);
    long counts[K * K];
    int t[K];
    for (int c = 0; c < K; c++) t[c] = (c + 1) % K;
    CHECK(run("noise=0.3&noise_type=pair", "mnist", K, clean, n, given, counts, 1) == 0, "pair");
    check_exact_map(counts, t, 0.3, "pair eta=0.3");

    const char *sets[] = {"cifar10", "mnist", "fashion-mnist", "synth"};
    const int want[4][K] = {{0, 1, 0, 5, 7, 3, 6, 7, 8, 1},
                            {0, 1, 7, 8, 4, 6, 5, 1, 8, 9},
                            {6, 1, 4, 3, 4, 7, 0, 7, 8, 7},
                            {0, 1, 2, 3, 0, 6, 5, 7, 1, 8}};
    for (int s = 0; s < 4; s++) {
        CHECK(noise_asym_map(sets[s], K, t) == 0, "asym map %s", sets[s]);
        CHECK(!memcmp(t, want[s], sizeof t), "asym map of %s differs from the documented one", sets[s]);
        const double etas[] = {0.1, 0.4};
        for (int e = 0; e < 2; e++) {
            char cs[64], what[64];
            snprintf(cs, sizeof cs, "noise=%g&noise_type=asym", etas[e]);
            snprintf(what, sizeof what, "asym %s eta=%g", sets[s], etas[e]);
            CHECK(run(cs, sets[s], K, clean, n, given, counts, 2) == 0, "%s: %s", what, nl_error());
            /* includes: unmapped rows untouched, flips only to the target, and
               cat<->dog both exactly floor(eta n_c) of the ORIGINAL classes
               (APL's sequential code would move fewer cats) */
            check_exact_map(counts, t, etas[e], what);
        }
    }
    /* per sample: a cat is either still a cat or a dog, never anything else */
    CHECK(run("noise=0.4&noise_type=asym", "cifar10", K, clean, n, given, counts, 2) == 0, "asym");
    int odd = 0;
    for (int i = 0; i < n; i++) odd += clean[i] == 3 && given[i] != 3 && given[i] != 5;
    CHECK(odd == 0, "asym: %d cats became neither cat nor dog", odd);
    printf("  asym cifar10 eta=0.4: cat->dog %ld, dog->cat %ld (of %d, %d)\n", counts[3 * K + 5],
           counts[5 * K + 3], 1000 + 150, 1000 + 250);

    /* refusals */
    CHECK(run("noise=0.2&noise_type=asym", "cifar100", K, clean, n, given, counts, 2) < 0 && has_hint() &&
              strstr(nl_error(), "cifar100"),
          "asym on an unknown dataset must be refused: %s", nl_error());
    int small[6] = {0, 1, 2, 3, 4, 0}, g6[6];
    long c5[25];
    CHECK(run("noise=0.2&noise_type=asym", "cifar10", 5, small, 6, g6, c5, 2) < 0 && has_hint(),
          "asym with K=5 on cifar10 must be refused: %s", nl_error());
    CHECK(run("noise=0.2&noise_type=sym", "cifar10", 5, (int[]){0, 7}, 2, g6, c5, 2) < 0 && has_hint(),
          "a label outside 0..K-1 must be refused: %s", nl_error());
    free(clean), free(given);
}

static void test_custom(void) {
    const int k = 3;
    int n = 30000, *clean = malloc(sizeof(int) * n), *given = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) clean[i] = i % k;
    long counts[9];
    const char *m = "noise_type=custom&noise_matrix=0.7,0.2,0.1;0.1,0.8,0.1;0,0.5,0.5";
    CHECK(run(m, "synth", k, clean, n, given, counts, 4) == 0, "custom: %s", nl_error());
    const double P[9] = {0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0, 0.5, 0.5};
    double worst = 0;
    for (int i = 0; i < 9; i++) {
        double f = counts[i] / (n / 3.0);
        if (fabs(f - P[i]) > worst) worst = fabs(f - P[i]);
    }
    /* sd of a cell <= sqrt(0.25 / 10000) = 0.005 */
    printf("  custom 3x3: largest |realised - P| = %.4f\n", worst);
    CHECK(worst < 0.025, "custom: realised transition differs from P by %.4f", worst);
    CHECK(counts[6] == 0, "custom: a zero probability was realised %ld times", counts[6]);
    /* eta is ignored by custom */
    int *g2 = malloc(sizeof(int) * n);
    CHECK(run("noise=0&noise_type=custom&noise_matrix=0.7,0.2,0.1;0.1,0.8,0.1;0,0.5,0.5", "synth", k, clean,
              n, g2, counts, 4) == 0 && !memcmp(given, g2, sizeof(int) * n),
          "custom must not depend on eta");
    /* K mismatch, named with both sizes */
    CHECK(run("noise_type=custom&noise_matrix=0.9,0.1;0.2,0.8", "synth", k, clean, n, given, counts, 4) < 0 &&
              strstr(nl_error(), "noise_matrix") && strstr(nl_error(), "2 x 2") && strstr(nl_error(), "3 x 3") &&
              has_hint(),
          "custom K mismatch: %s", nl_error());
    CHECK(run("noise_type=custom&noise=0.3", "synth", k, clean, n, given, counts, 4) < 0 && has_hint() &&
              strstr(nl_error(), "noise_matrix"),
          "custom without a matrix: %s", nl_error());
    free(clean), free(given), free(g2);
}

static void test_parse_matrix(void) {
    double P[4];
    CHECK(noise_parse_matrix("0.75,0.25;0,1", 2, P) == 0 && P[0] == 0.75 && P[1] == 0.25 && P[2] == 0 && P[3] == 1,
          "parse 2x2");
    CHECK(noise_parse_matrix("0.5,0.4;0,1", 2, P) < 0 && has_hint() && strstr(nl_error(), "row 1"),
          "row sum: %s", nl_error());
    CHECK(noise_parse_matrix("0.5,0.5;0,1,0", 2, P) < 0 && has_hint(), "ragged: %s", nl_error());
    CHECK(noise_parse_matrix("0.5,x;0,1", 2, P) < 0 && has_hint(), "junk: %s", nl_error());
    CHECK(noise_parse_matrix("1.5,-0.5;0,1", 2, P) < 0 && has_hint(), "negative: %s", nl_error());
    CHECK(noise_parse_matrix("0.5,0.5;0,1;", 2, P) < 0 && has_hint(), "trailing ';': %s", nl_error());
    CHECK(noise_count(0.29, 100) == 29 && noise_count(0.2, 5000) == 1000 && noise_count(0.4, 7) == 2 &&
              noise_count(0, 100) == 0 && noise_count(1, 13) == 13,
          "noise_count");
}

static void test_determinism_identity(void) {
    int n, *clean = make_labels(300, 20, &n);
    int *a = malloc(sizeof(int) * n), *b = malloc(sizeof(int) * n);
    long ca[K * K], cb[K * K];
    const char *models[] = {"noise=0.4&noise_type=sym", "noise=0.4&noise_type=sym-incl",
                            "noise=0.4&noise_type=asym", "noise=0.4&noise_type=pair",
                            "noise_type=custom&noise_matrix=" /* filled below */};
    char custom[600] = "noise_type=custom&noise_matrix=";
    for (int r = 0; r < K; r++)
        for (int j = 0; j < K; j++)
            snprintf(custom + strlen(custom), sizeof custom - strlen(custom), "%s%s", j ? "," : r ? ";" : "",
                     j == r ? "0.55" : "0.05");
    for (int m = 0; m < 5; m++) {
        const char *cs = m == 4 ? custom : models[m];
        CHECK(run(cs, "cifar10", K, clean, n, a, ca, 11) == 0, "%s: %s", cs, nl_error());
        CHECK(run(cs, "cifar10", K, clean, n, b, cb, 11) == 0, "%s", cs);
        CHECK(!memcmp(a, b, sizeof(int) * n) && !memcmp(ca, cb, sizeof ca), "%s: same seed, different labels", cs);
        CHECK(run(cs, "cifar10", K, clean, n, b, cb, 12) == 0, "%s", cs);
        CHECK(memcmp(a, b, sizeof(int) * n) != 0, "%s: different seeds, same labels", cs);
    }
    /* eta = 0: clean labels, diagonal counts */
    const char *zero[] = {"noise=0&noise_type=sym", "noise=0&noise_type=sym-incl", "noise=0&noise_type=asym",
                          "noise=0&noise_type=pair"};
    for (int m = 0; m < 4; m++) {
        CHECK(run(zero[m], "cifar10", K, clean, n, a, ca, 11) == 0, "%s", zero[m]);
        long off = 0;
        for (int c = 0; c < K; c++)
            for (int j = 0; j < K; j++) off += j != c ? ca[c * K + j] : 0;
        CHECK(!memcmp(a, clean, sizeof(int) * n) && off == 0, "%s: labels changed", zero[m]);
    }
    /* asym at eta=0 on a dataset without a preset is fine: nothing to flip */
    CHECK(run("noise=0&noise_type=asym", "cifar100", K, clean, n, a, ca, 11) == 0, "asym eta=0");
    free(clean), free(a), free(b);
}

/* ---- class imbalance ---- */

static int is_subsequence(const int *out, int m, const int *idx, int n) {
    int j = 0;
    for (int i = 0; i < n && j < m; i++)
        if (idx[i] == out[j]) j++;
    return j == m;
}

static void test_imbalance(void) {
    int n, *labels = make_labels(5000, 0, &n);
    int *idx = malloc(sizeof(int) * n), *out = malloc(sizeof(int) * n), m;
    for (int i = 0; i < n; i++) idx[i] = i;
    Rng r;
    rng_init(&r, 5, STREAM_SPLIT);
    rng_shuffle(&r, idx, n);
    long counts[K];
    /* Cui et al.'s CIFAR-10 counts (reference-results section 3) */
    const long cui10[K] = {5000, 3871, 2997, 2320, 1796, 1391, 1077, 834, 645, 500};
    const long cui100[K] = {5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50};
    Config c = cfg("imbalance=long-tail&rho=10");
    CHECK(imbalance_select(&c, K, labels, idx, n, out, &m, counts) == 0, "long-tail 10: %s", nl_error());
    CHECK(!memcmp(counts, cui10, sizeof counts), "long-tail rho=10: counts differ from Cui et al.");
    CHECK(m == 20431 && is_subsequence(out, m, idx, n), "long-tail rho=10: %d kept, order", m);
    long recount[K] = {0};
    for (int i = 0; i < m; i++) recount[labels[out[i]]]++;
    CHECK(!memcmp(recount, counts, sizeof counts), "long-tail: class_counts do not match out");
    c = cfg("imbalance=long-tail&rho=100");
    CHECK(imbalance_select(&c, K, labels, idx, n, out, &m, counts) == 0, "long-tail 100");
    CHECK(!memcmp(counts, cui100, sizeof counts) && m == 12406, "long-tail rho=100: counts differ from Cui et al.");
    CHECK(is_subsequence(out, m, idx, n), "long-tail rho=100: order not kept");
    /* kept = the first n_c candidates of each class */
    int first_ok = 1;
    long seen[K] = {0};
    for (int i = 0, j = 0; i < n; i++) {
        int y = labels[idx[i]];
        if (seen[y]++ < counts[y]) first_ok &= j < m && out[j++] == idx[i];
    }
    CHECK(first_ok, "long-tail: not the first n_c candidates of each class");

    c = cfg("imbalance=step&rho=10");
    CHECK(imbalance_select(&c, K, labels, idx, n, out, &m, counts) == 0, "step");
    int step_ok = m == 5 * 5000 + 5 * 500;
    for (int k = 0; k < K; k++) step_ok &= counts[k] == (k < 5 ? 5000 : 500);
    CHECK(step_ok && is_subsequence(out, m, idx, n), "step rho=10: counts 5 x 5000 + 5 x 500, order");

    c = cfg("imbalance=none");
    CHECK(imbalance_select(&c, K, labels, idx, n, out, &m, counts) == 0 && m == n && !memcmp(out, idx, sizeof(int) * n),
          "none must copy");
    free(labels);

    /* unequal supply: n_max must let every class supply its quota */
    labels = make_labels(400, 60, &n); /* 400 .. 940 */
    for (int i = 0; i < n; i++) idx[i] = n - 1 - i;
    c = cfg("imbalance=long-tail&rho=1");
    CHECK(imbalance_select(&c, K, labels, idx, n, out, &m, counts) == 0, "rho=1");
    int bal = 1;
    for (int k = 0; k < K; k++) bal &= counts[k] == 400;
    CHECK(bal && m == 4000 && is_subsequence(out, m, idx, n), "rho=1 must keep balance at the smallest class");
    c = cfg("imbalance=long-tail&rho=10");
    CHECK(imbalance_select(&c, K, labels, idx, n, out, &m, counts) == 0, "long-tail, unequal supply");
    int fits = 1, formula = 1;
    for (int k = 0; k < K; k++) {
        fits &= counts[k] <= 400 + 60 * k;
        formula &= counts[k] == (long)((double)counts[0] * pow(0.1, k / 9.0));
    }
    printf("  long-tail rho=10 on 400..940 per class: n_max = %ld, tail = %ld\n", counts[0], counts[9]);
    CHECK(fits && formula && counts[0] == 400, "long-tail, unequal supply: n_max %ld", counts[0]);
    c = cfg("imbalance=step&rho=4");
    CHECK(imbalance_select(&c, K, labels, idx, n, out, &m, counts) == 0, "step, unequal supply");
    CHECK(counts[0] == 400 && counts[4] == 400 && counts[5] == 100 && counts[9] == 100, "step rho=4: %ld %ld",
          counts[0], counts[9]);
    /* a class left empty is refused */
    c = cfg("imbalance=long-tail&rho=1000");
    CHECK(imbalance_select(&c, K, labels, idx, n, out, &m, counts) < 0 && has_hint() && strstr(nl_error(), "rho"),
          "an empty class must be refused: %s", nl_error());
    free(labels), free(idx), free(out);
}

int main(void) {
    test_sym();
    test_sym_incl();
    test_pair_asym();
    test_custom();
    test_parse_matrix();
    test_determinism_identity();
    test_imbalance();
    return check_summary("test_noise");
}
