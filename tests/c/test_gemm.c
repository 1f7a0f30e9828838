/* test_gemm.c: sgemm against its scalar twin and the textbook triple loop.

   Every case runs sgemm, sgemm_scalar and sgemm_naive on the same inputs and checks:
   - sgemm == sgemm_scalar bit for bit where the build has no fused multiply-add
     (VF_FMA 0: SSE, NEON, WASM SIMD128, scalar); within the rounding-error bound
     below otherwise (AVX2, AVX-512);
   - sgemm == sgemm_naive bit for bit for K <= 64 without FMA (one k block: the
     same sum in the same order), and within the bound for every K;
   - the bound: |error| <= (K + 2) * 2^-23 * (|alpha| * sum_k |a_ik b_kj| + |beta c_ij|),
     the classic worst case of a float dot product;
   - no NaN escapes: the padding of A and B (lda, ldb larger than needed) is NaN
     and must never be read, and with beta == 0 C starts as NaN and must be
     overwritten, not scaled;
   - the padding of C (ldc > N) is untouched, A and B are unchanged.
   Sizes: every M in 0..2*8+1 and N in 0..2*NR+1 (NR = 2 vector widths) with a
   set of small K (tile edges), K around the k block (255..257, 513), and a few
   shapes larger than the cache blocks, in all four transpose combinations with
   beta in {0, 1, 0.5} and alpha in {1, -1.5, 0.25}. The max abs differences are
   printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gemm.h"
#include "rng.h"
#include "simd.h"

#define SENTINEL 12345.0f

static Rng rng;
static double max_twin, max_naive; /* max |sgemm - twin|, |sgemm - naive| */
static long ncases;

static float *alloc_floats(long n) {
    float *p = malloc((n > 0 ? n : 1) * sizeof(float));
    if (!p) {
        fprintf(stderr, "test_gemm: out of memory. Hint: free some memory.\n");
        exit(1);
    }
    return p;
}

/* rows x cols matrix with row stride ld: random values, NaN in the padding */
static float *random_matrix(int rows, int cols, int ld) {
    float *m = alloc_floats((long)rows * ld);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < ld; j++) m[(long)i * ld + j] = j < cols ? 2.0f * rng_uniform(&rng) - 1.0f : NAN;
    return m;
}

static void run_case(int ta, int tb, int M, int N, int K, float alpha, float beta, int pad) {
    int arows = ta ? K : M, acols = ta ? M : K, brows = tb ? N : K, bcols = tb ? K : N;
    int lda = acols + pad, ldb = bcols + pad, ldc = N + pad;
    if (lda < 1) lda = 1;
    if (ldb < 1) ldb = 1;
    if (ldc < 1) ldc = 1;
    float *A = random_matrix(arows, acols, lda), *B = random_matrix(brows, bcols, ldb);
    long asz = (long)arows * lda, bsz = (long)brows * ldb, csz = (long)M * ldc;
    float *A0 = alloc_floats(asz), *B0 = alloc_floats(bsz);
    memcpy(A0, A, asz * sizeof(float));
    memcpy(B0, B, bsz * sizeof(float));
    float *C0 = alloc_floats(csz), *C1 = alloc_floats(csz), *C2 = alloc_floats(csz),
          *C3 = alloc_floats(csz);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++)
            C0[(long)i * ldc + j] = j >= N ? SENTINEL : beta == 0.0f ? NAN : 2.0f * rng_uniform(&rng) - 1.0f;
    memcpy(C1, C0, csz * sizeof(float));
    memcpy(C2, C0, csz * sizeof(float));
    memcpy(C3, C0, csz * sizeof(float));

    sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
    sgemm_scalar(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
    sgemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C3, ldc);

    int exact = !VF_FMA, bad = 0;
    for (int i = 0; i < M && bad < 3; i++)
        for (int j = 0; j < ldc && bad < 3; j++) {
            long ij = (long)i * ldc + j;
            if (j >= N) { /* padding of C */
                if (C1[ij] != SENTINEL || C2[ij] != SENTINEL) {
                    CHECK(0, "ldc padding written at (%d,%d): ta=%d tb=%d M=%d N=%d K=%d", i, j, ta,
                          tb, M, N, K);
                    bad++;
                }
                continue;
            }
            double bound = beta == 0.0f ? 0.0 : fabs(beta * C0[ij]);
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(long)k * lda + i] : A[(long)i * lda + k];
                float b = tb ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
                bound += fabs(alpha) * fabs((double)a * b);
            }
            double tol = (K + 2) * 0x1p-23 * bound + 1e-30;
            double d2 = fabs((double)C1[ij] - C2[ij]), d3 = fabs((double)C1[ij] - C3[ij]);
            if (d2 > max_twin) max_twin = d2;
            if (d3 > max_naive) max_naive = d3;
            int ok = isfinite(C1[ij]) && isfinite(C2[ij]) &&
                     (exact ? C1[ij] == C2[ij] : d2 <= 2 * tol) && d3 <= tol &&
                     (!exact || K > 64 || C1[ij] == C3[ij]);
            if (!ok) {
                CHECK(0, "C(%d,%d) ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g pad=%d: "
                      "sgemm %.9g twin %.9g naive %.9g (tol %.3g)", i, j, ta, tb, M, N, K,
                      (double)alpha, (double)beta, pad, (double)C1[ij], (double)C2[ij],
                      (double)C3[ij], tol);
                bad++;
            }
        }
    CHECK(bad == 0, "case ta=%d tb=%d M=%d N=%d K=%d", ta, tb, M, N, K);
    CHECK(!memcmp(A, A0, asz * sizeof(float)) || asz == 0, "A modified");
    CHECK(!memcmp(B, B0, bsz * sizeof(float)) || bsz == 0, "B modified");
    ncases++;
    free(A), free(B), free(A0), free(B0), free(C0), free(C1), free(C2), free(C3);
}

