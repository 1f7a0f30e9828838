// bench.mjs: every performance figure of noisylab, taken in one run on this machine.
//
//   npm run bench            (builds first; set BENCH_SECONDS to lengthen each measurement)
//
// 1. SGEMM GFLOP/s in four builds of the same blocked kernel (bench/gemm_bench.mjs):
//    native 128-bit vectors, native widest vectors, WASM SIMD in Node, WASM scalar.
// 2. conv2d forward: im2col+GEMM (the lab's method) against a direct 3x3 convolution.
// 3. Training img/s of the reference CNN (model=refcnn: conv3x3 32, pool, conv3x3 64,
//    pool, fc128, fc10; 3x32x32 input, batch 64, SGD momentum) in WASM SIMD (Node),
//    WASM scalar, native, and PyTorch at 1 thread when Debian's python3-torch is
//    installed (skipped otherwise; this script installs nothing).
// 4. Cora GCN, 200 epochs (the Kipf & Welling protocol): wall time in WASM SIMD (Node),
//    native, and plain PyTorch at 1 thread (bench/torch_gcn.py; needs python3-scipy too).
// Every figure is a median of several repeats after a warm-up, and the ratios the
// project tracks are computed from figures of this same run. Timings are never
// asserted in tests: this script reports, it does not judge.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine } from '../wasm/noisylab.js';
import { runGemmBench, ratios, table as gemmTable } from './gemm_bench.mjs';
import { graphPaths, graphSourceDir, trainOne } from '../bin/lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.env.BENCH_SECONDS || 3);
const REF = 'dataset=synth&model=refcnn&batch=64&opt=sgd&momentum=0.9&epochs=1&train=5000&test=64';
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

async function trainWasm(scalar) {
  const nl = await loadEngine({ scalar });
  const run = nl.newRun(REF);
  run.start();
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) run.step(1); // V8 tiers up hot code: warm up first
  const rates = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const t = performance.now();
    while (performance.now() - t < (SECONDS * 1000) / 5) {
      if (run.progress().step >= run.progress().steps_per_epoch - 1) break; // never time the epoch-end eval
      run.step(1);
      n++;
    }
    rates.push((n * 64) / ((performance.now() - t) / 1000));
  }
  run.free();
  return median(rates);
}

function trainNative() {
  const exe = join(root, 'build', 'native', 'nlrun');
  if (!existsSync(exe)) return null;
  // nlrun prints a progress line (with seconds) every 10 steps; rates between lines after warm-up
  const r = spawnSync(exe, [REF], { encoding: 'utf8' });
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.type === 'progress' && m.progress.status === 0);
  const rates = [];
  for (let i = 2; i < lines.length; i++) {
    const dt = lines[i].seconds - lines[i - 1].seconds, ds = lines[i].progress.step - lines[i - 1].progress.step;
    if (ds > 0) rates.push((ds * 64) / dt);
  }
  return rates.length ? median(rates) : null;
}

// The peer runs at its best: some machines set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE to work
// around old OpenBLAS bugs, which slows a current one; unset both for the peer's commands only.
const peerEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'OPENBLAS_CORETYPE' && k !== 'OPENBLAS_L2_SIZE'));

function trainTorch() {
  const py = '/usr/bin/python3';
  if (!existsSync(py) || spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0) return { skipped: 'python3-torch is not installed' };
  const r = spawnSync(py, [join(root, 'bench', 'torch_refcnn.py'), String(SECONDS)], { encoding: 'utf8', env: peerEnv() });
  if (r.status !== 0) return { skipped: `PyTorch failed: ${r.stderr.trim().split('\n').pop()}` };
  return JSON.parse(r.stdout.trim());
}

// Cora GCN, 200 epochs: median wall seconds of 3 whole runs (data loading excluded); the
// PyTorch peer runs once per variant (its runs take 30-70 s each here, so noise is small)
const GCN = 'dataset=cora&model=gcn&opt=adam&lr=0.01&wd=0.0005&dropout=0.5&hidden=16&epochs=200&tsne=0';
async function coraGcn() {
  try { graphPaths('cora'); } catch (e) { return { skipped: e.message }; }
  const nl = await loadEngine();
  const quiet = { progress() {}, epoch() {} };
  const out = {};
  for (const engine of ['wasm-simd', 'native']) {
    const runs = [];
    for (let r = 0; r < 3; r++) runs.push(await trainOne(nl, GCN, engine, quiet));
    const mid = runs.sort((a, b) => a.wall_seconds - b.wall_seconds)[1];
    out[engine] = { seconds: mid.wall_seconds, test_acc: mid.last_test_acc };
  }
  const py = '/usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import torch, scipy'], { encoding: 'utf8' });
  if (probe.status !== 0) out.pytorch = { skipped: 'python3-torch or python3-scipy is not installed' };
  else {
    const r = spawnSync(py, [join(root, 'bench', 'torch_gcn.py'), join(graphSourceDir(), 'cora'), '1'], { encoding: 'utf8', env: peerEnv() });
    out.pytorch = r.status === 0 ? JSON.parse(r.stdout.trim()) : { skipped: `PyTorch failed: ${r.stderr.trim().split('\n').pop()}` };
  }
  if (out.pytorch.seconds) out.ratio_pytorch_over_wasm = +(out.pytorch.seconds / out['wasm-simd'].seconds).toFixed(3);
  out.ratio_wasm_over_native = +(out['wasm-simd'].seconds / out.native.seconds).toFixed(3);
  return out;
}

