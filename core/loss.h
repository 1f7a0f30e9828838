/* loss.h: the training losses, one entry point for training, tests and the CLI.

   loss_compute evaluates the named loss on a batch of logits and, when
   dlogits is not NULL, ACCUMULATES scale * dL/dlogits into it, where L is the
   mean of the per-sample losses over the batch. probs (B*K) receives
   softmax(logits) and losses (B) the per-sample values, for metrics (either
   may be NULL). The `loss` command of the CLI calls exactly this function, so
   what a user checks there is what training optimises.

   The losses (p = softmax(z), y the given label, K classes, log p from a
   log-softmax so that logits of any size give finite values). Gradients are
   the exact derivatives of these formulas: nothing is detached (the APL code
   detaches the focal factor and the NFL denominator; we do not).

     ce        -log p_y
     mae       1 - p_y            the APL code's "reduced" MAE: half of sum_k |p_k - onehot_k|
     rce       A (1 - p_y)        A = -ln(1e-4) = 9.2103 (RCE with log 0 clipped to ln 1e-4)
     sce       alpha ce + beta rce
     gce       (1 - p_y^q) / q
     fl        -(1 - p_y)^gamma log p_y
     nce       log p_y / sum_k log p_k
     nfl       (1 - p_y)^gamma log p_y / sum_k (1 - p_k)^gamma log p_k
     ngce      (1 - p_y^q) / (K - sum_k p_k^q)
     nmae      (1 - p_y) / (K - 1)
     nce+mae, nce+rce, nfl+mae, nfl+rce, ngce+mae, ngce+rce
               alpha active + beta passive
     cb-ce     w_y ce       class-balanced (Cui et al. 2019), batch mean of w_y L
     cb-focal  w_y fl       w_c = (1 - cb_beta) / (1 - cb_beta^n_c), scaled so sum_c w_c = K
     triplet   max(0, d(a,p) - d(a,n) + margin), d = ||a - b + 1e-6||_pnorm
               (torch.nn.functional.pairwise_distance), mean over the used triplets
     cosine-embedding
               1 - cos(z, e_y), cos = z_y / sqrt(sum_k z_k^2 + 1e-12)
               (torch cosine_embedding_loss with target +1 and t_y the one-hot e_y)

   The two embedding losses treat the network's output row (dimension K) as
   the embedding. For cosine-embedding the largest z_k is still the prediction
   (cos(z, e_k) is largest for the largest z_k). For triplet the argmax means
   little; its probs are still softmax(z).

   Triplet sampling: for every anchor i of the batch, one positive (uniform
   among the other samples with label y_i) and one negative (uniform among
   the samples with another label) are drawn from l->rng, which the caller
   owns and must set (positive first, then negative, anchors in batch order).
   Anchors without a positive or without a negative in the batch are skipped;
   L is the mean over the used triplets (0, with a zero gradient, if none),
   losses[i] is anchor i's term (0 when skipped).

   Parameters ("auto" = NAN in Config resolves per dataset, the APL configs;
   the table is AUTO in loss.c). Datasets mnist and fashion-mnist take the
   MNIST column, every other dataset (cifar10, synth) the CIFAR-10 column:
       sce                  alpha 0.01 | 0.1    beta 1 | 1
       nce+mae ... ngce+rce alpha 1    | 1      beta 10 | 1
       gce                  q 0.7
       ngce, ngce+mae/rce   q 0.1
       fl, nfl, nfl+mae/rce, cb-focal   gamma 0.5
   Parameters a loss does not use are ignored (loss_params_json lists only the
   used ones). Refused (nl_fail naming the key): alpha = beta = 0 for sce and
   the combinations; q outside (0, 1]; gamma, alpha, beta, margin negative or
   not finite; cb_beta outside [0, 1); pnorm < 1.

   Numerics: per sample in double. (1 - p)^gamma has an infinite derivative in
   p at p = 1 when gamma < 1, but the logit gradient of the focal term
   (1-p)^gamma log p is (1-p)^gamma (1 + gamma p rho) with rho = -log p / (1-p),
   which tends to 1 as p -> 1; rho takes that limit when 1 - p underflows to 0
   (logit gaps beyond ~745). So no clamp is needed and none is applied; 1 - p_k
   is computed without cancellation (sum of the other probabilities for the
   largest one) and p^q as exp(q log p).

   Class-balanced losses need the training counts of each class
   (loss_set_class_counts) before the first loss_compute. A class with n_c = 0
   gets weight 0 and the present classes are normalised to sum to K (so the
   weights still sum to K). loss_compute of a cb loss without counts, or with
   counts for another K, returns NAN with the message in the error slot and
   leaves dlogits untouched; so do labels outside [0, K) and K above
   LOSS_MAX_CLASSES. */
