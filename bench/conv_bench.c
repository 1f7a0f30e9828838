/* conv_bench.c: is im2col + GEMM the faster way to run conv2d here?

   Times the forward pass of three CNN layers (batch 64) two ways:
     - im2col+gemm: conv2d_forward of core/layers.c, the method the lab uses;
     - direct:      a vectorised direct 3x3 convolution (below): zero-padded input
                    planes, 4 output channels x VF_WIDTH output pixels held in
                    registers, every (channel, tap) a broadcast multiply-add.
   Prints one JSON line per (layer, method) with ms and GFLOP/s, median of several
   repeats after a warm-up. The direct kernel is checked against conv2d_forward
   before timing, so a fast wrong answer cannot win.

   usage: conv_bench BUILD_NAME        (bench/build_gemm_bench.sh builds it) */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layers.h"
#include "rng.h"
#include "simd.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* out (B, OC, H, W) = 3x3 stride-1 pad-1 convolution of inp (B, C, H, W); pad is
   scratch of C*(H+2)*(W+2) floats. OC must be a multiple of 4, W of VF_WIDTH. */
static void conv3x3_direct(float *out, float *pad, const float *inp, const float *w,
                           const float *bias, int B, int C, int H, int W, int OC) {
    const int PW = W + 2, PH = H + 2;
    memset(pad, 0, sizeof(float) * (size_t)C * PH * PW);
    for (int b = 0; b < B; b++) {
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                memcpy(pad + ((long)c * PH + y + 1) * PW + 1, inp + (((long)b * C + c) * H + y) * W,
                       sizeof(float) * (size_t)W);
        for (int oc = 0; oc < OC; oc += 4) {
            const float *w0 = w + (long)oc * C * 9;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x += VF_WIDTH) {
                    vf a0 = vf_splat(bias[oc]), a1 = vf_splat(bias[oc + 1]);
                    vf a2 = vf_splat(bias[oc + 2]), a3 = vf_splat(bias[oc + 3]);
                    for (int c = 0; c < C; c++) {
                        const float *row = pad + ((long)c * PH + y) * PW + x;
                        const float *k = w0 + c * 9;
                        for (int t = 0; t < 9; t++) {
                            vf v = vf_load(row + (t / 3) * PW + t % 3);
                            a0 = vf_fmadd(v, vf_splat(k[t]), a0);
                            a1 = vf_fmadd(v, vf_splat(k[t + C * 9]), a1);
                            a2 = vf_fmadd(v, vf_splat(k[t + 2 * C * 9]), a2);
                            a3 = vf_fmadd(v, vf_splat(k[t + 3 * C * 9]), a3);
                        }
                    }
                    float *o = out + (((long)b * OC + oc) * H + y) * W + x;
                    long plane = (long)H * W;
                    vf_store(o, a0), vf_store(o + plane, a1), vf_store(o + 2 * plane, a2), vf_store(o + 3 * plane, a3);
                }
        }
    }
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *build = argc > 1 ? argv[1] : "native";
    static const int layers[3][4] = {{3, 32, 32, 32}, {32, 64, 16, 16}, {64, 64, 32, 32}}; /* C, OC, H, W */
    const int B = 64;
    Rng rng;
    rng_init(&rng, 1, STREAM_INIT);
    for (int l = 0; l < 3; l++) {
        int C = layers[l][0], OC = layers[l][1], H = layers[l][2], W = layers[l][3];
        ConvShape s = conv2d_shape(C, H, W, OC, 3, 3, 1, 1);
        long nin = (long)B * C * H * W, nout = (long)B * OC * H * W, nw = (long)OC * C * 9;
        float *in = malloc(sizeof(float) * nin), *w = malloc(sizeof(float) * nw), *bias = calloc(OC, sizeof(float));
        float *o1 = malloc(sizeof(float) * nout), *o2 = malloc(sizeof(float) * nout);
        float *col = malloc(sizeof(float) * conv2d_col_size(&s)), *pad = malloc(sizeof(float) * C * (H + 2) * (W + 2));
        for (long i = 0; i < nin; i++) in[i] = rng_normal(&rng);
        for (long i = 0; i < nw; i++) w[i] = 0.1f * rng_normal(&rng);
        conv2d_forward(o1, col, in, w, bias, B, &s);
        conv3x3_direct(o2, pad, in, w, bias, B, C, H, W, OC);
        double err = 0;
        for (long i = 0; i < nout; i++) err = fmax(err, fabs(o1[i] - o2[i]));
        if (err > 1e-3) {
            fprintf(stderr, "conv_bench: direct and im2col differ by %g\n", err);
            return 1;
        }
        double flop = 2.0 * nout * C * 9;
        for (int method = 0; method < 2; method++) {
            double t0 = now(), times[7];
            while (now() - t0 < 0.5) /* warm-up: V8 optimises hot code late */
                method ? conv3x3_direct(o2, pad, in, w, bias, B, C, H, W, OC) : conv2d_forward(o1, col, in, w, bias, B, &s);
            for (int r = 0; r < 7; r++) {
                double t = now();
                method ? conv3x3_direct(o2, pad, in, w, bias, B, C, H, W, OC) : conv2d_forward(o1, col, in, w, bias, B, &s);
                times[r] = now() - t;
            }
            qsort(times, 7, sizeof times[0], cmp);
            printf("{\"build\":\"%s\",\"layer\":\"%dx%dx%d->%d\",\"method\":\"%s\",\"ms\":%.3f,\"gflops\":%.2f}\n",
                   build, C, H, W, OC, method ? "direct" : "im2col+gemm", times[3] * 1e3, flop / times[3] / 1e9);
        }
        free(in), free(w), free(bias), free(o1), free(o2), free(col), free(pad);
    }
    return 0;
}
