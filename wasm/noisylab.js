// noisylab.js: the one loader of the noisylab core, for Node, Web Workers and pages.
//
// The core is built with emcc -sSTANDALONE_WASM --no-entry: a plain .wasm whose
// only imports are env.emscripten_notify_memory_growth (and, should libc need
// them, a few WASI calls, served below). That avoids Emscripten's JS glue,
// which breaks under Node 20, and keeps one code path everywhere.
//
//   import { loadEngine } from './noisylab.js';
//   const nl = await loadEngine();               // SIMD if the engine supports it
//   const run = nl.newRun('dataset=synth&epochs=1');
//   while (!run.finished) run.step(10);
//   console.log(run.result());
//
// In Node the .wasm is read from build/wasm/ of the repository; in a browser it
// is fetched from beside this file (the site copies it there). Pass
// { wasmBinary } or { url } to override, { scalar: true } to force the
// scalar build.

const isNode = typeof process !== 'undefined' && !!(process.versions && process.versions.node) &&
  typeof self === 'undefined';

// A minimal module that uses one SIMD instruction:
// WebAssembly.validate tells whether this engine has fixed-width SIMD.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
  10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

export function simdSupported() {
  try { return WebAssembly.validate(SIMD_PROBE); } catch { return false; }
}

export class NlError extends Error {
  constructor(message) { super(message); this.name = 'NlError'; }
}

export const STATUS = { TRAINING: 0, EPOCH_END: 1, DONE: 2, DIVERGED: 3 };

async function readBinary(file, opts) {
  if (opts.wasmBinary) return opts.wasmBinary;
  if (isNode && !opts.url) {
    const { readFile } = await import('node:fs/promises');
    const { fileURLToPath } = await import('node:url');
    const path = fileURLToPath(new URL(`../build/wasm/${file}`, import.meta.url));
    try {
      return await readFile(path);
    } catch (e) {
      throw new NlError(`cannot read the core at ${path} (${e.code}). Hint: run ./build.sh (or npm test) to build it.`);
    }
  }
  const url = opts.url || new URL(file, import.meta.url);
  const res = await fetch(url);
  if (!res.ok) throw new NlError(`cannot fetch the core from ${url} (HTTP ${res.status}). Hint: rebuild the site with npm start.`);
  return await res.arrayBuffer();
}

export async function loadEngine(opts = {}) {
  const simd = opts.scalar ? false : simdSupported();
  const file = simd ? 'noisylab-simd.wasm' : 'noisylab-scalar.wasm';
  const bytes = await readBinary(file, opts);
  const module = await WebAssembly.compile(bytes);
  let engine = null;
  const imports = {};
  // Serve every import the module declares: the known ones for real, any other one
  // with a clear error, so a new libc dependency shows up as a message and not a LinkError.
  for (const imp of WebAssembly.Module.imports(module)) {
    imports[imp.module] ??= {};
    imports[imp.module][imp.name] = (...args) => {
      if (imp.name === 'emscripten_notify_memory_growth') return engine && engine.refresh();
      if (imp.name === 'fd_write') return engine.fdWrite(...args);
      if (imp.name === 'proc_exit') throw new NlError(`the core exited with code ${args[0]}. Hint: this is a bug; please report the config.`);
      if (imp.name === 'fd_close' || imp.name === 'fd_seek') return 0;
      throw new NlError(`the core called the unexpected import ${imp.module}.${imp.name}. Hint: this is a bug in the build.`);
    };
  }
  const instance = await WebAssembly.instantiate(module, imports);
  engine = new Engine(instance, simd ? 'wasm-simd' : 'wasm-scalar');
  if (instance.exports._initialize) instance.exports._initialize();
  return engine;
}

