/* simd.h: the one small vector abstraction of noisylab.

   A vf holds VF_WIDTH floats. The operations are the few a GEMM microkernel
   needs: unaligned load/store, splat, zero, add, mul and
   vf_fmadd(a, b, acc) = acc + a * b. The unit is chosen from the compiler's
   target macros, first match wins:

     NL_SCALAR defined     scalar, VF_WIDTH 1 (forces it on any target)
     __wasm_simd128__      WASM SIMD128 (emcc -msimd128), 4 lanes
     __AVX512F__           AVX-512F, 16 lanes, fused multiply-add  } unless NL_VEC128
     __AVX2__ && __FMA__   AVX2, 8 lanes, fused multiply-add       } is defined
     __SSE2__              SSE, 4 lanes
     __ARM_NEON            NEON, 4 lanes
     otherwise             scalar, VF_WIDTH 1

   The 128-bit units compute fmadd as a multiply, then an add, each rounded to
   float (VF_FMA 0): exactly the scalar C `p = a * b; acc + p`. That is what lets
   sgemm match its scalar twin bit for bit on those builds. It relies on the
   compiler not fusing a separate mul and add by itself: gcc in ISO mode
   (-std=c11) uses -ffp-contract=off, clang only fuses within one expression,
   and WASM has no fused multiply-add at all. Relaxed SIMD (which has one) is
   deliberately not used: clang 14 emits pre-standard opcodes that Node and
   Chromium reject.

   Besides vf, every SIMD build has a 4-float v4 with load, store and a 4x4
   transpose (V4 defined), whatever its vf width; GEMM packing transposes with it.

   VF_ISA names the unit: "wasm-simd128", "avx512", "avx2", "sse", "neon" or
   "scalar". This is the only file of core/ with intrinsics. */
#ifndef NL_SIMD_H
#define NL_SIMD_H

#if defined(NL_SCALAR)
#define NL_SIMD_SCALAR 1

#elif defined(__wasm_simd128__)
#include <wasm_simd128.h>
typedef v128_t vf;
#define VF_WIDTH 4
#define VF_FMA 0
#define VF_ISA "wasm-simd128"
static inline vf vf_load(const float *p) { return wasm_v128_load(p); }
static inline void vf_store(float *p, vf v) { wasm_v128_store(p, v); }
static inline vf vf_splat(float x) { return wasm_f32x4_splat(x); }
static inline vf vf_zero(void) { return wasm_f32x4_splat(0.0f); }
static inline vf vf_add(vf a, vf b) { return wasm_f32x4_add(a, b); }
static inline vf vf_mul(vf a, vf b) { return wasm_f32x4_mul(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf acc) { return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b)); }

#define V4 1
typedef v128_t v4;
static inline v4 v4_load(const float *p) { return wasm_v128_load(p); }
static inline void v4_store(float *p, v4 v) { wasm_v128_store(p, v); }
static inline void v4_transpose(v4 *r0, v4 *r1, v4 *r2, v4 *r3) {
    v4 t0 = wasm_i32x4_shuffle(*r0, *r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(*r0, *r1, 2, 6, 3, 7);
    v4 t2 = wasm_i32x4_shuffle(*r2, *r3, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(*r2, *r3, 2, 6, 3, 7);
    *r0 = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);
    *r1 = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
    *r2 = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
    *r3 = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}

#elif defined(__SSE2__)
#include <immintrin.h>
#if defined(__AVX512F__) && !defined(NL_VEC128)
typedef __m512 vf;
#define VF_WIDTH 16
#define VF_FMA 1
#define VF_ISA "avx512"
static inline vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline vf vf_splat(float x) { return _mm512_set1_ps(x); }
static inline vf vf_zero(void) { return _mm512_setzero_ps(); }
static inline vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf acc) { return _mm512_fmadd_ps(a, b, acc); }
#elif defined(__AVX2__) && defined(__FMA__) && !defined(NL_VEC128)
typedef __m256 vf;
#define VF_WIDTH 8
#define VF_FMA 1
#define VF_ISA "avx2"
static inline vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
static inline vf vf_splat(float x) { return _mm256_set1_ps(x); }
static inline vf vf_zero(void) { return _mm256_setzero_ps(); }
static inline vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf acc) { return _mm256_fmadd_ps(a, b, acc); }
#else
typedef __m128 vf;
#define VF_WIDTH 4
#define VF_FMA 0
#define VF_ISA "sse"
static inline vf vf_load(const float *p) { return _mm_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm_storeu_ps(p, v); }
static inline vf vf_splat(float x) { return _mm_set1_ps(x); }
static inline vf vf_zero(void) { return _mm_setzero_ps(); }
static inline vf vf_add(vf a, vf b) { return _mm_add_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm_mul_ps(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf acc) { return _mm_add_ps(acc, _mm_mul_ps(a, b)); }
#endif

#define V4 1
typedef __m128 v4;
static inline v4 v4_load(const float *p) { return _mm_loadu_ps(p); }
static inline void v4_store(float *p, v4 v) { _mm_storeu_ps(p, v); }
static inline void v4_transpose(v4 *r0, v4 *r1, v4 *r2, v4 *r3) {
    _MM_TRANSPOSE4_PS(*r0, *r1, *r2, *r3);
}

#elif defined(__ARM_NEON)
#include <arm_neon.h>
typedef float32x4_t vf;
#define VF_WIDTH 4
#define VF_FMA 0
#define VF_ISA "neon"
static inline vf vf_load(const float *p) { return vld1q_f32(p); }
static inline void vf_store(float *p, vf v) { vst1q_f32(p, v); }
static inline vf vf_splat(float x) { return vdupq_n_f32(x); }
static inline vf vf_zero(void) { return vdupq_n_f32(0.0f); }
static inline vf vf_add(vf a, vf b) { return vaddq_f32(a, b); }
static inline vf vf_mul(vf a, vf b) { return vmulq_f32(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf acc) { return vaddq_f32(acc, vmulq_f32(a, b)); }

#define V4 1
typedef float32x4_t v4;
static inline v4 v4_load(const float *p) { return vld1q_f32(p); }
static inline void v4_store(float *p, v4 v) { vst1q_f32(p, v); }
static inline void v4_transpose(v4 *r0, v4 *r1, v4 *r2, v4 *r3) {
    float32x4x2_t p = vtrnq_f32(*r0, *r1), q = vtrnq_f32(*r2, *r3);
    *r0 = vcombine_f32(vget_low_f32(p.val[0]), vget_low_f32(q.val[0]));
    *r1 = vcombine_f32(vget_low_f32(p.val[1]), vget_low_f32(q.val[1]));
    *r2 = vcombine_f32(vget_high_f32(p.val[0]), vget_high_f32(q.val[0]));
    *r3 = vcombine_f32(vget_high_f32(p.val[1]), vget_high_f32(q.val[1]));
}

#else
#define NL_SIMD_SCALAR 1
#endif

#ifdef NL_SIMD_SCALAR
typedef float vf;
#define VF_WIDTH 1
#define VF_FMA 0
#define VF_ISA "scalar"
static inline vf vf_load(const float *p) { return *p; }
static inline void vf_store(float *p, vf v) { *p = v; }
static inline vf vf_splat(float x) { return x; }
static inline vf vf_zero(void) { return 0.0f; }
static inline vf vf_add(vf a, vf b) { return a + b; }
static inline vf vf_mul(vf a, vf b) { return a * b; }
static inline vf vf_fmadd(vf a, vf b, vf acc) {
    vf p = a * b; /* a separate statement: never contracted into an FMA */
    return acc + p;
}
#endif

#endif