#ifndef NL_LOSS_H
#define NL_LOSS_H

#include <stddef.h>

#include "config.h"
#include "rng.h"

#define LOSS_MAX_CLASSES 1024
#define LOSS_RCE_A 9.210340371976184 /* -ln(1e-4) */

enum {
    LOSS_CE, LOSS_MAE, LOSS_RCE, LOSS_SCE, LOSS_GCE, LOSS_FL, LOSS_NCE, LOSS_NFL, LOSS_NGCE,
    LOSS_NMAE, LOSS_NCE_MAE, LOSS_NCE_RCE, LOSS_NFL_MAE, LOSS_NFL_RCE, LOSS_NGCE_MAE,
    LOSS_NGCE_RCE, LOSS_CB_CE, LOSS_CB_FOCAL, LOSS_TRIPLET, LOSS_COSINE, LOSS_COUNT
};

typedef struct {
    int kind;                       /* LOSS_CE ... */
    double alpha, beta, q, gamma;   /* resolved (no NAN); unused ones are 0 */
    double cb_beta, margin, pnorm;
    int nclasses;                   /* K of the class counts; 0 = not set */
    double cb_weight[LOSS_MAX_CLASSES];
    Rng *rng;                       /* triplet sampling; set by the caller */
} Loss;

/* the name of a kind ("nce+rce"), or NULL */
const char *loss_name(int kind);
/* Resolves the loss and its parameters from a parsed config (auto values per
   dataset). Returns 0, or -1 with a message naming the key. */
int loss_from_config(Loss *l, const Config *c);
/* Stores the class-balanced weights from the training count of each class.
   Any loss accepts counts; only cb-ce and cb-focal use them. Returns 0, or -1
   (K out of range, a negative count, all counts 0). */
int loss_set_class_counts(Loss *l, const long *counts, int K);
/* {"loss":"nce+rce","alpha":1,"beta":1} with the resolved values of the
   parameters the loss uses (cb: also "class_weights" once counts are set).
   Returns 0, or -1 if cap is too small. */
int loss_params_json(const Loss *l, char *buf, size_t cap);
/* returns the mean loss over the batch (NAN on a refusal, see above) */
float loss_compute(const Loss *l, const float *logits, const int *labels, int B, int K,
                   float *probs, float *losses, float *dlogits, float scale);

/* ---- the pieces loss_compute is made of, on plain float buffers */

/* Softmax-family losses (all but triplet and cosine-embedding): per-sample
   values into losses (may be NULL), softmax into probs (may be NULL); returns
   the batch mean. The backward recomputes the log-softmax from the logits and
   accumulates scale * d(mean)/dlogits. Labels must be in [0, K). */
float softmax_loss_forward(const Loss *l, float *probs, float *losses, const float *logits,
                           const int *labels, int B, int K);
void softmax_loss_backward(const Loss *l, float *dlogits, const float *logits, const int *labels,
                           int B, int K, float scale);

/* One sample of any loss but triplet, in double precision: returns its value
   and adds d(value)/dz into dz (K doubles) when not NULL. The building block of
   the forward and backward above (the tests difference it in double). NAN for
   triplet, a bad label or K, or a cb loss without counts for K classes. */
double loss_sample(const Loss *l, const float *z, int y, int K, double *dz);

/* Triplet: pos[i], neg[i] = the sampled partners of anchor i, -1 = skipped. */
void triplet_sample(Rng *rng, int *pos, int *neg, const int *labels, int B);
float triplet_forward(float *losses, const float *emb, const int *pos, const int *neg, int B, int D,
                      float margin, float pnorm);
void triplet_backward(float *demb, const float *emb, const int *pos, const int *neg, int B, int D,
                      float margin, float pnorm, float scale);

/* Cosine embedding against the one-hot target e_y. */
float cosine_embedding_forward(float *losses, const float *emb, const int *labels, int B, int D);
void cosine_embedding_backward(float *demb, const float *emb, const int *labels, int B, int D,
                               float scale);

#endif