class Engine {
  constructor(instance, name) {
    this.exports = instance.exports;
    this.memory = instance.exports.memory;
    this.engine = name;
    this.enc = new TextEncoder();
    this.dec = new TextDecoder();
    this.refresh();
  }
  refresh() { this.u8 = new Uint8Array(this.memory.buffer); }
  heapU8() { if (this.u8.buffer !== this.memory.buffer) this.refresh(); return this.u8; }
  heapF32(ptr, n) { return new Float32Array(this.memory.buffer, ptr, n); }
  heapI32(ptr, n) { return new Int32Array(this.memory.buffer, ptr, n); }
  heapU32(ptr, n) { return new Uint32Array(this.memory.buffer, ptr, n); }
  malloc(n) {
    const p = this.exports.malloc(Math.max(1, n));
    if (!p) throw new NlError(`out of memory allocating ${n} bytes in the core. Hint: use a smaller dataset or batch.`);
    return p;
  }
  free(p) { if (p) this.exports.free(p); }
  copyIn(bytes) {
    const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer || bytes, bytes.byteOffset || 0, bytes.byteLength);
    const p = this.malloc(u8.length);
    this.heapU8().set(u8, p);
    return p;
  }
  copyOut(ptr, len) { return this.heapU8().slice(ptr, ptr + len); }
  cstring(str) {
    const b = this.enc.encode(str);
    const p = this.malloc(b.length + 1);
    const h = this.heapU8();
    h.set(b, p);
    h[p + b.length] = 0;
    return p;
  }
  readCString(ptr) {
    if (!ptr) return null;
    const h = this.heapU8();
    let end = ptr;
    while (h[end]) end++;
    return this.dec.decode(h.subarray(ptr, end));
  }
  lastError() { return this.readCString(this.exports.nl_last_error()); }
  fail() { throw new NlError(this.lastError() || 'unknown error in the core. Hint: this is a bug.'); }
  fdWrite(fd, iovs, iovcnt, nwritten) {
    const h = this.heapU8(), dv = new DataView(this.memory.buffer);
    let text = '', total = 0;
    for (let i = 0; i < iovcnt; i++) {
      const p = dv.getUint32(iovs + 8 * i, true), n = dv.getUint32(iovs + 8 * i + 4, true);
      text += this.dec.decode(h.subarray(p, p + n));
      total += n;
    }
    dv.setUint32(nwritten, total, true);
    (fd === 2 ? console.error : console.log)(text.replace(/\n$/, ''));
    return 0;
  }
  // call a C function that takes string arguments and returns a string (NULL = error)
  withStrings(fn, strings, ...rest) {
    const ptrs = strings.map((s) => this.cstring(s));
    try {
      const r = fn(...ptrs, ...rest);
      return r;
    } finally { ptrs.forEach((p) => this.free(p)); }
  }
  version() { return this.readCString(this.exports.nl_version()); }
  isa() { return this.readCString(this.exports.nl_isa()); }
  normalizeConfig(config) {
    const p = this.withStrings(this.exports.nl_config_normalize, [config]);
    return p ? this.readCString(p) : this.fail();
  }
  configJSON(config) {
    const p = this.withStrings(this.exports.nl_config_json, [config]);
    return p ? JSON.parse(this.readCString(p)) : this.fail();
  }
  configSchema() { return JSON.parse(this.readCString(this.exports.nl_config_schema())); }
  // the presets of preset=NAME: [{ name, config, help }]
  configPresets() { return JSON.parse(this.readCString(this.exports.nl_config_presets())); }
  newRun(config) {
    const h = this.withStrings(this.exports.nl_run_new, [config]);
    if (!h) this.fail();
    return new Run(this, h);
  }
  // the synth dataset's split (0 train, 1 test) as shard bytes: the page draws its images
  synthShard(split) {
    const lp = this.malloc(4);
    try {
      const p = this.exports.nl_synth_shard(split, lp);
      if (!p) this.fail();
      return this.copyOut(p, this.heapU32(lp, 1)[0]);
    } finally { this.free(lp); }
  }
  // the class names of a dataset the core knows ([] when it does not)
  classNames(dataset) {
    return JSON.parse(this.readCString(this.withStrings(this.exports.nl_class_names_json, [dataset])));
  }
  // logits: array of rows; labels: array of ints. Returns { loss, grad (rows) }.
  // opts.classCounts: training count per class (cb-ce, cb-focal); opts.seed: the
  // seed of the triplet sampling (default 0).
  loss(params, logits, labels, opts = {}) {
    const B = logits.length, K = B ? logits[0].length : 0;
    if (!B || K < 2 || logits.some((r) => r.length !== K) || labels.length !== B)
      throw new NlError(`loss: logits must be ${B} rows of equal length >= 2 and labels must have ${B} entries. Hint: check the JSON input.`);
    const counts = opts.classCounts || [];
    const lp = this.malloc(4 * B * K), yp = this.malloc(4 * B), gp = this.malloc(4 * B * K), out = this.malloc(4);
    const cp = this.malloc(4 * counts.length);
    try {
      this.heapF32(lp, B * K).set(logits.flat());
      this.heapI32(yp, B).set(labels);
      this.heapI32(cp, counts.length).set(counts);
      const rc = this.withStrings(this.exports.nl_loss_eval, [params], lp, yp, B, K, gp, out,
        counts.length ? cp : 0, counts.length, (opts.seed ?? 0) >>> 0);
      if (rc < 0) this.fail();
      const g = this.heapF32(gp, B * K);
      const grad = [];
      for (let b = 0; b < B; b++) grad.push(Array.from(g.subarray(b * K, (b + 1) * K)));
      return { loss: this.heapF32(out, 1)[0], grad };
    } finally { [lp, yp, gp, out, cp].forEach((p) => this.free(p)); }
  }
  // a graph for the graph tools (EDA, k-hop subsets): files = [[name, bytes], ...] named as in
  // the dataset's folder; format: planetoid | rgcn | kgbench | bundle; name: cora, aifb, ...
  graph(files, format, name) {
    const h = this.exports.nl_graph_new();
    if (!h) this.fail();
    const g = new Graph(this, h);
    try {
      for (const [file, bytes] of files) g.addFile(file, bytes);
      if (this.withStrings((f, n) => this.exports.nl_graph_load(h, f, n), [format, name]) < 0) this.fail();
    } catch (e) { g.free(); throw e; }
    return g;
  }
  // the resolved parameters of a loss config, e.g. { loss: 'sce', alpha: 0.1, beta: 1 }
  lossParams(params) {
    const p = this.withStrings(this.exports.nl_loss_params, [params]);
    return p ? JSON.parse(this.readCString(p)) : this.fail();
  }
}

