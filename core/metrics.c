#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* ------------------------------------------------------------------------- */
/* confusion matrix, precision, recall, F1                                    */

void confusion_matrix(const int *truth, const int *pred, int n, int K, long *cm) {
    memset(cm, 0, sizeof(long) * (size_t)K * (size_t)K);
    for (int i = 0; i < n; i++)
        if (truth[i] >= 0 && truth[i] < K && pred[i] >= 0 && pred[i] < K)
            cm[(long)truth[i] * K + pred[i]]++;
}

void per_class_prf(const long *cm, int K, float *precision, float *recall, float *f1, float *macro) {
    double sp = 0, sr = 0, sf = 0;
    int present = 0;
    for (int k = 0; k < K; k++) {
        long tp = cm[(long)k * K + k], row = 0, col = 0;
        for (int j = 0; j < K; j++) row += cm[(long)k * K + j], col += cm[(long)j * K + k];
        long fn = row - tp, fp = col - tp;
        double p = col ? (double)tp / (double)col : 0; /* 0/0 = 0 (zero_division=0) */
        double r = row ? (double)tp / (double)row : 0;
        double f = tp ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : 0;
        precision[k] = (float)p, recall[k] = (float)r, f1[k] = (float)f;
        if (row || col) sp += p, sr += r, sf += f, present++;
    }
    macro[0] = present ? (float)(sp / present) : 0;
    macro[1] = present ? (float)(sr / present) : 0;
    macro[2] = present ? (float)(sf / present) : 0;
}

/* ------------------------------------------------------------------------- */
/* ROC AUC and average precision, one class against the rest                  */

typedef struct {
    float s;
    int i;
} Scored;

/* descending score, NaN last, ties by ascending index: a total order, so
   qsort (not stable) still gives one fixed permutation */
static int by_score_desc(const void *pa, const void *pb) {
    const Scored *a = pa, *b = pb;
    int na = isnan(a->s), nb = isnan(b->s);
    if (na != nb) return na - nb;
    if (!na && a->s != b->s) return a->s > b->s ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static int same_score(float a, float b) { return a == b || (isnan(a) && isnan(b)); }

/* For class k: sorts the scores and walks the groups of tied scores from the
   highest down. Writes the ROC AUC and the average precision (NAN when not
   defined) to *auc and *ap. */
static void ovr_class(const float *probs, const int *truth, int n, int K, int k, Scored *buf,
                      double *auc, double *ap) {
    long pos = 0;
    for (int i = 0; i < n; i++) {
        buf[i].s = probs[(long)i * K + k], buf[i].i = i;
        pos += truth[i] == k;
    }
    long neg = n - pos;
    *auc = *ap = NAN;
    if (pos == 0) return;
    qsort(buf, (size_t)n, sizeof *buf, by_score_desc);
    /* U = sum over positives of (negatives ranked below) + 1/2 (negatives tied) */
    double u = 0, sum_ap = 0, prev_recall = 0;
    long tp = 0, fp = 0;
    for (int g = 0; g < n;) {
        int e = g;
        long gp = 0, gn = 0;
        while (e < n && same_score(buf[e].s, buf[g].s)) {
            if (truth[buf[e].i] == k) gp++;
            else gn++;
            e++;
        }
        tp += gp, fp += gn;
        u += (double)gp * (double)(neg - fp) + 0.5 * (double)gp * (double)gn;
        double recall = (double)tp / (double)pos;
        sum_ap += (recall - prev_recall) * ((double)tp / (double)(tp + fp));
        prev_recall = recall;
        g = e;
    }
    *ap = sum_ap;
    if (neg > 0) *auc = u / ((double)pos * (double)neg);
}

static float ovr_macro(const float *probs, const int *truth, int n, int K, float *per_class, int want_ap) {
    Scored *buf = malloc(sizeof(Scored) * (size_t)(n > 0 ? n : 1));
    double sum = 0;
    int m = 0;
    for (int k = 0; k < K; k++) {
        double auc = NAN, ap = NAN;
        if (buf) ovr_class(probs, truth, n, K, k, buf, &auc, &ap);
        double v = want_ap ? ap : auc;
        if (per_class) per_class[k] = (float)v;
        if (!isnan(v)) sum += v, m++;
    }
    free(buf);
    return m ? (float)(sum / m) : NAN;
}

float roc_auc_ovr(const float *probs, const int *truth, int n, int K, float *per_class) {
    return ovr_macro(probs, truth, n, K, per_class, 0);
}

float pr_auc_ovr(const float *probs, const int *truth, int n, int K, float *per_class) {
    return ovr_macro(probs, truth, n, K, per_class, 1);
}

/* ------------------------------------------------------------------------- */
/* t-SNE                                                                      */

#define LANES 8 /* explicit accumulator lanes: fixed summation order, vectorisable */
#define EXAGGERATION 12.0f
#define EXPLORE_ITERS 250

/* Row i of D (squared distances, D[i][i] ignored) becomes the conditional
   P_j|i whose entropy is log(perplexity). */
static void row_affinities(float *row, int n, int i, double target) {
    float dmin = INFINITY;
    double mean = 0;
    for (int j = 0; j < n; j++)
        if (j != i && row[j] < dmin) dmin = row[j];
    for (int j = 0; j < n; j++)
        if (j != i) mean += row[j] - dmin;
    mean /= (n - 1);
    for (int j = 0; j < n; j++) row[j] = j == i ? 0 : row[j] - dmin; /* shift: entropy unchanged */
    double beta = mean > 0 ? 1.0 / mean : 1.0, lo = 0, hi = INFINITY, sum = 1;
    for (int step = 0; step < 100; step++) {
        double sdp = 0;
        sum = 0;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double e = beta * row[j];
            double p = e > 80 ? 0 : expf((float)-e);
            sum += p, sdp += row[j] * p;
        }
        /* sum >= 1: the nearest neighbour has shifted distance 0 */
        double h = log(sum) + beta * sdp / sum;
        if (fabs(h - target) < 1e-5) break;
        if (h > target) lo = beta, beta = isinf(hi) ? beta * 2 : (beta + hi) / 2;
        else hi = beta, beta = (beta + lo) / 2;
    }
    sum = 0;
    for (int j = 0; j < n; j++) {
        double e = beta * row[j];
        float p = j == i || e > 80 ? 0.0f : expf((float)-e);
        row[j] = p;
        sum += p;
    }
    float inv = (float)(1.0 / sum);
    for (int j = 0; j < n; j++) row[j] *= inv;
}

