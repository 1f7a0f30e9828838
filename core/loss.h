/* loss.h: the training losses, one entry point for training, tests and the CLI.

   loss_compute evaluates the named loss on a batch of logits and, when
   dlogits is not NULL, ACCUMULATES scale * dL/dlogits into it, where L is the
   mean of the per-sample losses over the batch. probs (B*K) receives
   softmax(logits) and losses (B) the per-sample values, for metrics.
   The `loss` command of the CLI calls exactly this function, so what a user
   checks there is what training optimises. */
#ifndef NL_LOSS_H
#define NL_LOSS_H

#include "config.h"

typedef struct {
    int kind; /* LOSS_CE ... */
} Loss;
enum { LOSS_CE };

int loss_from_config(Loss *l, const Config *c);
/* returns the mean loss over the batch */
float loss_compute(const Loss *l, const float *logits, const int *labels, int B, int K,
                   float *probs, float *losses, float *dlogits, float scale);

#endif
