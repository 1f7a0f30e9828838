/* gemm.c: blocked SGEMM (see gemm.h for the contract).

   The algorithm is the BLIS/Goto one:

     for jc over N in steps of NC:                 B block  KC x NC  (L3)
       for pc over K in steps of KC:
         pack op(B)[pc.., jc..] into KC x NR panels
         for ic over M in steps of MC:             A block  MC x KC  (L2)
           pack op(A)[ic.., pc..] into MR x KC panels
           for jr over the NR panels of B:         B panel  KC x NR  (L1)
             for ir over the MR panels of A:
               microkernel: MR x NR tile of C += A panel * B panel

   Packing does three jobs at once: it absorbs the transposes (the kernel only
   ever sees op(A) and op(B)), it makes the kernel's reads contiguous, and it
   zero-pads edge panels so the kernel always runs on full tiles. Edge tiles of
   C are computed into a small buffer and only their valid part is written.

   Per element, the arithmetic is fixed: K is cut into ceil(K / KC) blocks of
   equal size, and for each block in order acc = ((0 + a0*b0) + a1*b1) + ...,
   then C = alpha*acc + beta*C for the first block, C = alpha*acc + C for the
   later ones. The scalar twin does exactly
   the same operations in the same order, so where the vector unit has no fused
   multiply-add (SSE, NEON, WASM SIMD128) sgemm and sgemm_scalar agree bit for
   bit. The driver is shared; only the microkernel differs.

   The packing buffers are static: not thread-safe, one module instance = one
   thread (as in the Web Worker). */
#include "gemm.h"

#include "simd.h"

/* Register tile MR x NR, NR = NV vectors (GEMM_MR/GEMM_NV/GEMM_KC/GEMM_MC/GEMM_NC
   may be overridden with -D for tuning). The accumulators (MR*NV vectors), the
   NV vectors of B and the broadcasts of A must stay in registers:
     AVX-512  8 x 32: 16 of 32 zmm (6, 12 and 14 rows measured slower)
     AVX2     6 x 16: 12 + 2 + 1 of 16 ymm
     4 lanes  4 x  8: the binding constraint is V8, not the CPU: on x64 it
              allocates from 15 xmm, emits all loads of a k step before the
              arithmetic, and mul+add needs a temporary: 8 + 2 + 4 + 1 = 15.
              5 x 8 or 6 x 8 spill there. Native SSE/NEON use the same tile, so
              that the WASM kernel is compared with the same kernel natively.
     scalar   2 x  4: the fastest scalar tile under V8 (4 x 4 spills). */
#ifndef GEMM_MR
#if VF_WIDTH == 16
#define GEMM_MR 8
#define GEMM_NV 2
#elif VF_WIDTH == 8
#define GEMM_MR 6
#define GEMM_NV 2
#elif VF_WIDTH == 4
#define GEMM_MR 4
#define GEMM_NV 2
#else
#define GEMM_MR 2
#define GEMM_NV 4
#endif
#endif

#define MR GEMM_MR
#define NV GEMM_NV
#define NR (NV * VF_WIDTH)

/* Cache blocks: a KC x NR panel of B (8 KB for 128-bit) stays in L1 while the
   MC x KC block of A (128 KB) streams from L2 past it; the KC x NC block of B
   lives in L2/L3. Measured flat within +-2% for KC 192..512 and MC 64..256. */
#ifndef GEMM_KC
#define GEMM_KC 256
#endif
#ifndef GEMM_MC
#define GEMM_MC 128
#endif
#ifndef GEMM_NC
#define GEMM_NC 1024
#endif
#define KC GEMM_KC
#define MC ((GEMM_MC + MR - 1) / MR * MR)
#define NC ((GEMM_NC + NR - 1) / NR * NR)

static _Alignas(64) float packa[MC * KC];
static _Alignas(64) float packb[KC * NC];

static int imin(int a, int b) { return a < b ? a : b; }

/* The driver and the vector kernel are forced inline into sgemm, so that the
   k loop ends up nested six deep in one function: V8 unrolls small wasm loops
   by (depth + 1) * 50 / size, up to 5x, and that unrolling is what removes most
   of its per-step loop overhead (gcc does not care either way). */
#if defined(__GNUC__)
#define NL_INLINE static inline __attribute__((always_inline))
#define NL_NOINLINE static __attribute__((noinline))
#else
#define NL_INLINE static inline
#define NL_NOINLINE static
#endif

/* ---- packing */

/* Packs a kc x n block X of op(A) or op(B), element [k][j] at X[k*sk + j*sj],
   into panels of W columns: panel p holds [k][p*W + j] at dst[p*W*kc + k*W + j],
   zero-padded past n. Packing A (W = MR, j = row of op(A)) and B (W = NR) is
   the same operation; the transpose flags only swap the strides.
   Access order matters as much as the copy itself: with power-of-two strides
   (ldb = 1024, or a panel of 8 x 128 floats = 4 KB) a long walk down a column
   of the source or across the panels maps every access to one L1 set. And the
   loops are shaped so that clang cannot turn them into memcpy calls, which
   cost a call per row in WASM. */
