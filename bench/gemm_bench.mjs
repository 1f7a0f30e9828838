// gemm_bench.mjs: runs the builds of bench/gemm_bench.c and collects their GFLOP/s.
//
// It builds nothing: bench/build_gemm_bench.sh writes build/bench/ first. The two
// WASM builds (gemm-wasm-simd.cjs, gemm-wasm-scalar.cjs) are required and run in
// Node; the native ones (gemm-native128, gemm-native) are run too when present,
// so that one run gives the ratio WASM SIMD / native 128-bit. Builds run one
// after the other, each in its own process (a fresh V8, nothing shared).
//
//   import { runGemmBench } from "./gemm_bench.mjs";
//   const rows = await runGemmBench();          // [{build, shape, gflops, ...}]
//
//   node bench/gemm_bench.mjs [--all] [--scalar] [--json]
//     --all     also the CNN-training shapes (all three transpose combinations)
//     --scalar  also sgemm_scalar, the scalar twin, on the headline shapes
//     --json    print the rows as JSON instead of a table

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = path.join(root, "build", "bench");

const BUILDS = [
  { build: "native128", file: "gemm-native128", wasm: false },
  { build: "native", file: "gemm-native", wasm: false },
  { build: "wasm-simd", file: "gemm-wasm-simd.cjs", wasm: true },
  { build: "wasm-scalar", file: "gemm-wasm-scalar.cjs", wasm: true },
];

/* Runs every available build; returns one row per (build, function, shape):
   {build, isa, fn, shape, ta, tb, M, N, K, gflops}. Throws if a WASM build is
   missing. */
export async function runGemmBench({ all = false, scalar = false } = {}) {
  const rows = [];
  for (const b of BUILDS) {
    const file = path.join(dir, b.file);
    if (!existsSync(file)) {
      if (!b.wasm) continue; // native builds are optional
      throw new Error(`gemm_bench: ${path.relative(root, file)} not found. ` +
        "Hint: run bench/build_gemm_bench.sh first.");
    }
    const args = [b.build, ...(all ? ["--all"] : []), ...(scalar ? ["--scalar"] : [])];
    const { stdout } = b.wasm
      ? await run(process.execPath, [file, ...args], { maxBuffer: 1 << 20 })
      : await run(file, args, { maxBuffer: 1 << 20 });
    for (const line of stdout.split("\n")) {
      if (line.startsWith("{")) rows.push(JSON.parse(line));
    }
  }
  return rows;
}

/* The headline: wasm-simd over native128 per shape (sgemm only). */
export function ratios(rows) {
  const find = (build, shape) =>
    rows.find((r) => r.build === build && r.shape === shape && r.fn === "sgemm");
  return rows
    .filter((r) => r.build === "wasm-simd" && r.fn === "sgemm")
    .map((r) => ({ shape: r.shape, ratio: find("native128", r.shape) ? r.gflops / find("native128", r.shape).gflops : null }));
}

export function table(rows) {
  const shapes = [...new Set(rows.map((r) => `${r.fn === "sgemm" ? "" : r.fn + " "}${r.shape}`))];
  const builds = [...new Set(rows.map((r) => r.build))];
  const cell = (b, s) => {
    const r = rows.find((x) => x.build === b && `${x.fn === "sgemm" ? "" : x.fn + " "}${x.shape}` === s);
    return r ? r.gflops.toFixed(1) : "-";
  };
  const isa = Object.fromEntries(rows.map((r) => [r.build, r.isa]));
  const w = Math.max(...shapes.map((s) => s.length), 5);
  const lines = ["GFLOP/s (1 thread)".padEnd(w) + builds.map((b) => `${b} (${isa[b]})`.padStart(26)).join("")];
  for (const s of shapes) lines.push(s.padEnd(w) + builds.map((b) => cell(b, s).padStart(26)).join(""));
  const rs = ratios(rows).filter((r) => r.ratio !== null);
  if (rs.length) {
    lines.push("");
    for (const r of rs) lines.push(`wasm-simd / native128  ${r.shape.padEnd(w)} ${r.ratio.toFixed(3)}`);
  }
  return lines.join("\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  try {
    const rows = await runGemmBench({ all: argv.includes("--all"), scalar: argv.includes("--scalar") });
    console.log(argv.includes("--json") ? JSON.stringify(rows, null, 1) : table(rows));
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
