/* layers.h: every layer of noisylab as a forward/backward pair on plain float buffers.

   Conventions (as in llm.c):
   - Tensors are contiguous float32, NCHW for images: (B, C, H, W); (B, N) for vectors.
   - Forward writes its output (out = ...) and any cache its backward needs.
   - Backward ACCUMULATES (+=) into dinp, dweight, dbias. The caller zeroes the
     gradient buffers once per step. This makes branches (residual blocks) free:
     two consumers of one tensor simply both add into its gradient.
   - A NULL gradient pointer means "not needed" (e.g. dinp of the first layer).
   - Weights use PyTorch layouts: dense (OUT, IN); conv (OC, C, KH, KW).
   - No allocation: scratch buffers (im2col columns, argmax, statistics) come
     from the caller, with sizes given below. */
#ifndef NL_LAYERS_H
#define NL_LAYERS_H

#include "rng.h"

/* ---- dense: out (B, OUT) = inp (B, IN) @ weight^T (IN, OUT) + bias (OUT) */
void dense_forward(float *out, const float *inp, const float *weight, const float *bias, int B,
                   int IN, int OUT);
void dense_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                    const float *inp, const float *weight, int B, int IN, int OUT);

/* ---- conv2d, by im2col + sgemm.
   OH = (H + 2*pad - KH) / stride + 1, likewise OW.
   col: scratch of conv2d_col_size(s) floats. bias may be NULL (no bias). */
typedef struct {
    int C, H, W;     /* input channels and size */
    int OC, KH, KW;  /* output channels, kernel size */
    int stride, pad; /* same in both directions */
    int OH, OW;      /* derived: call conv2d_shape to fill them */
} ConvShape;
ConvShape conv2d_shape(int C, int H, int W, int OC, int KH, int KW, int stride, int pad);
long conv2d_col_size(const ConvShape *s);
void conv2d_forward(float *out, float *col, const float *inp, const float *weight,
                    const float *bias, int B, const ConvShape *s);
void conv2d_backward(float *dinp, float *dweight, float *dbias, float *col, const float *dout,
                     const float *inp, const float *weight, int B, const ConvShape *s);

/* ---- pooling. OH = (H + 2*pad - k) / stride + 1.
   maxpool: argmax (B*C*OH*OW ints) records the flat index into inp of each max.
   Padding never wins a max. avgpool counts padding (PyTorch count_include_pad=True). */
void maxpool2d_forward(float *out, int *argmax, const float *inp, int B, int C, int H, int W,
                       int k, int stride, int pad);
void maxpool2d_backward(float *dinp, const float *dout, const int *argmax, int B, int C, int OH,
                        int OW);
void avgpool2d_forward(float *out, const float *inp, int B, int C, int H, int W, int k,
                       int stride, int pad);
void avgpool2d_backward(float *dinp, const float *dout, int B, int C, int H, int W, int k,
                        int stride, int pad);
/* global average pool: (B, C, HW) -> (B, C) */
void global_avgpool_forward(float *out, const float *inp, int B, int C, int HW);
void global_avgpool_backward(float *dinp, const float *dout, int B, int C, int HW);

/* ---- batch norm over (B, C, HW); HW = 1 for BatchNorm1d after a dense layer.
   train = 1: normalise with batch statistics, write mean/rstd (C each) for the
   backward pass, and update running_mean/running_var with momentum (PyTorch
   convention: running = (1 - momentum) * running + momentum * batch, with the
   unbiased batch variance). train = 0: use the running statistics. */
void batchnorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *gamma, const float *beta, float *running_mean,
                       float *running_var, int B, int C, int HW, int train, float momentum,
                       float eps);
/* backward of the train-mode forward */
void batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                        const float *inp, const float *gamma, const float *mean,
                        const float *rstd, int B, int C, int HW);

/* ---- elementwise activations over n values */
void relu_forward(float *out, const float *inp, long n);
void relu_backward(float *dinp, const float *dout, const float *inp, long n);
void leaky_relu_forward(float *out, const float *inp, long n, float slope);
void leaky_relu_backward(float *dinp, const float *dout, const float *inp, long n, float slope);
void sigmoid_forward(float *out, const float *inp, long n);
void sigmoid_backward(float *dinp, const float *dout, const float *out, long n);
void tanh_forward(float *out, const float *inp, long n);
void tanh_backward(float *dinp, const float *dout, const float *out, long n);
/* ELU with alpha = 1: x for x > 0, exp(x) - 1 otherwise (GAT's hidden activation) */
void elu_forward(float *out, const float *inp, long n);
void elu_backward(float *dinp, const float *dout, const float *inp, long n);
/* exact GELU, x * Phi(x) with erf, as PyTorch's default */
void gelu_forward(float *out, const float *inp, long n);
void gelu_backward(float *dinp, const float *dout, const float *inp, long n);

/* ---- dropout (inverted): train = 1 zeroes each value with probability p and
   scales survivors by 1/(1-p); mask (n floats) stores the factor applied.
   train = 0 or p = 0 copies inp and fills mask with 1. */
void dropout_forward(float *out, float *mask, const float *inp, long n, float p, int train,
                     Rng *rng);
void dropout_backward(float *dinp, const float *dout, const float *mask, long n);

/* ---- residual add: out = a + b */
void residual_forward(float *out, const float *a, const float *b, long n);
void residual_backward(float *da, float *db, const float *dout, long n);

/* ---- flatten: (B, C, H, W) -> (B, C*H*W) is a copy in this contiguous layout;
   it exists so that models read as a list of layers. */
void flatten_forward(float *out, const float *inp, long n);
void flatten_backward(float *dinp, const float *dout, long n);

/* ---- softmax + cross-entropy, numerically stable (log-sum-exp with the max subtracted).
   probs (B, K) receives softmax(logits); losses (B) the per-sample -log p_y.
   Returns the mean loss over the batch. Labels must be in [0, K). */
float softmax_ce_forward(float *probs, float *losses, const float *logits, const int *labels,
                         int B, int K);
/* dlogits += dloss * (probs - onehot(y)) / B, the gradient of dloss * mean loss */
void softmax_ce_backward(float *dlogits, const float *probs, const int *labels, int B, int K,
                         float dloss);

#endif
