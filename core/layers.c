/* layers.c: every layer of noisylab, forward and backward side by side.

   Read layers.h first for the contract. The short version: contiguous float32
   buffers, NCHW images, PyTorch weight layouts; forward writes `out`, backward
   ADDS into dinp/dweight/dbias (NULL = not needed); no allocation here, the
   caller owns all scratch. The two matrix layers (dense, conv2d) spend their
   time in sgemm; everything else is a single tight loop over memory, because
   in the browser every extra pass over an activation shows up in the epoch
   time. */
#include "layers.h"

#include <math.h>
#include <string.h>

#include "err.h"
#include "gemm.h"

/* Sum of n floats in 8 independent lanes. A single running sum is a chain of
   dependent adds (latency-bound, ~4 cycles per value); the lanes break the
   chain and the compiler maps them onto SIMD registers. Used for the bias
   gradient of conv2d and the global average pool. */
static float sum_lanes(const float *x, long n) {
    float a[8] = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) a[j] += x[i + j];
    float t = 0.0f;
    for (; i < n; i++) t += x[i];
    return t + ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* ------------------------------------------------------------------------ */
/* dense: out (B, OUT) = inp (B, IN) @ weight^T + bias                        */

void dense_forward(float *out, const float *inp, const float *weight, const float *bias, int B,
                   int IN, int OUT) {
    /* weight is (OUT, IN) as in PyTorch, so the product uses it transposed */
    sgemm(0, 1, B, OUT, IN, 1.0f, inp, IN, weight, IN, 0.0f, out, OUT);
    if (bias) {
        for (int b = 0; b < B; b++) {
            float *o = out + (long)b * OUT;
            for (int j = 0; j < OUT; j++) o[j] += bias[j];
        }
    }
}

void dense_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                    const float *inp, const float *weight, int B, int IN, int OUT) {
    /* dinp (B, IN) += dout (B, OUT) @ weight (OUT, IN) */
    if (dinp) sgemm(0, 0, B, IN, OUT, 1.0f, dout, OUT, weight, IN, 1.0f, dinp, IN);
    /* dweight (OUT, IN) += dout^T (OUT, B) @ inp (B, IN) */
    if (dweight) sgemm(1, 0, OUT, IN, B, 1.0f, dout, OUT, inp, IN, 1.0f, dweight, IN);
    if (dbias) {
        for (int b = 0; b < B; b++) {
            const float *d = dout + (long)b * OUT;
            for (int j = 0; j < OUT; j++) dbias[j] += d[j];
        }
    }
}

/* ------------------------------------------------------------------------ */
/* conv2d by im2col + sgemm.
   For one image, col is a (C*KH*KW, OH*OW) matrix: row (c, kh, kw) holds, for
   every output position, the input pixel that kernel tap multiplies (0 in the
   padding). Then out_img (OC, OH*OW) = weight (OC, C*KH*KW) @ col, which is
   the whole convolution as one sgemm.

   Small feature maps are batched: G images share one sgemm, their columns side
   by side in a (C*KH*KW, G*OH*OW) matrix, so that N stays near CONV_TARGET_N.
   (One 4x4 map alone gives N = 16, where packing costs more than the math.)
   col is sized for one group, so the scratch does not grow with the batch; the
   backward pass rebuilds it. Behind the columns, col holds a (OC, G*OH*OW)
   staging matrix, because G images' outputs are not one strided matrix in NCHW. */

#define CONV_TARGET_N 1024

ConvShape conv2d_shape(int C, int H, int W, int OC, int KH, int KW, int stride, int pad) {
    ConvShape s = {C, H, W, OC, KH, KW, stride, pad, 0, 0};
    if (stride < 1 || pad < 0 || KH < 1 || KW < 1 || H + 2 * pad < KH || W + 2 * pad < KW) {
        /* OH = OW = 0 marks the shape invalid; the caller checks it */
        nl_fail("conv2d: kernel %dx%d, stride %d, pad %d do not fit input %dx%d. Hint: use a "
                "smaller kernel, more padding or a larger input.",
                KH, KW, stride, pad, H, W);
        return s;
    }
    s.OH = (H + 2 * pad - KH) / stride + 1;
    s.OW = (W + 2 * pad - KW) / stride + 1;
    return s;
}

