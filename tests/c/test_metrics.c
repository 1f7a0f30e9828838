/* test_metrics.c: confusion matrix, precision/recall/F1, ROC AUC, average
   precision and exact t-SNE (core/metrics.c).

   PRF and the small ROC/AP cases are computed by hand in the comments. The
   larger ROC/AP cases come from tests/golden/make_metrics_ref.py (sklearn's
   algorithms transcribed with numpy; scores rounded to 0.1 so there are many
   ties) via metrics_ref.h. t-SNE: the analytic gradient against finite
   differences of the KL divergence, determinism, KL decreasing, and a clean
   separation of well-separated Gaussian blobs. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "metrics.h"
#include "metrics_ref.h"

static void test_confusion_prf(void) {
    /* truth 0 0 0 1 1 2 2 2, pred 0 1 2 1 1 2 0 2, plus two pairs out of range
       cm = [1 1 1; 0 2 0; 1 0 2]
       precision = 1/2, 2/3, 2/3; recall = 1/3, 1, 2/3
       F1 = 2/(2+1+2) = 0.4, 4/(4+1+0) = 0.8, 4/(4+1+1) = 2/3 */
    int truth[10] = {0, 0, 0, 1, 1, 2, 2, 2, 3, -1}, pred[10] = {0, 1, 2, 1, 1, 2, 0, 2, 0, 1};
    long cm[9];
    confusion_matrix(truth, pred, 10, 3, cm);
    const long want[9] = {1, 1, 1, 0, 2, 0, 1, 0, 2};
    CHECK(!memcmp(cm, want, sizeof cm), "confusion matrix");
    float p[3], r[3], f[3], macro[3];
    per_class_prf(cm, 3, p, r, f, macro);
    CHECK_CLOSE(p[0], 0.5, 1e-6, "precision 0");
    CHECK_CLOSE(p[1], 2.0 / 3, 1e-6, "precision 1");
    CHECK_CLOSE(p[2], 2.0 / 3, 1e-6, "precision 2");
    CHECK_CLOSE(r[0], 1.0 / 3, 1e-6, "recall 0");
    CHECK_CLOSE(r[1], 1.0, 1e-6, "recall 1");
    CHECK_CLOSE(r[2], 2.0 / 3, 1e-6, "recall 2");
    CHECK_CLOSE(f[0], 0.4, 1e-6, "f1 0");
    CHECK_CLOSE(f[1], 0.8, 1e-6, "f1 1");
    CHECK_CLOSE(f[2], 2.0 / 3, 1e-6, "f1 2");
    CHECK_CLOSE(macro[0], (0.5 + 4.0 / 3) / 3, 1e-6, "macro precision");
    CHECK_CLOSE(macro[1], 2.0 / 3, 1e-6, "macro recall");
    CHECK_CLOSE(macro[2], (1.2 + 2.0 / 3) / 3, 1e-6, "macro f1");

    /* zero division and absent classes, K = 4: truth 0 0 1, pred 0 2 1.
       class 2 is predicted but never true: P = 0/1, R = 0/0 := 0, F1 = 0;
       class 3 occurs nowhere and is left out of the macro mean (as sklearn's
       default labels). macro P = (1 + 1 + 0)/3, R = (1/2 + 1 + 0)/3,
       F1 = (2/3 + 1 + 0)/3 */
    int t2[3] = {0, 0, 1}, p2[3] = {0, 2, 1};
    long cm4[16];
    float p4[4], r4[4], f4[4];
    confusion_matrix(t2, p2, 3, 4, cm4);
    per_class_prf(cm4, 4, p4, r4, f4, macro);
    CHECK(p4[2] == 0 && r4[2] == 0 && f4[2] == 0 && p4[3] == 0 && r4[3] == 0 && f4[3] == 0, "zero division");
    CHECK_CLOSE(macro[0], 2.0 / 3, 1e-6, "macro P with absent class");
    CHECK_CLOSE(macro[1], 0.5, 1e-6, "macro R with absent class");
    CHECK_CLOSE(macro[2], 5.0 / 9, 1e-6, "macro F1 with absent class");
}