NL_INLINE void pack(int W, int kc, int n, const float *X, long sk, long sj,
                    float *restrict dst) {
    int nfull = n / W * W;
    if (sj == 1 && W % VF_WIDTH == 0) { /* rows contiguous: vector copies */
        /* 8 rows at a time, so that neither the 8 source rows nor the panel
           being written can fill an L1 set, whatever the strides */
        for (int k0 = 0; k0 < kc; k0 += 8) {
            int k1 = imin(k0 + 8, kc);
            for (int p = 0; p < nfull; p += W)
                for (int j = 0; j < W; j += VF_WIDTH) /* k innermost: no memcpy idiom */
                    for (int k = k0; k < k1; k++)
                        vf_store(dst + (long)p * kc + k * W + j, vf_load(X + k * sk + p + j));
        }
    } else {
        for (int p = 0; p < nfull; p += W) {
            const float *x = X + p * sj;
            float *d = dst + (long)p * kc;
            int j4 = 0, k4 = 0;
#ifdef V4
            if (sk == 1) { /* k contiguous: transpose 4x4 blocks, 4 source rows at a time */
                j4 = W / 4 * 4, k4 = kc / 4 * 4;
                for (int j = 0; j < j4; j += 4)
                    for (int k = 0; k < k4; k += 4) {
                        v4 r0 = v4_load(x + j * sj + k), r1 = v4_load(x + (j + 1) * sj + k);
                        v4 r2 = v4_load(x + (j + 2) * sj + k), r3 = v4_load(x + (j + 3) * sj + k);
                        v4_transpose(&r0, &r1, &r2, &r3);
                        v4_store(d + k * W + j, r0);
                        v4_store(d + (k + 1) * W + j, r1);
                        v4_store(d + (k + 2) * W + j, r2);
                        v4_store(d + (k + 3) * W + j, r3);
                    }
            }
#endif
            if (sj == 1) /* rows contiguous, W not a multiple of the vector width */
                for (int k = 0; k < kc; k++)
                    for (int j = 0; j < W; j++) d[k * W + j] = x[k * sk + j];
            else /* the rest, one source row at a time */
                for (int j = 0; j < W; j++)
                    for (int k = j < j4 ? k4 : 0; k < kc; k++) d[k * W + j] = x[j * sj + k * sk];
        }
    }
    if (nfull < n) { /* the edge panel, zero-padded; again along source rows */
        const float *x = X + nfull * sj;
        float *d = dst + (long)nfull * kc;
        int w = n - nfull;
        if (sj == 1)
            for (int k = 0; k < kc; k++)
                for (int j = 0; j < W; j++) d[k * W + j] = j < w ? x[k * sk + j] : 0.0f;
        else
            for (int j = 0; j < W; j++)
                for (int k = 0; k < kc; k++) d[k * W + j] = j < w ? x[j * sj + k * sk] : 0.0f;
    }
}

NL_NOINLINE void pack_b(int transb, int kc, int nc, const float *B, int ldb, float *dst) {
    pack(NR, kc, nc, B, transb ? 1 : ldb, transb ? ldb : 1, dst);
}

NL_NOINLINE void pack_a(int transa, int mc, int kc, const float *A, int lda, float *dst) {
    pack(MR, kc, mc, A, transa ? lda : 1, transa ? 1 : lda, dst);
}

/* ---- microkernels: C tile (MR x NR at c, row stride ldc) = alpha * a*b + beta * C,
   where a is an MR x kc panel and b a kc x NR panel. beta == 0 never reads C. */

typedef void (*kernel_fn)(int kc, const float *a, const float *b, float *c, int ldc, float alpha,
                          float beta);

/* Writes an mr x nr tile t (row stride NR) into C. The same operations as the
   vector store below, element by element. */
static void store_tile(const float *t, float *c, int ldc, int mr, int nr, float alpha,
                       float beta) {
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float v = t[i * NR + j], *p = c + (long)i * ldc + j;
            if (alpha != 1.0f) v = v * alpha;
            if (beta == 0.0f) {
                *p = v;
            } else if (beta == 1.0f) {
                *p = v + *p;
            } else {
                float w = beta * *p;
                *p = v + w;
            }
        }
}

/* One step of k: acc += a[0..MR) (outer product) b[0..NR). Two orders of the
   same operations: with 4-lane vectors (4 x 8 tile) all MR broadcasts fit in
   registers next to the accumulators, and loading them first runs ~4% faster
   under V8; the wider tiles (AVX2 6 x 16) would spill that way, so they
   broadcast one row at a time. */
