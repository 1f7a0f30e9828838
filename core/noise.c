#include "noise.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "err.h"

long noise_count(double eta, long n) {
    if (!(eta > 0) || n <= 0) return 0;
    double x = eta * (double)n;
    double m = floor(x + 1e-9 * (1.0 + x)); /* see noise.h: decimal eta, binary double */
    return m > (double)n ? n : (long)m;
}

/* ------------------------------------------------------------------------- */
/* presets                                                                    */

typedef struct {
    const char *dataset;
    int pairs[8][2]; /* source, target; {0, 0} ends the list */
} AsymPreset;

static const AsymPreset presets[] = {
    {"cifar10", {{9, 1}, {2, 0}, {3, 5}, {5, 3}, {4, 7}}},
    {"mnist", {{7, 1}, {2, 7}, {5, 6}, {6, 5}, {3, 8}}},
    {"fashion-mnist", {{6, 0}, {0, 6}, {2, 4}, {5, 7}, {9, 7}}},
    {"synth", {{5, 6}, {6, 5}, {4, 0}, {8, 1}, {9, 8}}},
};

int noise_asym_map(const char *dataset, int K, int *target) {
    for (size_t p = 0; p < sizeof presets / sizeof presets[0]; p++) {
        if (strcmp(presets[p].dataset, dataset)) continue;
        if (K != 10)
            return nl_fail("noise_type=asym: the preset of dataset '%s' is for 10 classes, but the "
                           "data has %d. Hint: use noise_type=sym, pair or custom.", dataset, K);
        for (int c = 0; c < K; c++) target[c] = c;
        for (int i = 0; i < 8 && presets[p].pairs[i][0] != presets[p].pairs[i][1]; i++)
            target[presets[p].pairs[i][0]] = presets[p].pairs[i][1];
        return 0;
    }
    return nl_fail("noise_type=asym has no class mapping for dataset '%s' (presets: cifar10, mnist, "
                   "fashion-mnist, synth). Hint: use noise_type=sym, pair, or custom with "
                   "noise_matrix.", dataset);
}

/* The asym preset in the run's labels. With classes=..., label j is class
   ids[j] of the dataset: a kept class keeps its preset target when the target
   is kept too, and a pair whose source is dropped has no samples and vanishes.
   A kept class whose target is dropped is refused: leaving it clean would
   quietly change the noise model that noise_type=asym names (noise.h). */