/* images per sgemm */
static int conv_group(const ConvShape *s) {
    long P = (long)s->OH * s->OW;
    long g = P > 0 ? (CONV_TARGET_N + P - 1) / P : 1;
    return g < 1 ? 1 : (int)g;
}

long conv2d_col_size(const ConvShape *s) {
    long N = (long)conv_group(s) * s->OH * s->OW;
    return ((long)s->C * s->KH * s->KW + s->OC) * N;
}

/* The output positions o in [0, n_out) whose input coordinate o*stride - pad + k
   lies inside [0, n_in) form one contiguous range [*lo, *hi). Computing it once
   per kernel tap takes every bounds check out of the im2col/col2im inner loops. */
static void tap_range(int k, int pad, int stride, int n_in, int n_out, int *lo, int *hi) {
    int first = pad - k; /* smallest o*stride that is inside */
    int l = first <= 0 ? 0 : (first + stride - 1) / stride;
    int last = n_in - 1 + pad - k; /* largest o*stride that is inside */
    int h = last < 0 ? 0 : last / stride + 1;
    if (h > n_out) h = n_out;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* writes one image's columns; row r of col starts at col + r*ld */
static void im2col(float *col, long ld, const float *img, const ConvShape *s) {
    const int H = s->H, W = s->W, KH = s->KH, KW = s->KW;
    const int OH = s->OH, OW = s->OW, st = s->stride, pad = s->pad;
    const long P = (long)OH * OW;
    for (int c = 0; c < s->C; c++) {
        const float *plane = img + (long)c * H * W;
        for (int kh = 0; kh < KH; kh++) {
            int oh0, oh1;
            tap_range(kh, pad, st, H, OH, &oh0, &oh1);
            for (int kw = 0; kw < KW; kw++) {
                int ow0, ow1;
                tap_range(kw, pad, st, W, OW, &ow0, &ow1);
                float *row = col + (((long)c * KH + kh) * KW + kw) * ld;
                if (ow0 >= ow1) { /* this tap sees only padding columns */
                    memset(row, 0, sizeof(float) * (size_t)P);
                    continue;
                }
                /* output rows whose tap lands in the top/bottom padding */
                memset(row, 0, sizeof(float) * (size_t)oh0 * OW);
                memset(row + (long)oh1 * OW, 0, sizeof(float) * (size_t)(OH - oh1) * OW);
                for (int oh = oh0; oh < oh1; oh++) {
                    float *dst = row + (long)oh * OW;
                    const float *src = plane + (long)(oh * st - pad + kh) * W;
                    int iw0 = ow0 * st - pad + kw; /* input column of ow0, >= 0 */
                    for (int ow = 0; ow < ow0; ow++) dst[ow] = 0.0f;
                    if (st == 1) {
                        memcpy(dst + ow0, src + iw0, sizeof(float) * (size_t)(ow1 - ow0));
                    } else {
                        const float *p = src + iw0;
                        for (int ow = ow0; ow < ow1; ow++, p += st) dst[ow] = *p;
                    }
                    for (int ow = ow1; ow < OW; ow++) dst[ow] = 0.0f;
                }
            }
        }
    }
}

/* the adjoint of im2col: scatter-add every column entry back to its pixel
   (a pixel under several taps receives several contributions; padding none) */
static void col2im_add(float *img, const float *col, long ld, const ConvShape *s) {
    const int H = s->H, W = s->W, KH = s->KH, KW = s->KW;
    const int OH = s->OH, OW = s->OW, st = s->stride, pad = s->pad;
    for (int c = 0; c < s->C; c++) {
        float *plane = img + (long)c * H * W;
        for (int kh = 0; kh < KH; kh++) {
            int oh0, oh1;
            tap_range(kh, pad, st, H, OH, &oh0, &oh1);
            for (int kw = 0; kw < KW; kw++) {
                int ow0, ow1;
                tap_range(kw, pad, st, W, OW, &ow0, &ow1);
                if (ow0 >= ow1) continue; /* this tap sees only padding columns */
                const float *row = col + (((long)c * KH + kh) * KW + kw) * ld;
                for (int oh = oh0; oh < oh1; oh++) {
                    const float *src = row + (long)oh * OW;
                    float *dst = plane + (long)(oh * st - pad + kh) * W + (ow0 * st - pad + kw);
                    if (st == 1) {
                        for (int ow = ow0; ow < ow1; ow++) dst[ow - ow0] += src[ow];
                    } else {
                        for (int ow = ow0; ow < ow1; ow++, dst += st) *dst += src[ow];
                    }
                }
            }
        }
    }
}

void conv2d_forward(float *out, float *col, const float *inp, const float *weight,
                    const float *bias, int B, const ConvShape *s) {
    const int K = s->C * s->KH * s->KW; /* the reduction length of the sgemm */
    const int P = s->OH * s->OW;        /* output positions per image */
    const int G = conv_group(s);
    const long in_size = (long)s->C * s->H * s->W, out_size = (long)s->OC * P;
    float *stage = col + (long)K * G * P;
    for (int b0 = 0; b0 < B; b0 += G) {
        const int g = B - b0 < G ? B - b0 : G;
        const long N = (long)g * P;
        for (int i = 0; i < g; i++) im2col(col + (long)i * P, N, inp + (b0 + i) * in_size, s);
        if (g == 1) { /* one image: its output is the sgemm's C */
            sgemm(0, 0, s->OC, P, K, 1.0f, weight, K, col, P, 0.0f, out + b0 * out_size, P);
        } else {
            sgemm(0, 0, s->OC, (int)N, K, 1.0f, weight, K, col, (int)N, 0.0f, stage, (int)N);
            for (int i = 0; i < g; i++)
                for (int oc = 0; oc < s->OC; oc++)
                    memcpy(out + (b0 + i) * out_size + (long)oc * P, stage + oc * N + (long)i * P,
                           sizeof(float) * (size_t)P);
        }
    }
    if (bias) {
        for (int b = 0; b < B; b++)
            for (int oc = 0; oc < s->OC; oc++) {
                float bv = bias[oc];
                float *r = out + b * out_size + (long)oc * P;
                for (int p = 0; p < P; p++) r[p] += bv;
            }
    }
}

void conv2d_backward(float *dinp, float *dweight, float *dbias, float *col, const float *dout,
                     const float *inp, const float *weight, int B, const ConvShape *s) {
    const int K = s->C * s->KH * s->KW;
    const int P = s->OH * s->OW;
    const int G = conv_group(s);
    const long in_size = (long)s->C * s->H * s->W, out_size = (long)s->OC * P;
    float *stage = col + (long)K * G * P;
    if (dbias)
        for (int b = 0; b < B; b++)
            for (int oc = 0; oc < s->OC; oc++) dbias[oc] += sum_lanes(dout + b * out_size + (long)oc * P, P);
    if (!dweight && !dinp) return;
    for (int b0 = 0; b0 < B; b0 += G) {
        const int g = B - b0 < G ? B - b0 : G;
        const int N = g * P;
        /* the group's output gradient as one (OC, N) matrix */
        const float *d = dout + b0 * out_size;
        if (g > 1) {
            for (int i = 0; i < g; i++)
                for (int oc = 0; oc < s->OC; oc++)
                    memcpy(stage + (long)oc * N + (long)i * P, d + i * out_size + (long)oc * P,
                           sizeof(float) * (size_t)P);
            d = stage;
        }
        if (dweight) {
            /* dweight (OC, K) += dout (OC, N) @ col^T (N, K) */
            for (int i = 0; i < g; i++) im2col(col + (long)i * P, N, inp + (b0 + i) * in_size, s);
            sgemm(0, 1, s->OC, K, N, 1.0f, d, N, col, N, 1.0f, dweight, K);
        }
        if (dinp) {
            /* dcol (K, N) = weight^T (K, OC) @ dout (OC, N), reusing col (its im2col
               content was consumed by dweight above), then scattered back per image */
            sgemm(1, 0, K, N, s->OC, 1.0f, weight, K, d, N, 0.0f, col, N);
            for (int i = 0; i < g; i++) col2im_add(dinp + (b0 + i) * in_size, col + (long)i * P, N, s);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* pooling. OH = (H + 2*pad - k) / stride + 1. Windows are clipped to the real
   image once per output, so the inner loops never test for padding.          */

void maxpool2d_forward(float *out, int *argmax, const float *inp, int B, int C, int H, int W,
                       int k, int stride, int pad) {
    const int OH = (H + 2 * pad - k) / stride + 1, OW = (W + 2 * pad - k) / stride + 1;
    if (k == 2 && stride == 2 && pad == 0) {
        /* the common case, unrolled: four candidates in scan order */
        for (long bc = 0; bc < (long)B * C; bc++) {
            const long base = bc * H * W;
            float *o = out + bc * OH * OW;
            int *am = argmax + bc * OH * OW;
            for (int oh = 0; oh < OH; oh++) {
                const int i0 = 2 * oh * W;
                const float *r0 = inp + base + i0, *r1 = r0 + W;
                for (int ow = 0; ow < OW; ow++) {
                    const int w = 2 * ow;
                    float m = r0[w];
                    int best = i0 + w;
                    if (r0[w + 1] > m || r0[w + 1] != r0[w + 1]) m = r0[w + 1], best = i0 + w + 1;
                    if (r1[w] > m || r1[w] != r1[w]) m = r1[w], best = i0 + W + w;
                    if (r1[w + 1] > m || r1[w + 1] != r1[w + 1]) m = r1[w + 1], best = i0 + W + w + 1;
                    o[oh * OW + ow] = m;
                    am[oh * OW + ow] = (int)(base + best);
                }
            }
        }
        return;
    }
    for (long bc = 0; bc < (long)B * C; bc++) {
        const long base = bc * H * W;
        const float *plane = inp + base;
        float *o = out + bc * OH * OW;
        int *am = argmax + bc * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            int h0 = oh * stride - pad, h1 = h0 + k;
            if (h0 < 0) h0 = 0;
            if (h1 > H) h1 = H;
            for (int ow = 0; ow < OW; ow++) {
                int w0 = ow * stride - pad, w1 = w0 + k;
                if (w0 < 0) w0 = 0;
                if (w1 > W) w1 = W;
                /* only real pixels compete, so padding never wins. The first
                   maximum in scan order wins ties and a NaN propagates, as in
                   PyTorch. A window entirely in the padding (impossible when
                   pad <= k/2, which PyTorch enforces) outputs 0 and argmax -1. */
                float m = 0.0f;
                int best = -1;
                for (int h = h0; h < h1; h++) {
                    const float *r = plane + (long)h * W;
                    for (int w = w0; w < w1; w++) {
                        float v = r[w];
                        if (best < 0 || v > m || v != v) {
                            m = v;
                            best = h * W + w;
                        }
                    }
                }
                o[oh * OW + ow] = m;
                am[oh * OW + ow] = best < 0 ? -1 : (int)(base + best);
            }
        }
    }
}

void maxpool2d_backward(float *dinp, const float *dout, const int *argmax, int B, int C, int OH,
                        int OW) {
    /* the gradient flows only to the pixel that won each window */
    const long n = (long)B * C * OH * OW;
    for (long i = 0; i < n; i++) {
        if (argmax[i] >= 0) dinp[argmax[i]] += dout[i];
    }
}

void avgpool2d_forward(float *out, const float *inp, int B, int C, int H, int W, int k,
                       int stride, int pad) {
    const int OH = (H + 2 * pad - k) / stride + 1, OW = (W + 2 * pad - k) / stride + 1;
    /* count_include_pad: the divisor is always k*k (no window extends past
       H + pad with this OH, so PyTorch's clipped divisor is k*k too) */
    const float scale = 1.0f / (float)(k * k);
    for (long bc = 0; bc < (long)B * C; bc++) {
        const float *plane = inp + bc * H * W;
        float *o = out + bc * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            int h0 = oh * stride - pad, h1 = h0 + k;
            if (h0 < 0) h0 = 0;
            if (h1 > H) h1 = H;
            for (int ow = 0; ow < OW; ow++) {
                int w0 = ow * stride - pad, w1 = w0 + k;
                if (w0 < 0) w0 = 0;
                if (w1 > W) w1 = W;
                float acc = 0.0f;
                for (int h = h0; h < h1; h++) {
                    const float *r = plane + (long)h * W;
                    for (int w = w0; w < w1; w++) acc += r[w];
                }
                o[oh * OW + ow] = acc * scale;
            }
        }
    }
}

void avgpool2d_backward(float *dinp, const float *dout, int B, int C, int H, int W, int k,
                        int stride, int pad) {
    const int OH = (H + 2 * pad - k) / stride + 1, OW = (W + 2 * pad - k) / stride + 1;
    const float scale = 1.0f / (float)(k * k);
    for (long bc = 0; bc < (long)B * C; bc++) {
        float *plane = dinp + bc * H * W;
        const float *d = dout + bc * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            int h0 = oh * stride - pad, h1 = h0 + k;
            if (h0 < 0) h0 = 0;
            if (h1 > H) h1 = H;
            for (int ow = 0; ow < OW; ow++) {
                int w0 = ow * stride - pad, w1 = w0 + k;
                if (w0 < 0) w0 = 0;
                if (w1 > W) w1 = W;
                float g = d[oh * OW + ow] * scale;
                for (int h = h0; h < h1; h++) {
                    float *r = plane + (long)h * W;
                    for (int w = w0; w < w1; w++) r[w] += g;
                }
            }
        }
    }
}

void global_avgpool_forward(float *out, const float *inp, int B, int C, int HW) {
    const float scale = 1.0f / (float)HW;
    for (long bc = 0; bc < (long)B * C; bc++) {
        out[bc] = sum_lanes(inp + bc * HW, HW) * scale;
    }
}

void global_avgpool_backward(float *dinp, const float *dout, int B, int C, int HW) {
    const float scale = 1.0f / (float)HW;
    for (long bc = 0; bc < (long)B * C; bc++) {
        float *p = dinp + bc * HW;
        float g = dout[bc] * scale;
        for (int i = 0; i < HW; i++) p[i] += g;
    }
}

/* ------------------------------------------------------------------------ */
/* batch norm over (B, C, HW): channel c owns the B strips of HW contiguous
   floats at inp + (b*C + c)*HW.
   The channel sums are the slow part: a single running sum is one long chain
   of dependent adds. The strip helpers below keep 8 independent float lanes
   (which the compiler maps onto SIMD registers) and the caller adds the strip
   totals in double, so precision does not degrade with the batch size.     */

#define NL_LANES 8

/* s += sum(x - shift), ss += sum((x - shift)^2) over one strip */
static void strip_moments(const float *x, int n, float shift, double *s, double *ss) {
    float a[NL_LANES] = {0}, q[NL_LANES] = {0};
    int i = 0;
    for (; i + NL_LANES <= n; i += NL_LANES) {
        for (int j = 0; j < NL_LANES; j++) {
            float v = x[i + j] - shift;
            a[j] += v;
            q[j] += v * v;
        }
    }
    float ta = 0.0f, tq = 0.0f;
    for (; i < n; i++) {
        float v = x[i] - shift;
        ta += v;
        tq += v * v;
    }
    for (int j = 0; j < NL_LANES; j++) {
        ta += a[j];
        tq += q[j];
    }
    *s += ta;
    *ss += tq;
}

/* sd += sum(d), sdx += sum(d * (x - m)) over one strip */
static void strip_dot(const float *d, const float *x, int n, float m, double *sd, double *sdx) {
    float a[NL_LANES] = {0}, q[NL_LANES] = {0};
    int i = 0;
    for (; i + NL_LANES <= n; i += NL_LANES) {
        for (int j = 0; j < NL_LANES; j++) {
            a[j] += d[i + j];
            q[j] += d[i + j] * (x[i + j] - m);
        }
    }
    float ta = 0.0f, tq = 0.0f;
    for (; i < n; i++) {
        ta += d[i];
        tq += d[i] * (x[i] - m);
    }
    for (int j = 0; j < NL_LANES; j++) {
        ta += a[j];
        tq += q[j];
    }
    *sd += ta;
    *sdx += tq;
}

void batchnorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *gamma, const float *beta, float *running_mean,
                       float *running_var, int B, int C, int HW, int train, float momentum,
                       float eps) {
    const long N = (long)B * HW; /* values per channel */
    const long stride = (long)C * HW;
    for (int c = 0; c < C; c++) {
        const float *x0 = inp + (long)c * HW;
        float *y0 = out + (long)c * HW;
        float m, rs;
        if (train) {
            /* One pass for both moments, shifted by the mean of the first
               strip (a cheap estimate of the channel mean), so that
               sum(v^2)/N - mean(v)^2 does not cancel for activations with a
               large mean. */
            float shift = 0.0f;
            for (int i = 0; i < HW; i++) shift += x0[i];
            shift /= (float)HW;
            double s = 0.0, ss = 0.0;
            for (int b = 0; b < B; b++) strip_moments(x0 + b * stride, HW, shift, &s, &ss);
            double dmean = s / (double)N;
            double var = ss / (double)N - dmean * dmean; /* biased: used to normalise */
            if (var < 0.0) var = 0.0;
            m = (float)(dmean + shift);
            rs = (float)(1.0 / sqrt(var + (double)eps));
            if (mean) mean[c] = m;
            if (rstd) rstd[c] = rs;
            if (running_mean && running_var) {
                /* PyTorch tracks the unbiased variance (N-1 denominator) */
                double unbiased = N > 1 ? var * (double)N / (double)(N - 1) : var;
                running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * m;
                running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (float)unbiased;
            }
        } else {
            m = running_mean[c];
            rs = 1.0f / sqrtf(running_var[c] + eps);
            /* written too, so a caller may inspect the statistics used */
            if (mean) mean[c] = m;
            if (rstd) rstd[c] = rs;
        }
        /* y = gamma * (x - m) * rs + beta with gamma * rs folded. Subtracting
           m first (rather than folding it into the offset) keeps the result
           exact when the activations have a large mean. */
        const float scale = (gamma ? gamma[c] : 1.0f) * rs;
        const float shift_out = beta ? beta[c] : 0.0f;
        for (int b = 0; b < B; b++) {
            const float *x = x0 + b * stride;
            float *y = y0 + b * stride;
            for (int i = 0; i < HW; i++) y[i] = (x[i] - m) * scale + shift_out;
        }
    }
}

void batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                        const float *inp, const float *gamma, const float *mean,
                        const float *rstd, int B, int C, int HW) {
    /* With xhat = (x - mean) * rstd and y = gamma * xhat + beta, the batch
       statistics make every x feed every y of its channel:
         dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)).
       Pass 1 gathers the two channel sums (also dbeta and dgamma), pass 2
       writes dx. */
    const long N = (long)B * HW;
    const long stride = (long)C * HW;
    for (int c = 0; c < C; c++) {
        const float *x0 = inp + (long)c * HW;
        const float *d0 = dout + (long)c * HW;
        const float m = mean[c], rs = rstd[c];
        double sum_dy = 0.0, sum_dy_xc = 0.0;
        for (int b = 0; b < B; b++) strip_dot(d0 + b * stride, x0 + b * stride, HW, m, &sum_dy, &sum_dy_xc);
        double sum_dy_xhat = sum_dy_xc * rs;
        if (dbeta) dbeta[c] += (float)sum_dy;
        if (dgamma) dgamma[c] += (float)sum_dy_xhat;
        if (!dinp) continue;
        const float g = gamma ? gamma[c] : 1.0f;
        const float k = g * rs;
        const float mdy = (float)(sum_dy / (double)N);
        const float mdyx = (float)(sum_dy_xhat / (double)N);
        float *di0 = dinp + (long)c * HW;
        for (int b = 0; b < B; b++) {
            const float *x = x0 + b * stride;
            const float *d = d0 + b * stride;
            float *di = di0 + b * stride;
            for (int i = 0; i < HW; i++) {
                float xhat = (x[i] - m) * rs;
                di[i] += k * (d[i] - mdy - xhat * mdyx);
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* elementwise activations                                                    */

void relu_forward(float *out, const float *inp, long n) {
    for (long i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void relu_backward(float *dinp, const float *dout, const float *inp, long n) {
    /* the gradient at exactly 0 is taken as 0, as in PyTorch */
    for (long i = 0; i < n; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
}

void leaky_relu_forward(float *out, const float *inp, long n, float slope) {
    for (long i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : slope * inp[i];
}

void leaky_relu_backward(float *dinp, const float *dout, const float *inp, long n, float slope) {
    for (long i = 0; i < n; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : slope * dout[i];
}

void elu_forward(float *out, const float *inp, long n) {
    for (long i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : expm1f(inp[i]);
}

void elu_backward(float *dinp, const float *dout, const float *inp, long n) {
    /* d/dx (exp(x) - 1) = exp(x) */
    for (long i = 0; i < n; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : dout[i] * expf(inp[i]);
}

void sigmoid_forward(float *out, const float *inp, long n) {
    /* exp of a non-positive number only: no overflow for large |x| */
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        if (x >= 0.0f) {
            out[i] = 1.0f / (1.0f + expf(-x));
        } else {
            float e = expf(x);
            out[i] = e / (1.0f + e);
        }
    }
}

void sigmoid_backward(float *dinp, const float *dout, const float *out, long n) {
    /* from the output alone: s' = s (1 - s) */
    for (long i = 0; i < n; i++) dinp[i] += dout[i] * out[i] * (1.0f - out[i]);
}

void tanh_forward(float *out, const float *inp, long n) {
    for (long i = 0; i < n; i++) out[i] = tanhf(inp[i]);
}

void tanh_backward(float *dinp, const float *dout, const float *out, long n) {
    for (long i = 0; i < n; i++) dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
}

#define NL_SQRT1_2 0.70710678118654752440f     /* 1/sqrt(2) */
#define NL_INV_SQRT_2PI 0.39894228040143267794f /* 1/sqrt(2 pi) */

void gelu_forward(float *out, const float *inp, long n) {
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + erff(x * NL_SQRT1_2));
    }
}

void gelu_backward(float *dinp, const float *dout, const float *inp, long n) {
    /* d/dx [x Phi(x)] = Phi(x) + x phi(x) */
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float cdf = 0.5f * (1.0f + erff(x * NL_SQRT1_2));
        float pdf = NL_INV_SQRT_2PI * expf(-0.5f * x * x);
        dinp[i] += dout[i] * (cdf + x * pdf);
    }
}

/* ------------------------------------------------------------------------ */
/* dropout (inverted): scaling the survivors at train time keeps the expected
   activation unchanged, so evaluation is a plain copy. The mask stores the
   factor applied (0 or 1/(1-p)), which is all the backward pass needs.       */

void dropout_forward(float *out, float *mask, const float *inp, long n, float p, int train,
                     Rng *rng) {
    if (!train || p <= 0.0f || !rng) {
        for (long i = 0; i < n; i++) {
            out[i] = inp[i];
            mask[i] = 1.0f;
        }
        return;
    }
    /* p >= 1 drops everything (and must not divide by zero) */
    const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    for (long i = 0; i < n; i++) {
        /* one draw per value, so the stream position depends only on n */
        float m = rng_uniform(rng) >= p ? keep_scale : 0.0f;
        mask[i] = m;
        out[i] = inp[i] * m;
    }
}

void dropout_backward(float *dinp, const float *dout, const float *mask, long n) {
    for (long i = 0; i < n; i++) dinp[i] += dout[i] * mask[i];
}

/* ------------------------------------------------------------------------ */
/* residual add and flatten: trivial, but written as layers so models read as
   a list of layers and the gradient accumulation rule stays uniform.          */

void residual_forward(float *out, const float *a, const float *b, long n) {
    for (long i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void residual_backward(float *da, float *db, const float *dout, long n) {
    if (da) for (long i = 0; i < n; i++) da[i] += dout[i];
    if (db) for (long i = 0; i < n; i++) db[i] += dout[i];
}

void flatten_forward(float *out, const float *inp, long n) {
    if (out != inp) memcpy(out, inp, sizeof(float) * (size_t)n);
}

void flatten_backward(float *dinp, const float *dout, long n) {
    for (long i = 0; i < n; i++) dinp[i] += dout[i];
}

/* ------------------------------------------------------------------------ */
/* softmax + cross-entropy.
   loss = logsumexp(z) - z_y, computed with the row max subtracted so exp never
   overflows; the loss uses the log-sum directly rather than log(prob), so a
   tiny probability cannot turn into log(0).                                  */

float softmax_ce_forward(float *probs, float *losses, const float *logits, const int *labels,
                         int B, int K) {
    for (int b = 0; b < B; b++) {
        if (labels[b] < 0 || labels[b] >= K) {
            nl_fail("softmax_ce: label %d of sample %d is outside [0, %d). Hint: check that the "
                    "dataset's labels match the model's number of classes.",
                    labels[b], b, K);
            return NAN;
        }
    }
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (long)b * K;
        float *p = probs + (long)b * K;
        float zmax = z[0];
        for (int k = 1; k < K; k++) zmax = z[k] > zmax ? z[k] : zmax;
        float sum = 0.0f;
        for (int k = 0; k < K; k++) {
            p[k] = expf(z[k] - zmax);
            sum += p[k];
        }
        float inv = 1.0f / sum;
        for (int k = 0; k < K; k++) p[k] *= inv;
        float loss = logf(sum) - (z[labels[b]] - zmax);
        if (losses) losses[b] = loss;
        total += loss;
    }
    return (float)(total / (double)B);
}

void softmax_ce_backward(float *dlogits, const float *probs, const int *labels, int B, int K,
                         float dloss) {
    const float scale = dloss / (float)B;
    for (int b = 0; b < B; b++) {
        const float *p = probs + (long)b * K;
        float *d = dlogits + (long)b * K;
        for (int k = 0; k < K; k++) d[k] += scale * p[k];
        /* the forward rejects bad labels; skipping here keeps memory safe */
        if (labels[b] >= 0 && labels[b] < K) d[labels[b]] -= scale;
    }
}