class Run {
  constructor(engine, handle) { this.nl = engine; this.h = handle; this.status = STATUS.TRAINING; }
  get finished() { return this.status === STATUS.DONE || this.status === STATUS.DIVERGED; }
  addShard(split, bytes, name) {
    const p = this.nl.copyIn(bytes);
    try {
      const rc = this.nl.withStrings((np) => this.nl.exports.nl_run_add_shard(this.h, split, p, bytes.byteLength, np), [name]);
      if (rc < 0) this.nl.fail();
    } finally { this.nl.free(p); }
  }
  start() { if (this.nl.exports.nl_run_start(this.h) < 0) this.nl.fail(); return this.progress(); }
  // trains up to maxSteps batches; returns the status (STATUS.*)
  step(maxSteps) {
    const st = this.nl.exports.nl_run_step(this.h, maxSteps);
    if (st < 0) this.nl.fail();
    return (this.status = st);
  }
  progress() { return JSON.parse(this.nl.readCString(this.nl.exports.nl_run_progress_json(this.h))); }
  epoch(e = -1) { return JSON.parse(this.nl.readCString(this.nl.exports.nl_run_epoch_json(this.h, e))); }
  result() { return JSON.parse(this.nl.readCString(this.nl.exports.nl_run_result_json(this.h))); }
  // analytic against finite-difference gradients, per layer, on the first training batch
  gradcheck() {
    const p = this.nl.exports.nl_run_gradcheck_json(this.h);
    return p ? JSON.parse(this.nl.readCString(p)) : this.nl.fail();
  }
  // checkpoint between epochs: a Uint8Array to keep (IndexedDB, a file); restore(bytes)
  // continues a run of the same config exactly where it stopped
  checkpoint() {
    const lp = this.nl.malloc(4);
    try {
      const p = this.nl.exports.nl_run_checkpoint(this.h, lp);
      if (!p) this.nl.fail();
      return this.nl.copyOut(p, this.nl.heapU32(lp, 1)[0]);
    } finally { this.nl.free(lp); }
  }
  restore(bytes) {
    const p = this.nl.copyIn(bytes);
    try {
      if (this.nl.exports.nl_run_restore(this.h, p, bytes.byteLength) < 0) this.nl.fail();
    } finally { this.nl.free(p); }
    this.status = this.progress().status;
  }
  free() { if (this.h) this.nl.exports.nl_run_free(this.h); this.h = 0; }
}

// A loaded graph (wasm/graph.c): eda() is core/eda.h's JSON; subset() a bundle (core/bundle.h)
// of the k-hop subgraph (core/subgraph.h) with its manifest.
class Graph {
  constructor(engine, handle) { this.nl = engine; this.h = handle; }
  // the core keeps the copy it is given (nl_graph_adopt_file): one copy of a large file, not two
  addFile(name, bytes) {
    const p = this.nl.copyIn(bytes);
    const rc = this.nl.withStrings((np) => this.nl.exports.nl_graph_adopt_file(this.h, np, p, bytes.byteLength), [name]);
    if (rc < 0) this.nl.fail();
  }
  eda() {
    const p = this.nl.exports.nl_graph_eda_json(this.h);
    return p ? JSON.parse(this.nl.readCString(p)) : this.nl.fail();
  }
  manifest() { return JSON.parse(this.nl.readCString(this.nl.exports.nl_graph_manifest(this.h))); }
  subset({ hops = 2, maxNodes = 5000, seed = 0 } = {}) {
    const lp = this.nl.malloc(4);
    try {
      const p = this.nl.exports.nl_graph_subset(this.h, hops, maxNodes, seed >>> 0, lp);
      if (!p) this.nl.fail();
      return { bytes: this.nl.copyOut(p, this.nl.heapU32(lp, 1)[0]), manifest: this.manifest() };
    } finally { this.nl.free(lp); }
  }
  free() { if (this.h) this.nl.exports.nl_graph_free(this.h); this.h = 0; }
}