static int asym_target(const Config *c, const char *dataset, int K, int *target) {
    int ids[CONFIG_MAX_CLASSES], k = config_classes(c, ids, CONFIG_MAX_CLASSES), full[10];
    if (k == 0) return noise_asym_map(dataset, K, target);
    if (k != K)
        return nl_fail("noise_type=asym: %d labels for the %d classes of config key 'classes'. Hint: "
                       "this is a bug in the caller; please report it.", K, k);
    if (noise_asym_map(dataset, 10, full) < 0) return -1;
    const char *const *names = dataset_class_names(dataset, 10);
    for (int j = 0; j < k; j++) {
        int o = ids[j], t = o < 10 ? full[o] : o, m = -1;
        for (int i = 0; i < k; i++)
            if (ids[i] == t) m = i;
        if (m < 0)
            return nl_fail("noise_type=asym: the preset of dataset '%s' flips class %d (%s) to class %d "
                           "(%s), which config key 'classes' (%s) drops. Hint: add class %d to "
                           "classes, or use noise_type=sym, pair, or custom with a %dx%d "
                           "noise_matrix.", dataset, o, names ? names[o] : "-", t,
                           names ? names[t] : "-", c->classes, t, k, k);
        target[j] = m;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* the custom matrix                                                          */

int noise_parse_matrix(const char *text, int K, double *P) {
    if (!text || !*text)
        return nl_fail("noise_type=custom needs config key 'noise_matrix', which is empty. Hint: "
                       "give %d rows of %d probabilities P(given | true), e.g. 0.8,0.2;0.3,0.7 "
                       "for 2 classes.", K, K);
    /* count the shape first, so a size mismatch names both sizes */
    int rows = 1, cols = 1;
    for (const char *p = text; *p && *p != ';'; p++) cols += *p == ',';
    for (const char *p = text; *p; p++) rows += *p == ';';
    if (rows != K || cols != K)
        return nl_fail("config key 'noise_matrix' is %d x %d, but the run has %d classes (those of "
                       "the dataset, or of config key 'classes'), so it must be %d x %d. Hint: give "
                       "%d rows of %d probabilities.", rows, cols, K,
                       K, K, K, K);
    const char *p = text;
    for (int r = 0; r < K; r++) {
        double sum = 0;
        for (int j = 0; j < K; j++) {
            char *end;
            errno = 0;
            double x = strtod(p, &end);
            if (end == p || errno == ERANGE || !(x >= 0 && x <= 1))
                return nl_fail("config key 'noise_matrix': entry %d of row %d is not a probability "
                               "from 0 to 1. Hint: write rows like 0.8,0.2;0.3,0.7.", j + 1, r + 1);
            P[r * K + j] = x;
            sum += x;
            p = end;
            char want = j < K - 1 ? ',' : r < K - 1 ? ';' : 0;
            if (*p != want)
                return nl_fail("config key 'noise_matrix': row %d must have %d numbers joined by "
                               "','. Hint: write rows like 0.8,0.2;0.3,0.7.", r + 1, K);
            if (want) p++;
        }
        if (fabs(sum - 1) > 1e-4)
            return nl_fail("config key 'noise_matrix': row %d sums to %.6g, not 1. Hint: make every "
                           "row sum to 1.", r + 1, sum);
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* noise_apply                                                                */

/* For each class c with target[c] != c, moves exactly floor(eta * n_c) samples
   of clean class c to target[c] (target[c] < 0: to a uniform other class).
   Chosen without replacement by a partial Fisher-Yates over the class's
   positions in index order. Reads only clean[], so no sample moves twice. */
static int flip_exact(const int *clean, int n, int *given, int K, const int *target, double eta,
                      Rng *rng) {
    int *pos = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!pos) return nl_fail("out of memory applying label noise. Hint: use fewer training images.");
    for (int c = 0; c < K; c++) {
        if (target[c] == c) continue;
        int nc = 0;
        for (int i = 0; i < n; i++)
            if (clean[i] == c) pos[nc++] = i;
        long m = noise_count(eta, nc);
        for (long t = 0; t < m; t++) {
            long j = t + (long)rng_below(rng, (uint32_t)(nc - t));
            int s = pos[j];
            pos[j] = pos[t], pos[t] = s;
            if (target[c] >= 0) {
                given[s] = target[c];
            } else {
                int r = (int)rng_below(rng, (uint32_t)(K - 1));
                given[s] = r + (r >= c);
            }
        }
    }
    free(pos);
    return 0;
}

int noise_apply(const Config *c, const char *dataset, int K, const int *clean, int n, int *given,
                Rng *rng, long *counts) {
    if (K < 1 || n < 0)
        return nl_fail("noise_apply: %d classes and %d samples make no training set. Hint: this is a "
                       "bug in the caller; please report it.", K, n);
    for (int i = 0; i < n; i++) {
        if (clean[i] < 0 || clean[i] >= K)
            return nl_fail("noise_apply: label %d of training sample %d is outside 0..%d. Hint: "
                           "prepare the dataset again.", clean[i], i, K - 1);
        given[i] = clean[i];
    }
    const char *type = c->noise_type;
    double eta = c->noise;
    int custom = !strcmp(type, "custom");
    int rc = 0;
    if (!custom && !(eta > 0)) {
        /* clean labels */
    } else if (!strcmp(type, "sym") || !strcmp(type, "pair") || !strcmp(type, "asym")) {
        int *target = malloc(sizeof(int) * (size_t)K);
        if (!target) return nl_fail("out of memory applying label noise. Hint: reload the page.");
        if (!strcmp(type, "asym")) {
            rc = asym_target(c, dataset, K, target);
        } else if (K < 2) {
            rc = nl_fail("noise_type=%s needs at least 2 classes, but the data has %d. Hint: set "
                         "noise=0.", type, K);
        } else {
            for (int k = 0; k < K; k++) target[k] = type[0] == 's' ? -1 : (k + 1) % K;
        }
        if (rc == 0) rc = flip_exact(clean, n, given, K, target, eta, rng);
        free(target);
    } else if (!strcmp(type, "sym-incl")) {
        for (int i = 0; i < n; i++)
            if ((double)rng_uniform(rng) < eta) given[i] = (int)rng_below(rng, (uint32_t)K);
    } else if (custom) {
        double *P = malloc(sizeof(double) * (size_t)K * (size_t)K);
        if (!P) return nl_fail("out of memory applying label noise. Hint: reload the page.");
        rc = noise_parse_matrix(c->noise_matrix, K, P);
        for (int i = 0; rc == 0 && i < n; i++) {
            /* inverse CDF of the row; rounding past the end (row sums within
               1e-4 of 1) falls on the last class with nonzero probability */
            const double *row = P + (long)clean[i] * K;
            double u = (double)rng_uniform(rng), cum = 0;
            int g = -1;
            for (int j = 0; j < K; j++) {
                if (row[j] > 0) g = j;
                cum += row[j];
                if (row[j] > 0 && u < cum) break;
            }
            given[i] = g;
        }
        free(P);
    } else {
        rc = nl_fail("config key 'noise_type': '%.24s' is not a noise model; it must be one of "
                     "sym|sym-incl|asym|pair|custom. Hint: fix the value in the link or command "
                     "line.", type);
    }
    if (rc < 0) {
        memcpy(given, clean, sizeof(int) * (size_t)n);
        return rc;
    }
    if (counts) {
        memset(counts, 0, sizeof(long) * (size_t)K * (size_t)K);
        for (int i = 0; i < n; i++) counts[(long)clean[i] * K + given[i]]++;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* class imbalance                                                            */

/* the number of samples class c keeps when the largest class keeps nmax */
static long quota(int step, double rho, int K, int c, long nmax) {
    if (step) return c < (K + 1) / 2 ? nmax : (long)floor((double)nmax / rho);
    if (K < 2) return nmax;
    return (long)((double)nmax * pow(1.0 / rho, (double)c / (double)(K - 1)));
}

int imbalance_select(const Config *c, int K, const int *labels, const int *idx, int n, int *out,
                     int *nout, long *class_counts) {
    *nout = 0;
    if (K < 1 || n < 0)
        return nl_fail("imbalance_select: %d classes and %d samples make no training set. Hint: "
                       "this is a bug in the caller; please report it.", K, n);
    memset(class_counts, 0, sizeof(long) * (size_t)K);
    for (int i = 0; i < n; i++) {
        int y = labels[idx[i]];
        if (y < 0 || y >= K)
            return nl_fail("imbalance_select: label %d of training image %d is outside 0..%d. Hint: "
                           "prepare the dataset again.", y, idx[i], K - 1);
        class_counts[y]++;
    }
    int step = !strcmp(c->imbalance, "step");
    if (!step && strcmp(c->imbalance, "long-tail")) {
        if (strcmp(c->imbalance, "none"))
            return nl_fail("config key 'imbalance': '%.24s' is not allowed; it must be one of "
                           "none|long-tail|step. Hint: fix the value in the link or command line.",
                           c->imbalance);
        memcpy(out, idx, sizeof(int) * (size_t)n);
        *nout = n;
        return 0;
    }
    double rho = c->rho;
    if (!(rho >= 1))
        return nl_fail("config key 'rho': %g is below 1; it is largest class / smallest class. "
                       "Hint: write e.g. rho=100.", rho);
    long *avail = malloc(sizeof(long) * (size_t)K), *want = malloc(sizeof(long) * (size_t)K);
    if (!avail || !want) {
        free(avail), free(want);
        return nl_fail("out of memory selecting the imbalanced subset. Hint: reload the page.");
    }
    memcpy(avail, class_counts, sizeof(long) * (size_t)K);
    /* the real-valued bound n_max * f_c <= avail_c for every class, then
       lowered while the floored quota still exceeds a class's supply */
    double bound = (double)avail[0];
    for (int k = 0; k < K; k++) {
        double f = step ? (k < (K + 1) / 2 ? 1.0 : 1.0 / rho)
                        : (K < 2 ? 1.0 : pow(1.0 / rho, (double)k / (double)(K - 1)));
        double b = floor((double)avail[k] / f);
        if (b < bound) bound = b;
    }
    long nmax = (long)bound;
    for (;;) {
        int fits = 1;
        for (int k = 0; k < K; k++) fits &= quota(step, rho, K, k, nmax) <= avail[k];
        if (fits || nmax == 0) break;
        nmax--;
    }
    int rc = 0;
    for (int k = 0; k < K; k++) {
        want[k] = quota(step, rho, K, k, nmax);
        if (want[k] < 1 && rc == 0)
            rc = nl_fail("imbalance=%s with rho=%g leaves class %d with no training image (the "
                         "largest class keeps %ld of the %d candidates). Hint: lower rho or use more "
                         "training images (train=0 uses all).", c->imbalance, rho, k, nmax, n);
    }
    if (rc == 0) {
        memset(class_counts, 0, sizeof(long) * (size_t)K);
        int m = 0;
        for (int i = 0; i < n; i++) {
            int y = labels[idx[i]];
            if (class_counts[y] < want[y]) class_counts[y]++, out[m++] = idx[i];
        }
        *nout = m;
    }
    free(avail), free(want);
    return rc;
}