async function main() {
  const out = { date: new Date().toISOString(), node: process.version, seconds_per_figure: SECONDS };
  // the four GEMM builds are small standalone programs, rebuilt each time from the current kernel
  const built = spawnSync('sh', [join(root, 'bench', 'build_gemm_bench.sh')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`bench/build_gemm_bench.sh failed:\n${built.stderr}`);
  out.gemm = await runGemmBench();
  console.log('\n' + gemmTable(out.gemm));
  out.gemm_ratio_wasm_simd_vs_native128 = Object.fromEntries(ratios(out.gemm).map((r) => [r.shape, +r.ratio.toFixed(3)]));
  // conv2d forward, im2col+GEMM (what the lab runs) against a direct 3x3 method
  out.conv = [];
  for (const [build, file] of [['native128', 'conv-native128'], ['native', 'conv-native'], ['wasm-simd', 'conv-wasm-simd.cjs']]) {
    const exe = join(root, 'build', 'bench', file);
    const r = file.endsWith('.cjs') ? spawnSync(process.execPath, [exe, build], { encoding: 'utf8' }) : spawnSync(exe, [build], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${file} failed: ${r.stderr}`);
    out.conv.push(...r.stdout.trim().split('\n').map((l) => JSON.parse(l)));
  }
  console.log('\nconv2d forward, batch 64, ms (median): im2col+gemm vs direct');
  for (const row of out.conv.filter((r) => r.method === 'direct')) {
    const g = out.conv.find((r) => r.build === row.build && r.layer === row.layer && r.method !== 'direct');
    console.log(`${row.build.padEnd(10)} ${row.layer.padEnd(14)} ${g.ms.toFixed(2).padStart(8)} vs ${row.ms.toFixed(2).padStart(8)}  ${g.ms <= row.ms ? 'im2col+gemm' : 'direct'} faster`);
  }
  console.log('\nTraining the reference CNN (batch 64, 1 thread), img/s (median)');
  out.train = {
    'wasm-simd': await trainWasm(false),
    'wasm-scalar': await trainWasm(true),
    native: trainNative(),
    pytorch: trainTorch(),
  };
  for (const [k, v] of Object.entries(out.train)) console.log(k.padEnd(14) + (typeof v === 'number' ? v.toFixed(1) : v && v.img_per_s ? `${v.img_per_s.toFixed(1)} (torch ${v.torch})` : JSON.stringify(v)));
  const torch = out.train.pytorch.img_per_s;
  out.train_ratio_wasm_simd_vs_pytorch = torch ? +(out.train['wasm-simd'] / torch).toFixed(3) : null;
  out.train_ratio_wasm_simd_vs_native = out.train.native ? +(out.train['wasm-simd'] / out.train.native).toFixed(3) : null;
  console.log(`WASM SIMD / PyTorch: ${out.train_ratio_wasm_simd_vs_pytorch ?? 'skipped'}   WASM SIMD / native: ${out.train_ratio_wasm_simd_vs_native}`);
  console.log('\nCora GCN, 200 epochs, seconds (median of 3 runs; lower is better)');
  out.cora_gcn = await coraGcn();
  for (const [k, v] of Object.entries(out.cora_gcn)) console.log(k.padEnd(26) + (typeof v === 'object' ? (v.seconds !== undefined ? `${v.seconds.toFixed(3)} s, test acc ${(100 * v.test_acc).toFixed(1)}%` : JSON.stringify(v)) : v));
  mkdirSync(join(root, 'build', 'bench'), { recursive: true });
  writeFileSync(join(root, 'build', 'bench', 'results.json'), JSON.stringify(out, null, 2) + '\n');
  console.log('\nwrote build/bench/results.json');
}

main();