int tsne_init(Tsne *t, const float *x, int n, int d, float perplexity, Rng *rng) {
    memset(t, 0, sizeof *t);
    if (n < 2 || d < 1)
        return nl_fail("t-SNE needs at least 2 points of at least 1 feature (got %d of %d). Hint: "
                       "embed more test points (config key tsne).", n, d);
    if (!(perplexity >= 1 && perplexity <= n - 1))
        return nl_fail("t-SNE perplexity %g is outside 1..%d for %d points (it is the effective "
                       "number of neighbours). Hint: use more points or a perplexity of at most "
                       "(n - 1) / 3.", perplexity, n - 1, n);
    size_t nn = (size_t)n * (size_t)n;
    t->n = n;
    t->P = malloc(sizeof(float) * nn);
    float *xt = malloc(sizeof(float) * (size_t)n * (size_t)d);
    float **arrays[] = {&t->y0, &t->y1, &t->u0, &t->u1, &t->gain0, &t->gain1, &t->a0, &t->a1, &t->r0, &t->r1};
    int ok = t->P && xt;
    for (size_t a = 0; a < sizeof arrays / sizeof arrays[0]; a++) {
        *arrays[a] = malloc(sizeof(float) * (size_t)n);
        ok = ok && *arrays[a];
    }
    if (!ok) {
        free(xt);
        tsne_free(t);
        return nl_fail("out of memory for t-SNE of %d points (it needs %zu MB). Hint: embed fewer "
                       "test points (config key tsne).", n, nn * sizeof(float) >> 20);
    }
    /* squared distances: x transposed so the inner loop runs over j, an
       elementwise update of the row that vectorises with no reassociation */
    for (int i = 0; i < n; i++)
        for (int k = 0; k < d; k++) xt[(size_t)k * n + i] = x[(size_t)i * d + k];
    for (int i = 0; i < n; i++) {
        float *restrict row = t->P + (size_t)i * n;
        for (int j = i + 1; j < n; j++) row[j] = 0;
        for (int k = 0; k < d; k++) {
            const float *restrict xk = xt + (size_t)k * n;
            float xik = xk[i];
            for (int j = i + 1; j < n; j++) {
                float diff = xk[j] - xik;
                row[j] += diff * diff;
            }
        }
    }
    free(xt);
    for (int i = 0; i < n; i++) {
        t->P[(size_t)i * n + i] = 0;
        for (int j = 0; j < i; j++) t->P[(size_t)i * n + j] = t->P[(size_t)j * n + i];
    }
    double target = log((double)perplexity);
    for (int i = 0; i < n; i++) row_affinities(t->P + (size_t)i * n, n, i, target);
    float norm = 1.0f / (2.0f * (float)n);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            float v = (t->P[(size_t)i * n + j] + t->P[(size_t)j * n + i]) * norm;
            t->P[(size_t)i * n + j] = t->P[(size_t)j * n + i] = v;
        }
    for (int i = 0; i < n; i++) {
        t->y0[i] = 1e-4f * rng_normal(rng);
        t->y1[i] = 1e-4f * rng_normal(rng);
        t->u0[i] = t->u1[i] = 0;
        t->gain0[i] = t->gain1[i] = 1;
    }
    float lr = (float)n / EXAGGERATION / 4.0f;
    t->lr = lr > 50 ? lr : 50;
    t->iter = 0;
    return 0;
}

