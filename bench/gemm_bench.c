/* gemm_bench.c: GFLOP/s of sgemm on the shapes that matter, one JSON line per shape.

   Build recipes (native and WASM) are in bench/build_gemm_bench.sh; the WASM
   builds are run by bench/gemm_bench.mjs. Usage:

     gemm_bench [build-name] [--all] [--only SUBSTRING] [--scalar]

   Default shapes: 256x256x256 and the conv shape M=1024 N=64 K=576. --all adds
   CNN-training shapes in the three transpose combinations (forward C = W*X,
   dW = dY*X^T, dX = W^T*dY); --only runs the shapes whose name contains
   SUBSTRING. --scalar also times sgemm_scalar on the headline shapes.
   Each line: {"build":..., "isa":..., "fn":..., "shape":..., "ta":..,"tb":..,
   "M":..,"N":..,"K":.., "gflops":..}. The figure is the median of 7 timed
   repeats of ~0.1 s of CPU time each, after a warm-up of >= 0.5 s (the first
   shape) or 0.2 s. C = A*B with beta = 0, fresh random inputs per shape. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm.h"
#include "rng.h"

typedef void (*gemm_fn)(int, int, int, int, int, float, const float *, int, const float *, int,
                        float, float *, int);

/* CPU time of this thread, not wall time: the machine is shared, and a
   single-threaded kernel should not be charged for the time it sat descheduled.
   Under Node the wasm build asks process.cpuUsage() (user + system of the
   process; V8's helper threads are idle in a steady loop). */
#ifdef __EMSCRIPTEN__
#include <emscripten.h>
EM_JS(double, cpu_seconds, (void), {
    if (typeof process !== "undefined" && process.cpuUsage) {
        const u = process.cpuUsage();
        return (u.user + u.system) * 1e-6;
    }
    return performance.now() * 1e-3;
});
static double now(void) { return cpu_seconds(); }
#else
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
#endif

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *random_matrix(Rng *r, long n) {
    float *m = malloc(n * sizeof(float));
    if (!m) {
        fprintf(stderr, "gemm_bench: out of memory for %ld floats. Hint: use smaller shapes.\n", n);
        exit(1);
    }
    for (long i = 0; i < n; i++) m[i] = 2.0f * rng_uniform(r) - 1.0f;
    return m;
}

static void bench(const char *build, const char *fnname, gemm_fn fn, const char *shape, int ta,
                  int tb, int M, int N, int K, double warmup) {
    Rng r;
    rng_init(&r, 1, STREAM_DATA);
    float *A = random_matrix(&r, (long)M * K), *B = random_matrix(&r, (long)K * N);
    float *C = random_matrix(&r, (long)M * N);
    int lda = ta ? M : K, ldb = tb ? K : N;
    double flop = 2.0 * M * N * K;

    /* calls per timed repeat: about 0.1 s each */
    double t0 = now();
    int calls = 0;
    while (now() - t0 < warmup || calls < 2) {
        fn(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
        calls++;
    }
    double per_call = (now() - t0) / calls;
    int reps = (int)(0.1 / per_call) + 1;

    enum { REPEATS = 7 };
    double gf[REPEATS];
    for (int rep = 0; rep < REPEATS; rep++) {
        double t = now();
        for (int i = 0; i < reps; i++) fn(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
        gf[rep] = flop * reps / (now() - t) * 1e-9;
    }
    qsort(gf, REPEATS, sizeof gf[0], cmp_double);
    printf("{\"build\":\"%s\",\"isa\":\"%s\",\"fn\":\"%s\",\"shape\":\"%s\",\"ta\":%d,\"tb\":%d,"
           "\"M\":%d,\"N\":%d,\"K\":%d,\"gflops\":%.2f}\n",
           build, sgemm_isa(), fnname, shape, ta, tb, M, N, K, gf[REPEATS / 2]);
    fflush(stdout);
    free(A);
    free(B);
    free(C);
}

/* The two headline shapes, then (with --all) a small CNN: conv 3->32 on 32x32,
   32->64 on 16x16, 64->128 on 8x8 (im2col per image; forward C = W*col,
   dW = dY*col^T, dX = W^T*dY) and a dense 3136->128 layer at batch 64. */
static const struct {
    const char *name;
    int extra, ta, tb, M, N, K;
} shapes[] = {
    {"256x256x256", 0, 0, 0, 256, 256, 256},
    {"conv 1024x64x576", 0, 0, 0, 1024, 64, 576},
    {"fwd conv1 32x1024x27", 1, 0, 0, 32, 1024, 27},
    {"dW conv1 32x27x1024", 1, 0, 1, 32, 27, 1024},
    {"dX conv1 27x1024x32", 1, 1, 0, 27, 1024, 32},
    {"fwd conv2 64x256x288", 1, 0, 0, 64, 256, 288},
    {"dW conv2 64x288x256", 1, 0, 1, 64, 288, 256},
    {"dX conv2 288x256x64", 1, 1, 0, 288, 256, 64},
    {"fwd conv3 128x64x576", 1, 0, 0, 128, 64, 576},
    {"dW conv3 128x576x64", 1, 0, 1, 128, 576, 64},
    {"dX conv3 576x64x128", 1, 1, 0, 576, 64, 128},
    {"fwd dense 64x128x3136", 1, 0, 1, 64, 128, 3136},
    {"dW dense 128x3136x64", 1, 1, 0, 128, 3136, 64},
    {"dX dense 64x3136x128", 1, 0, 0, 64, 3136, 128},
};

int main(int argc, char **argv) {
    const char *build = "native", *only = NULL;
    int all = 0, scalar = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--all"))
            all = 1;
        else if (!strcmp(argv[i], "--scalar"))
            scalar = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i], all = 1;
        else
            build = argv[i];
    }
    /* The first shape gets the long warm-up: it brings the CPU clock (and V8's
       optimising tier) up; later shapes only need their caches warm. */
    double warmup = 0.5;
    for (int f = 0; f < 1 + scalar; f++)
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            if ((shapes[i].extra && !all) || (only && !strstr(shapes[i].name, only))) continue;
            if (f == 1 && shapes[i].extra) continue; /* the scalar twin: headline shapes only */
            bench(build, f ? "sgemm_scalar" : "sgemm", f ? sgemm_scalar : sgemm, shapes[i].name,
                  shapes[i].ta, shapes[i].tb, shapes[i].M, shapes[i].N, shapes[i].K, warmup);
            warmup = 0.2;
        }
    return 0;
}