static void test_auc_hand(void) {
    /* sklearn's doc example: y = 0 0 1 1, s = 0.1 0.4 0.35 0.8 -> AUC 0.75,
       AP 0.8333. Class 0 gets 1 - s: the same ranking reversed, AUC 0.75;
       y0 = 1 1 0 0 at 0.9 0.6 0.65 0.2 -> AP = 0.5 * 1 + 0.5 * 2/3 = 0.8333 */
    float probs[8] = {0.9f, 0.1f, 0.6f, 0.4f, 0.65f, 0.35f, 0.2f, 0.8f};
    int y[4] = {0, 0, 1, 1};
    float per[2];
    CHECK_CLOSE(roc_auc_ovr(probs, y, 4, 2, per), 0.75, 1e-6, "auc doc example");
    CHECK_CLOSE(per[0], 0.75, 1e-6, "auc class 0");
    CHECK_CLOSE(per[1], 0.75, 1e-6, "auc class 1");
    CHECK_CLOSE(pr_auc_ovr(probs, y, 4, 2, per), 5.0 / 6, 1e-6, "ap doc example");
    CHECK_CLOSE(per[1], 5.0 / 6, 1e-6, "ap class 1");

    /* ties: y = 1 0 1 0 1 at s = .9 .9 .5 .3 .3 (class 1; class 0 = 1 - s).
       U = (0.5 + 1) + 1 + 0.5 = 3 of 3 * 2 pairs -> AUC 0.5.
       thresholds .9: tp 1 fp 1; .5: tp 2 fp 1; .3: tp 3 fp 2
       AP = 1/3 * 1/2 + 1/3 * 2/3 + 1/3 * 3/5 = 0.588889 */
    float pt[10] = {0.1f, 0.9f, 0.1f, 0.9f, 0.5f, 0.5f, 0.7f, 0.3f, 0.7f, 0.3f};
    int yt[5] = {1, 0, 1, 0, 1};
    roc_auc_ovr(pt, yt, 5, 2, per);
    CHECK_CLOSE(per[1], 0.5, 1e-6, "auc with ties");
    pr_auc_ovr(pt, yt, 5, 2, per);
    CHECK_CLOSE(per[1], (0.5 + 2.0 / 3 + 0.6) / 3, 1e-6, "ap with ties");

    /* all scores tied: AUC 1/2, AP = the positive rate */
    float flat[8] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    int yf[4] = {1, 0, 0, 0};
    roc_auc_ovr(flat, yf, 4, 2, per);
    CHECK_CLOSE(per[1], 0.5, 1e-6, "auc all tied");
    pr_auc_ovr(flat, yf, 4, 2, per);
    CHECK_CLOSE(per[1], 0.25, 1e-6, "ap all tied");

    /* a class without positives, one without negatives: K = 3, truth all 0 */
    float p3[9] = {0.5f, 0.3f, 0.2f, 0.6f, 0.2f, 0.2f, 0.1f, 0.1f, 0.8f};
    int y3[3] = {0, 0, 0};
    float per3[3];
    CHECK(isnan(roc_auc_ovr(p3, y3, 3, 3, per3)) && isnan(per3[0]) && isnan(per3[1]) && isnan(per3[2]),
          "auc undefined without both classes");
    float ap = pr_auc_ovr(p3, y3, 3, 3, per3);
    CHECK(ap == 1.0f && per3[0] == 1.0f && isnan(per3[1]) && isnan(per3[2]), "ap: only positives -> 1, none -> NAN");

    /* NaN scores rank last: class 1 with a NaN positive is a perfect miss */
    float pn[4] = {0.5f, 0.5f, 0.5f, NAN};
    int yn[2] = {0, 1};
    roc_auc_ovr(pn, yn, 2, 2, per);
    CHECK(per[1] == 0.0f, "NaN score must rank below every number (auc %g)", per[1]);
}