/* The pairs (i, j), j = 0 .. m - 1 of one row (pointers start at i + 1):
   the sums for point i go to lane accumulators (lane = j % LANES), added up
   in a fixed order at the end into sums[5] = Z_i, a0_i, a1_i, r0_i, r1_i;
   the opposite forces on the points j are elementwise updates. With
   restrict parameters, local accumulators and the lanes spelled out, clang
   turns the body into vector code without reassociating anything: the same
   bits as the scalar loop. */
static void row_pairs(int m, float yi0, float yi1, const float *restrict y0, const float *restrict y1,
                      const float *restrict p, float *restrict a0, float *restrict a1, float *restrict r0,
                      float *restrict r1, float *restrict sums) {
    float sz[LANES] = {0}, sa0[LANES] = {0}, sa1[LANES] = {0}, sr0[LANES] = {0}, sr1[LANES] = {0};
    int j = 0;
    for (; j + LANES <= m; j += LANES) {
        for (int l = 0; l < LANES; l++) {
            float d0 = yi0 - y0[j + l], d1 = yi1 - y1[j + l];
            float q = 1.0f / (1.0f + d0 * d0 + d1 * d1);
            float a = p[j + l] * q, r = q * q;
            sz[l] += q;
            sa0[l] += a * d0, sa1[l] += a * d1;
            sr0[l] += r * d0, sr1[l] += r * d1;
            a0[j + l] -= a * d0, a1[j + l] -= a * d1;
            r0[j + l] -= r * d0, r1[j + l] -= r * d1;
        }
    }
    for (int l = 0; j < m; j++, l++) { /* the tail, same arithmetic */
        float d0 = yi0 - y0[j], d1 = yi1 - y1[j];
        float q = 1.0f / (1.0f + d0 * d0 + d1 * d1);
        float a = p[j] * q, r = q * q;
        sz[l] += q;
        sa0[l] += a * d0, sa1[l] += a * d1;
        sr0[l] += r * d0, sr1[l] += r * d1;
        a0[j] -= a * d0, a1[j] -= a * d1;
        r0[j] -= r * d0, r1[j] -= r * d1;
    }
    for (int k = 0; k < 5; k++) sums[k] = 0;
    for (int l = 0; l < LANES; l++) {
        sums[0] += sz[l];
        sums[1] += sa0[l], sums[2] += sa1[l];
        sums[3] += sr0[l], sums[4] += sr1[l];
    }
}

/* a[i] = sum_j p_ij q_ij (y_i - y_j), r[i] = sum_j q_ij^2 (y_i - y_j) with
   q_ij = 1 / (1 + |y_i - y_j|^2); returns Z = sum_{i != j} q_ij. One pass over
   the upper triangle: each pair adds to i and subtracts from j. */
