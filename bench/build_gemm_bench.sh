#!/bin/sh
# build_gemm_bench.sh: the four builds of bench/gemm_bench.c, into build/bench/.
#   gemm-native128       gcc -O3 -march=native -DNL_VEC128  (SSE: the kernel WASM SIMD runs)
#   gemm-native          gcc -O3 -march=native              (widest vectors of this CPU)
#   gemm-wasm-simd.cjs   emcc -O3 -msimd128                 (run in Node by bench/gemm_bench.mjs)
#   gemm-wasm-scalar.cjs emcc -O3                           (likewise)
# Also conv_bench.c (im2col+GEMM against a direct convolution) for native128,
# native and wasm-simd.
# The WASM builds are plain emcc scripts for Node: -sSINGLE_FILE embeds the
# .wasm (emcc 3.1.6 would otherwise try fetch() on a file path under Node 18+),
# and the .cjs name keeps them CommonJS inside this "type": "module" package.
# Run from anywhere; CC and EMCC may be overridden.
set -e
cd "$(dirname "$0")/.."
out=build/bench
mkdir -p $out
src="bench/gemm_bench.c core/gemm.c core/rng.c"
warn="-std=c11 -Wall -Wextra"
${CC:-gcc} $warn -O3 -march=native -DNL_VEC128 -Icore $src -lm -o $out/gemm-native128
${CC:-gcc} $warn -O3 -march=native -Icore $src -lm -o $out/gemm-native
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
wasm="-sENVIRONMENT=node -sSINGLE_FILE"
${EMCC:-emcc} $warn -O3 -msimd128 -Icore $src $wasm -o $out/gemm-wasm-simd.cjs
${EMCC:-emcc} $warn -O3 -Icore $src $wasm -o $out/gemm-wasm-scalar.cjs
# conv2d: im2col+GEMM (core/layers.c) against a direct method, same builds
conv="bench/conv_bench.c core/layers.c core/gemm.c core/rng.c core/err.c"
${CC:-gcc} $warn -O3 -march=native -DNL_VEC128 -Icore $conv -lm -o $out/conv-native128
${CC:-gcc} $warn -O3 -march=native -Icore $conv -lm -o $out/conv-native
${EMCC:-emcc} $warn -O3 -msimd128 -Icore $conv $wasm -sALLOW_MEMORY_GROWTH -o $out/conv-wasm-simd.cjs
echo "built $out/: gemm-native128 gemm-native gemm-wasm-simd.cjs gemm-wasm-scalar.cjs conv-native128 conv-native conv-wasm-simd.cjs"