static void check_ref(const char *name, const float *probs, const int *truth, int n, int K, const double *auc,
                      const double *ap, double auc_macro, double ap_macro) {
    float per[8];
    char what[64];
    float m = roc_auc_ovr(probs, truth, n, K, per);
    for (int k = 0; k < K; k++) {
        snprintf(what, sizeof what, "%s auc class %d", name, k);
        if (isnan(auc[k])) CHECK(isnan(per[k]), "%s: want NAN, got %g", what, per[k]);
        else CHECK_CLOSE(per[k], auc[k], 1e-6, what);
    }
    snprintf(what, sizeof what, "%s auc macro", name);
    CHECK_CLOSE(m, auc_macro, 1e-6, what);
    m = pr_auc_ovr(probs, truth, n, K, per);
    for (int k = 0; k < K; k++) {
        snprintf(what, sizeof what, "%s ap class %d", name, k);
        if (isnan(ap[k])) CHECK(isnan(per[k]), "%s: want NAN, got %g", what, per[k]);
        else CHECK_CLOSE(per[k], ap[k], 1e-6, what);
    }
    snprintf(what, sizeof what, "%s ap macro", name);
    CHECK_CLOSE(m, ap_macro, 1e-6, what);
}

static void test_auc_reference(void) {
    check_ref("ref_a", ref_a_probs, ref_a_truth, ref_a_n, ref_a_K, ref_a_auc, ref_a_ap, ref_a_auc_macro,
              ref_a_ap_macro);
    check_ref("ref_b", ref_b_probs, ref_b_truth, ref_b_n, ref_b_K, ref_b_auc, ref_b_ap, ref_b_auc_macro,
              ref_b_ap_macro);
}

/* ---- t-SNE ---- */

/* nb blobs of per points in d dimensions: centres N(0, sep^2), points N(centre, 1) */
static float *blobs(int nb, int per, int d, float sep, int *labels, unsigned seed) {
    Rng r;
    rng_init(&r, seed, STREAM_DATA);
    float *centre = malloc(sizeof(float) * nb * d), *x = malloc(sizeof(float) * nb * per * d);
    for (int i = 0; i < nb * d; i++) centre[i] = sep * rng_normal(&r);
    for (int i = 0; i < nb * per; i++) {
        int b = i % nb; /* interleaved, so the blobs are not contiguous in the input */
        labels[i] = b;
        for (int k = 0; k < d; k++) x[i * d + k] = centre[b * d + k] + rng_normal(&r);
    }
    free(centre);
    return x;
}

/* mean fraction of the k nearest 2-D neighbours that share the label */
static double knn_agreement(const float *y, const int *labels, int n, int k) {
    double total = 0;
    float *dist = malloc(sizeof(float) * n);
    int *used = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            float a = y[2 * i] - y[2 * j], b = y[2 * i + 1] - y[2 * j + 1];
            dist[j] = a * a + b * b;
            used[j] = j == i;
        }
        int same = 0;
        for (int t = 0; t < k; t++) {
            int best = -1;
            for (int j = 0; j < n; j++)
                if (!used[j] && (best < 0 || dist[j] < dist[best])) best = j;
            used[best] = 1;
            same += labels[best] == labels[i];
        }
        total += (double)same / k;
    }
    free(dist), free(used);
    return total / n;
}

static void test_tsne_gradient(void) {
    int n = 42, d = 6, labels[42];
    float *x = blobs(3, 14, d, 3.0f, labels, 1);
    Tsne t;
    Rng r;
    rng_init(&r, 1, STREAM_TSNE);
    CHECK(tsne_init(&t, x, n, d, 8.0f, &r) == 0, "tsne_init: %s", nl_error());
    double psum = 0, asym = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            psum += t.P[i * n + j];
            asym = fmax(asym, fabs(t.P[i * n + j] - t.P[j * n + i]));
        }
    CHECK_CLOSE(psum, 1.0, 1e-5, "sum of P");
    CHECK(asym == 0 && t.P[0] == 0, "P must be symmetric with a zero diagonal");
    for (int s = 0; s < 300; s++) tsne_step(&t); /* a generic, spread-out embedding */
    float g[84];
    tsne_gradient(&t, g);
    int ok = 0, tried = 0;
    double worst = 0;
    for (int i = 0; i < n; i += 3)
        for (int a = 0; a < 2; a++) {
            float *yy = a ? t.y1 : t.y0, y0 = yy[i], h = 1e-2f;
            yy[i] = y0 + h;
            double kp = tsne_kl(&t);
            float hp = yy[i] - y0;
            yy[i] = y0 - h;
            double km = tsne_kl(&t);
            float hm = y0 - yy[i];
            yy[i] = y0;
            double num = (kp - km) / ((double)hp + hm), ana = g[2 * i + a];
            double err = fabs(num - ana) / (fabs(num) + fabs(ana) + 1e-4);
            if (err > worst) worst = err;
            ok += err < 1e-2;
            tried++;
        }
    printf("  t-SNE gradient: %d/%d coordinates match finite differences (worst rel err %.2g)\n", ok, tried, worst);
    CHECK(ok == tried, "t-SNE gradient: %d/%d match (worst %.3g)", ok, tried, worst);
    tsne_free(&t);
    free(x);
}