static double forces(Tsne *t) {
    int n = t->n;
    for (int i = 0; i < n; i++) t->a0[i] = t->a1[i] = t->r0[i] = t->r1[i] = 0;
    double z = 0;
    for (int i = 0; i < n - 1; i++) {
        float sums[5];
        int j0 = i + 1;
        row_pairs(n - j0, t->y0[i], t->y1[i], t->y0 + j0, t->y1 + j0, t->P + (size_t)i * n + j0, t->a0 + j0,
                  t->a1 + j0, t->r0 + j0, t->r1 + j0, sums);
        t->a0[i] += sums[1], t->a1[i] += sums[2];
        t->r0[i] += sums[3], t->r1[i] += sums[4];
        z += 2.0 * sums[0]; /* q_ij and q_ji */
    }
    return z;
}

static void update_axis(float *restrict y, float *restrict u, float *restrict gain, const float *restrict a,
                        const float *restrict r, int n, float exag, float inv_z, float momentum, float lr) {
    for (int i = 0; i < n; i++) {
        float g = 4.0f * (exag * a[i] - r[i] * inv_z);
        /* delta-bar-delta: the update went against the gradient, so u * g < 0
           means the gradient kept its sign (keep going, grow the gain); a
           sign flip means an overshoot (shrink it) */
        float gn = (u[i] * g < 0.0f) ? gain[i] + 0.2f : gain[i] * 0.8f;
        gn = gn < 0.01f ? 0.01f : gn;
        gain[i] = gn;
        u[i] = momentum * u[i] - lr * gn * g;
        y[i] += u[i];
    }
}

void tsne_gradient(Tsne *t, float *g) {
    float inv_z = (float)(1.0 / forces(t));
    for (int i = 0; i < t->n; i++) {
        g[2 * i] = 4.0f * (t->a0[i] - t->r0[i] * inv_z);
        g[2 * i + 1] = 4.0f * (t->a1[i] - t->r1[i] * inv_z);
    }
}

void tsne_step(Tsne *t) {
    int explore = t->iter < EXPLORE_ITERS;
    float exag = explore ? EXAGGERATION : 1.0f, momentum = explore ? 0.5f : 0.8f;
    double z = forces(t);
    float inv_z = (float)(1.0 / z);
    update_axis(t->y0, t->u0, t->gain0, t->a0, t->r0, t->n, exag, inv_z, momentum, t->lr);
    update_axis(t->y1, t->u1, t->gain1, t->a1, t->r1, t->n, exag, inv_z, momentum, t->lr);
    t->iter++;
}

double tsne_kl(const Tsne *t) {
    int n = t->n;
    double z = 0, kl = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double d0 = t->y0[i] - t->y0[j], d1 = t->y1[i] - t->y1[j];
            z += 1.0 / (1.0 + d0 * d0 + d1 * d1);
        }
    /* KL = sum p log(p / q), q = num / Z; terms with p = 0 contribute 0 */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double p = t->P[(size_t)i * n + j];
            if (j == i || p <= 0) continue;
            double d0 = t->y0[i] - t->y0[j], d1 = t->y1[i] - t->y1[j];
            double q = 1.0 / (1.0 + d0 * d0 + d1 * d1) / z;
            kl += p * log(p / q);
        }
    return kl;
}

void tsne_result(const Tsne *t, float *y) {
    double m0 = 0, m1 = 0;
    for (int i = 0; i < t->n; i++) m0 += t->y0[i], m1 += t->y1[i];
    m0 /= t->n, m1 /= t->n;
    for (int i = 0; i < t->n; i++) {
        y[2 * i] = (float)(t->y0[i] - m0);
        y[2 * i + 1] = (float)(t->y1[i] - m1);
    }
}

void tsne_free(Tsne *t) {
    float *all[] = {t->P, t->y0, t->y1, t->u0, t->u1, t->gain0, t->gain1, t->a0, t->a1, t->r0, t->r1};
    for (size_t a = 0; a < sizeof all / sizeof all[0]; a++) free(all[a]);
    memset(t, 0, sizeof *t);
}

int tsne_2d(const float *x, int n, int d, float perplexity, int iters, Rng *rng, float *y) {
    Tsne t;
    if (tsne_init(&t, x, n, d, perplexity, rng) < 0) return -1;
    for (int it = 0; it < iters; it++) tsne_step(&t);
    tsne_result(&t, y);
    tsne_free(&t);
    return 0;
}