static const float alphas[] = {1.0f, -1.5f, 0.25f}, betas[] = {0.0f, 1.0f, 0.5f};

/* all 4 transpose combinations x 3 betas, cycling alpha and the padding */
static void run_all(int M, int N, int K) {
    static int turn;
    for (int t = 0; t < 4; t++)
        for (int b = 0; b < 3; b++, turn++)
            run_case(t >> 1, t & 1, M, N, K, alphas[turn % 3], betas[b], turn % 2 ? 3 : 0);
}

/* alpha == 0: C = beta * C, and A, B are not even read (here: all NaN) */
static void alpha_zero(void) {
    int M = 5, N = 7, K = 3;
    float A[15], B[21], C[35];
    for (int i = 0; i < 15; i++) A[i] = NAN;
    for (int i = 0; i < 21; i++) B[i] = NAN;
    for (int i = 0; i < 35; i++) C[i] = (float)i;
    sgemm(0, 0, M, N, K, 0.0f, A, K, B, N, 0.5f, C, N);
    int ok = 1;
    for (int i = 0; i < 35; i++) ok &= C[i] == 0.5f * (float)i;
    CHECK(ok, "alpha == 0 must give C = beta*C without reading A and B");
    sgemm(0, 0, M, N, K, 0.0f, A, K, B, N, 0.0f, C, N);
    ok = 1;
    for (int i = 0; i < 35; i++) ok &= C[i] == 0.0f;
    CHECK(ok, "alpha == 0, beta == 0 must give C = 0");
}

int main(void) {
    rng_init(&rng, 42, STREAM_DATA);
    int tn = 2 * VF_WIDTH < 4 ? 4 : 2 * VF_WIDTH; /* NR of this build's tile */
    printf("sgemm isa: %s (VF_WIDTH %d, %s)\n", sgemm_isa(), VF_WIDTH,
           VF_FMA ? "fused multiply-add: twin within tolerance" : "no FMA: twin bit-exact");
    CHECK(strlen(sgemm_isa()) > 0, "sgemm_isa");

    /* tile edges: every M, N up to two tiles (+1), small K */
    static const int ks[] = {0, 1, 2, 3, 5, 8, 13};
    for (int M = 0; M <= 17; M++)
        for (int N = 0; N <= 2 * tn + 1; N++)
            for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) run_all(M, N, ks[k]);
    /* around the k blocks (KC = 256): one block, two unequal, two equal, three */
    static const int kbig[] = {255, 256, 257, 513};
    static const int mn[] = {1, 3, 4, 9, 17};
    for (size_t k = 0; k < sizeof kbig / sizeof kbig[0]; k++)
        for (size_t m = 0; m < sizeof mn / sizeof mn[0]; m++) run_all(mn[m], mn[(m + 2) % 5] + tn, kbig[k]);
    /* larger than the cache blocks (MC = 128 rows, NC = 1024 columns) */
    run_all(300, 70, 600);
    run_all(7, 1024 + 2 * tn + 3, 5);
    run_all(130, 33, 70);
    alpha_zero();

    printf("%ld cases; max |sgemm - sgemm_scalar| = %.3g, max |sgemm - sgemm_naive| = %.3g\n",
           ncases, max_twin, max_naive);
    return check_summary("test_gemm");
}
