/* metrics.h: evaluation metrics of a trained classifier, and exact t-SNE.

   Plain arrays in, plain arrays out. Everything is deterministic: fixed loop
   order, no threads, ties broken by index, so the same inputs give the same
   bits on every build of the same code.

   Conventions shared with scikit-learn (so the numbers can be checked there):
     confusion_matrix  cm[K*K], row = true class, column = predicted class;
                       pairs with a label outside 0..K-1 are not counted.
     per_class_prf     precision_k = cm[k][k] / column sum, recall_k =
                       cm[k][k] / row sum, F1_k = 2 tp / (2 tp + fp + fn).
                       0/0 is defined as 0 (sklearn zero_division=0).
                       macro[3] = unweighted means of P, R and F1 over the
                       classes that occur in the truth or the predictions
                       (sklearn's default labels = unique(y_true, y_pred));
                       classes that occur in neither are left out of the mean
                       (their per-class values are 0).
     roc_auc_ovr       one-vs-rest ROC AUC of column k of probs[n*K] (row-major:
                       probs[i*K + k] = score of class k for sample i) against
                       truth == k. Ties count 1/2 (midrank Mann-Whitney U),
                       which equals sklearn's trapezoidal roc_auc_score.
                       Returns the macro mean over the classes that have both
                       positives and negatives; per_class (may be NULL) gets
                       NAN for the others (write them as null in JSON), and
                       the return value is NAN when no class qualifies.
     pr_auc_ovr        one-vs-rest average precision, as sklearn's
                       average_precision_score: sum over distinct thresholds
                       (descending) of (R_t - R_{t-1}) * P_t, step-wise, no
                       interpolation; tied scores form one threshold. Macro
                       mean over the classes that have positives; classes
                       without positives get NAN (sklearn warns and scores them
                       0; here they are left out, as in roc_auc_ovr).
   NaN scores rank below every number.

   t-SNE (van der Maaten and Hinton 2008), exact O(n^2):
     - input affinities: squared Euclidean distances; for each point a binary
       search (at most 100 steps, |H - log(perplexity)| < 1e-5 nats) for the
       Gaussian precision beta_i; distances are shifted by the row minimum
       first (the entropy does not change), so far-apart high-dimensional
       points do not underflow to an all-zero row. P = (P_j|i + P_i|j) / 2n.
     - embedding: y ~ N(0, (1e-4)^2) per coordinate from rng (point 0 x, point
       0 y, point 1 x, ...); the caller passes a generator of its own stream
       (STREAM_TSNE).
     - optimisation as scikit-learn's exact method: gradient
       4 sum_j (p_ij - q_ij) (y_i - y_j) / (1 + |y_i - y_j|^2), early
       exaggeration 12 and momentum 0.5 for the first 250 iterations, then
       momentum 0.8; delta-bar-delta gains (+0.2 when the gradient changes
       sign against the update, *0.8 otherwise, at least 0.01); learning rate
       max(n / 12 / 4, 50) (sklearn's "auto"). No early stopping: exactly
       `iters` iterations.
     - float arithmetic; the O(n^2) loops are written with 8 explicit
       accumulator lanes, so the summation order is fixed by the source and a
       vectorising compiler (clang -msimd128) gives the same bits as scalar
       code. Memory: one n*n float matrix (16 MB for n = 2000).
   The step-wise API (tsne_init / tsne_step / tsne_kl / tsne_result) lets a
   caller animate the embedding or watch the KL divergence; tsne_2d runs the
   whole thing. */
#ifndef NL_METRICS_H
#define NL_METRICS_H

#include "rng.h"

void confusion_matrix(const int *truth, const int *pred, int n, int K, long *cm);
/* precision, recall, f1: K entries each; macro: P, R, F1 */
void per_class_prf(const long *cm, int K, float *precision, float *recall, float *f1, float *macro);
float roc_auc_ovr(const float *probs, const int *truth, int n, int K, float *per_class);
float pr_auc_ovr(const float *probs, const int *truth, int n, int K, float *per_class);

typedef struct {
    int n, iter;
    float lr;
    float *P;                /* n*n joint probabilities, symmetric, zero diagonal */
    float *y0, *y1;          /* the embedding, one array per axis */
    float *u0, *u1;          /* last update (momentum) */
    float *gain0, *gain1;    /* per-coordinate gains */
    float *a0, *a1, *r0, *r1; /* scratch: attractive and repulsive force sums */
} Tsne;

/* x: n rows of d floats. Requires n >= 2 and 1 <= perplexity <= n - 1.
   Returns 0, or -1 with the message in the error slot (err.h). */
int tsne_init(Tsne *t, const float *x, int n, int d, float perplexity, Rng *rng);
/* one iteration of gradient descent (iteration t->iter, then t->iter++) */
void tsne_step(Tsne *t);
/* KL(P || Q) of the current embedding, with the true (not exaggerated) P */
double tsne_kl(const Tsne *t);
/* g[2*i], g[2*i+1] = dKL/dy_i of the current embedding (true P), the
   gradient tsne_step follows; for tests (finite differences of tsne_kl) */
void tsne_gradient(Tsne *t, float *g);
/* y[2*i], y[2*i+1] = point i, centred on the origin */
void tsne_result(const Tsne *t, float *y);
void tsne_free(Tsne *t);

/* The whole run: y[2*n] receives the embedding after `iters` iterations.
   Returns 0 or -1 (see tsne_init). */
int tsne_2d(const float *x, int n, int d, float perplexity, int iters, Rng *rng, float *y);

#endif