static void test_tsne_runs(void) {
    int nb = 4, per = 60, n = nb * per, d = 20, *labels = malloc(sizeof(int) * n);
    float *x = blobs(nb, per, d, 4.0f, labels, 2);
    float *y = malloc(sizeof(float) * 2 * n), *y2 = malloc(sizeof(float) * 2 * n);
    Rng r;
    /* KL along one run: initial, end of exaggeration, 500, 1000 */
    Tsne t;
    rng_init(&r, 3, STREAM_TSNE);
    CHECK(tsne_init(&t, x, n, d, 30.0f, &r) == 0, "tsne_init: %s", nl_error());
    double kl[4];
    const int at[4] = {0, 250, 500, 1000};
    for (int s = 0, m = 0; m < 4; s++) {
        if (s == at[m]) kl[m++] = tsne_kl(&t);
        if (m < 4) tsne_step(&t);
    }
    printf("  t-SNE KL at iterations 0/250/500/1000: %.4f %.4f %.4f %.4f\n", kl[0], kl[1], kl[2], kl[3]);
    CHECK(kl[1] < kl[0] && kl[2] < kl[1] && kl[3] < kl[2], "t-SNE: KL must decrease");
    tsne_result(&t, y2);
    tsne_free(&t);

    rng_init(&r, 3, STREAM_TSNE);
    CHECK(tsne_2d(x, n, d, 30.0f, 1000, &r, y) == 0, "tsne_2d");
    CHECK(!memcmp(y, y2, sizeof(float) * 2 * n), "t-SNE: tsne_2d and the step API differ");
    double agree = knn_agreement(y, labels, n, 5);
    printf("  t-SNE of %d blobs x %d points in %d-D: 5-NN label agreement %.4f\n", nb, per, d, agree);
    CHECK(agree > 0.95, "t-SNE: 5-NN agreement %.4f", agree);
    double cx = 0, cy = 0;
    for (int i = 0; i < n; i++) cx += y[2 * i], cy += y[2 * i + 1];
    CHECK(fabs(cx / n) < 1e-3 && fabs(cy / n) < 1e-3, "t-SNE result must be centred");

    /* determinism: same seed, same bits; another seed, another embedding */
    rng_init(&r, 3, STREAM_TSNE);
    tsne_2d(x, n, d, 30.0f, 300, &r, y);
    rng_init(&r, 3, STREAM_TSNE);
    tsne_2d(x, n, d, 30.0f, 300, &r, y2);
    CHECK(!memcmp(y, y2, sizeof(float) * 2 * n), "t-SNE: same seed, different result");
    rng_init(&r, 4, STREAM_TSNE);
    tsne_2d(x, n, d, 30.0f, 300, &r, y2);
    CHECK(memcmp(y, y2, sizeof(float) * 2 * n) != 0, "t-SNE: different seeds, same result");

    /* refusals */
    CHECK(tsne_2d(x, 10, d, 30.0f, 10, &r, y) < 0 && strstr(nl_error(), "Hint:"), "perplexity > n - 1: %s",
          nl_error());
    CHECK(tsne_2d(x, 1, d, 1.0f, 10, &r, y) < 0 && strstr(nl_error(), "Hint:"), "one point: %s", nl_error());
    /* duplicate points (all distances 0) must not produce NaN */
    float same[5 * 3] = {0};
    rng_init(&r, 3, STREAM_TSNE);
    CHECK(tsne_2d(same, 5, 3, 2.0f, 50, &r, y) == 0, "duplicates");
    int finite = 1;
    for (int i = 0; i < 10; i++) finite &= isfinite(y[i]);
    CHECK(finite, "t-SNE of duplicate points must stay finite");
    free(x), free(y), free(y2), free(labels);
}

int main(void) {
    test_confusion_prf();
    test_auc_hand();
    test_auc_reference();
    test_tsne_gradient();
    test_tsne_runs();
    return check_summary("test_metrics");
}