static inline void kstep(vf acc[MR][NV], const float *restrict a, const float *restrict b) {
#if VF_WIDTH == 4
    vf av[MR];
    for (int i = 0; i < MR; i++) av[i] = vf_splat(a[i]);
    for (int j = 0; j < NV; j++) {
        vf bj = vf_load(b + j * VF_WIDTH);
        for (int i = 0; i < MR; i++) acc[i][j] = vf_fmadd(av[i], bj, acc[i][j]);
    }
#else
    vf bv[NV];
    for (int j = 0; j < NV; j++) bv[j] = vf_load(b + j * VF_WIDTH);
    for (int i = 0; i < MR; i++) {
        vf ai = vf_splat(a[i]);
        for (int j = 0; j < NV; j++) acc[i][j] = vf_fmadd(ai, bv[j], acc[i][j]);
    }
#endif
}

NL_INLINE void kernel_vec(int kc, const float *restrict a, const float *restrict b,
                          float *restrict c, int ldc, float alpha, float beta) {
    vf acc[MR][NV];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NV; j++) acc[i][j] = vf_zero();
    /* kc >= 1. Ending on a pointer compare (no counter) saves V8 an add per step. */
    const float *bend = b + (long)kc * NR;
    do {
        kstep(acc, a, b);
        a += MR, b += NR;
    } while (b != bend);
    vf va = vf_splat(alpha), vb = vf_splat(beta);
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NV; j++) {
            float *p = c + (long)i * ldc + j * VF_WIDTH;
            vf v = acc[i][j];
            if (alpha != 1.0f) v = vf_mul(v, va);
            if (beta == 1.0f)
                v = vf_add(v, vf_load(p));
            else if (beta != 0.0f)
                v = vf_add(v, vf_mul(vb, vf_load(p)));
            vf_store(p, v);
        }
}

static void kernel_scalar(int kc, const float *restrict a, const float *restrict b,
                          float *restrict c, int ldc, float alpha, float beta) {
    float acc[MR * NR] = {0};
    for (int k = 0; k < kc; k++, a += MR, b += NR)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) {
                float p = a[i] * b[j]; /* separate statement: never fused */
                acc[i * NR + j] += p;
            }
    store_tile(acc, c, ldc, MR, NR, alpha, beta);
}

/* ---- the driver */

/* C = beta * C (K == 0 or alpha == 0: A and B are not read). */
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (long)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < N; j++) c[j] = 0.0f;
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++) c[j] = beta * c[j];
    }
}

NL_INLINE void gemm_blocked(kernel_fn kernel, int transa, int transb, int M, int N, int K,
                            float alpha, const float *A, int lda, const float *B, int ldb,
                            float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    /* k blocks of equal size (K = 576 -> 3 x 192, not 256 + 256 + 64): every
       block pays the same C-tile load/store, so a short last block is waste. */
    int nk = (K + KC - 1) / KC, kcb = (K + nk - 1) / nk;
    for (int jc = 0; jc < N; jc += NC) {
        int nc = imin(NC, N - jc);
        for (int pc = 0; pc < K; pc += kcb) {
            int kc = imin(kcb, K - pc);
            const float *b = transb ? B + (long)jc * ldb + pc : B + (long)pc * ldb + jc;
            pack_b(transb, kc, nc, b, ldb, packb);
            float bet = pc == 0 ? beta : 1.0f; /* later k blocks accumulate */
            for (int ic = 0; ic < M; ic += MC) {
                int mc = imin(MC, M - ic);
                const float *a = transa ? A + (long)pc * lda + ic : A + (long)ic * lda + pc;
                pack_a(transa, mc, kc, a, lda, packa);
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = imin(NR, nc - jr);
                    const float *bp = packb + (long)jr * kc;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = imin(MR, mc - ir);
                        const float *ap = packa + (long)ir * kc;
                        float *c = C + (long)(ic + ir) * ldc + jc + jr;
                        if (mr == MR && nr == NR) {
                            kernel(kc, ap, bp, c, ldc, alpha, bet);
                        } else {
                            float t[MR * NR];
                            kernel(kc, ap, bp, t, NR, 1.0f, 0.0f);
                            store_tile(t, c, ldc, mr, nr, alpha, bet);
                        }
                    }
                }
            }
        }
    }
}

void sgemm(int transa, int transb, int M, int N, int K, float alpha, const float *A, int lda,
           const float *B, int ldb, float beta, float *C, int ldc) {
    gemm_blocked(kernel_vec, transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_scalar(int transa, int transb, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    gemm_blocked(kernel_scalar, transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_naive(int transa, int transb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++) {
                float a = transa ? A[(long)k * lda + i] : A[(long)i * lda + k];
                float b = transb ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
                float p = a * b;
                s += p;
            }
            float *c = C + (long)i * ldc + j;
            float v = alpha * s;
            if (beta == 0.0f)
                *c = v;
            else {
                float w = beta * *c;
                *c = v + w;
            }
        }
}

const char *sgemm_isa(void) { return VF_ISA; }
