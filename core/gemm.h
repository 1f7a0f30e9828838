/* gemm.h: single-precision matrix multiply, the one hot loop of noisylab.

   sgemm computes C = alpha * op(A) * op(B) + beta * C on row-major matrices,
   where op(X) is X or its transpose (transa/transb = 0 or 1). op(A) is M x K,
   op(B) is K x N, C is M x N; lda/ldb/ldc are row strides in floats.
   beta == 0 means C is write-only (its old contents may be NaN).

   One blocked algorithm (pack A and B into panels, MR x NR register-tile
   microkernel) is compiled for whatever vector unit the build targets, through
   the small abstraction in simd.h: WASM SIMD128 (-msimd128), SSE/NEON 128-bit,
   AVX2+FMA or AVX-512 (when the compiler targets them and NL_VEC128 is not
   defined), or plain scalar. sgemm_scalar is the scalar twin: the same blocking
   and the same order of summation over k, written without vectors; it is the
   oracle in the kernel tests.

   Not thread-safe: packing buffers are static (one module instance = one
   thread, as in the Web Worker). */
#ifndef NL_GEMM_H
#define NL_GEMM_H

void sgemm(int transa, int transb, int M, int N, int K, float alpha, const float *A, int lda,
           const float *B, int ldb, float beta, float *C, int ldc);
void sgemm_scalar(int transa, int transb, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* the textbook triple loop, for tests only */
void sgemm_naive(int transa, int transb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc);
/* the vector unit sgemm was built for: "wasm-simd128", "avx512", "avx2", "sse", "neon", "scalar" */
const char *sgemm_isa(void);

#endif
