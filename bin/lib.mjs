// lib.mjs: what the CLI's commands share: argument parsing, progress output, and
// running one training job on the WASM engine or the native driver.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STATUS } from '../wasm/noisylab.js';
import { UsageError } from './errors.mjs';
import { GRAPH_PARTS, GRAPH_SOURCES, bundleGraph, datasetGraph, graphSourceDir } from './graphs.mjs';

export { UsageError, GRAPH_PARTS, graphSourceDir };

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const datasetsDir = () => process.env.NOISYLAB_DATASETS || join(root, 'build', 'datasets');

// A mistake in the command line or its input: exit code 2 (UsageError, errors.mjs).

export function parseArgs(argv, flags) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { out._.push(a); continue; }
    const name = a.slice(2);
    if (!(name in flags)) throw new UsageError(`unknown option --${name}. Allowed: ${Object.keys(flags).map((f) => '--' + f).join(', ')}.`);
    if (flags[name] === 'bool') out[name] = true;
    else {
      if (i + 1 >= argv.length) throw new UsageError(`option --${name} needs a value.`);
      out[name] = argv[++i];
    }
  }
  return out;
}

export function fmtTime(s) {
  if (!isFinite(s)) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? h + ':' + String(m).padStart(2, '0') : m) + ':' + String(sec).padStart(2, '0');
}

// Progress: a redrawn bar with ETA on a terminal, one plain line per epoch otherwise.
export function makeReporter(quiet) {
  const tty = process.stderr.isTTY;
  let lastDraw = 0;
  return {
    progress(p, seconds) {
      if (quiet || !tty) return;
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      const total = p.epochs * p.steps_per_epoch, done = p.epoch * p.steps_per_epoch + p.step;
      const frac = total ? done / total : 0, width = 30;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
      const eta = frac > 0 ? seconds / frac - seconds : Infinity;
      process.stderr.write(`\r[${bar}] epoch ${Math.min(p.epoch + 1, p.epochs)}/${p.epochs} step ${p.step}/${p.steps_per_epoch}  ${fmtTime(seconds)} elapsed, ETA ${fmtTime(eta)}  `);
    },
    epoch(e, seconds) {
      if (quiet) return;
      const line = `epoch ${e.epoch}: train loss ${e.train_loss.toFixed(4)} acc ${(100 * e.train_acc).toFixed(2)}%  ` +
        (e.val_acc !== undefined ? `val acc ${(100 * e.val_acc).toFixed(2)}%  ` : '') +
        `test loss ${e.test_loss.toFixed(4)} acc ${(100 * e.test_acc).toFixed(2)}%  lr ${e.lr.toPrecision(3)}  [${fmtTime(seconds)}]`;
      process.stderr.write((tty ? '\r\x1b[K' : '') + line + '\n');
    },
  };
}

// Graph datasets are not prepared: the core reads their raw files straight from the source
// folder, ../shared/datasets/<name> or $NOISYLAB_DATA_DIR/<name>; graphs.mjs knows the folders
// and file names (Planetoid ind.<name>.*, the R-GCN N-Triples + TSVs, kgbench CSVs).
export const GRAPH_DATASETS = Object.keys(GRAPH_SOURCES).filter((d) => GRAPH_SOURCES[d] === 'planetoid');
export const KG_DATASETS = Object.keys(GRAPH_SOURCES).filter((d) => GRAPH_SOURCES[d] !== 'planetoid');

export const graphPaths = (dataset) => datasetGraph(dataset).files.map(([, p]) => p);
export const kgPaths = graphPaths;

// the files of a run: shard paths, a graph's files, or (dataset=bundle) the bundle given
// with --graph; graph is that file, refused for any other dataset
export function shardPaths(dataset, graph) {
  if (graph && dataset !== 'bundle')
    throw new UsageError(`--graph ${graph} is for dataset=bundle (a file written by graph-subset), but the config has dataset=${dataset}, which comes from its own folder: write dataset=bundle, or leave out --graph.`);
  if (dataset === 'bundle') return [bundleGraph(graph).files[0][1]];
  if (dataset === 'synth') return null;
  if (dataset in GRAPH_SOURCES) return graphPaths(dataset);
  const dir = join(datasetsDir(), dataset);
  const paths = [join(dir, 'train.shard'), join(dir, 'test.shard')];
  for (const p of paths)
    if (!existsSync(p))
      throw new Error(`dataset '${dataset}' is not prepared: ${p} is missing. Hint: run \`npm run prepare-data\`, or \`npx noisylab download ${dataset}\` without ../shared/datasets.`);
  return paths;
}

export async function trainWasm(nl, config, report, graphFile) {
  const run = nl.newRun(config);
  try {
    const { dataset } = nl.configJSON(config);
    const paths = shardPaths(dataset, graphFile);
    // graphs: every file goes to split 0 under its own name (the core tells them apart by name)
    const graph = dataset in GRAPH_SOURCES || dataset === 'bundle';
    if (paths) paths.forEach((p, split) => run.addShard(graph ? 0 : split, readFileSync(p), graph ? basename(p) : `${dataset}/${split ? 'test' : 'train'}.shard`));
    const t0 = performance.now();
    run.start();
    while (!run.finished) {
      const st = run.step(5);
      const seconds = (performance.now() - t0) / 1000;
      report.progress(run.progress(), seconds);
      if (st !== STATUS.TRAINING) report.epoch(run.epoch(), seconds);
    }
    const result = run.result();
    result.seconds = (performance.now() - t0) / 1000;
    return result;
  } finally { run.free(); }
}

export async function trainNative(config, dataset, report, graphFile) {
  const exe = join(root, 'build', 'native', 'nlrun');
  const paths = shardPaths(dataset, graphFile) || [];
  if (!existsSync(exe)) throw new Error(`the native engine is not built (${exe}). Hint: run ./build.sh.`);
  const args = [config, ...paths];
  return await new Promise((res, rej) => {
    const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '', err = '', result = null, isa = 'native';
    child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.type === 'start') isa = msg.isa;
        if (msg.type === 'progress') report.progress(msg.progress, msg.seconds);
        if (msg.type === 'epoch') report.epoch(msg.epoch, msg.seconds);
        if (msg.type === 'result') result = { ...msg.result, seconds: msg.seconds, isa };
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 && result ? res(result) : rej(Object.assign(new Error(err.trim() || `nlrun exited with ${code}`), { exitCode: code }))));
  });
}

export const ENGINES = ['wasm-simd', 'wasm-scalar', 'native'];

export function checkEngine(engine) {
  if (!ENGINES.includes(engine))
    throw new UsageError(`option --engine: '${engine}' is not allowed; it must be one of ${ENGINES.join(', ')}.`);
  return engine;
}

// One run of a normalized config on an engine: the result JSON of `train` (and of
// every sweep cell, so a cell and `train` of its config give the same bits).
// nl is the loaded WASM engine (also used to read the config for native); graphFile is
// the bundle of a dataset=bundle run (train --graph).
export async function trainOne(nl, config, engine, report, graphFile) {
  const dataset = nl.configJSON(config).dataset;
  const result = engine === 'native' ? await trainNative(config, dataset, report, graphFile) : await trainWasm(nl, config, report, graphFile);
  result.engine = engine === 'native' ? 'native' : nl.engine;
  result.isa = result.isa || nl.isa();
  const images = result.epochs.length * result.dataset.train;
  result.wall_seconds = +result.seconds.toFixed(3);
  delete result.seconds;
  result.img_per_s = +(images / result.wall_seconds).toFixed(1);
  if (dataset === 'cifar10') result.note = 'CIFAR-10 test accuracy is on the 1,000 available test images (test_batch 0-999), not the full 10,000.';
  return result;
}

// ---- sweep results: one JSONL line per finished cell (sweep writes them, merge reads them)

// The fields of a cell's result that a study needs; the full result (confusion
// matrices, t-SNE) stays with `train`. Same numbers as `train` of the config.
export function cellRecord(cell, total, result) {
  const rec = {
    config: cell.config, axes: cell.axes, cell: cell.index, cells: total, status: result.status,
    last_test_acc: result.last_test_acc, best_test_acc: result.best_test_acc, best_epoch: result.best_epoch,
    noise_rate: result.noise ? result.noise.realised_rate : null, epochs: result.epochs,
    engine: result.engine, isa: result.isa, wall_seconds: result.wall_seconds,
  };
  if (result.message) rec.message = result.message;
  return rec;
}

// An input file that is not what it should be: exit 2, with its own hint.
const badInput = (msg) => Object.assign(new Error(msg), { exitCode: 2 });

function checkRecord(r) {
  if (!r || typeof r !== 'object' || Array.isArray(r)) return 'not a JSON object';
  if (typeof r.config !== 'string' || !r.config) return "no 'config' string";
  if (!r.axes || typeof r.axes !== 'object') return "no 'axes' object";
  if (r.status !== 'finished' && r.status !== 'diverged') return `status '${r.status}' is neither finished nor diverged`;
  for (const k of ['last_test_acc', 'best_test_acc']) if (typeof r[k] !== 'number') return `'${k}' is not a number`;
  if (!Array.isArray(r.epochs)) return "no 'epochs' array";
  return null;
}

// The numbers that must agree when two lines hold the same config.
const outcome = (r) => JSON.stringify([r.status, r.last_test_acc, r.best_test_acc, r.best_epoch, r.noise_rate, r.epochs]);

// Reads sweep JSONL files: each line checked (file:line in the message), identical
// configs kept once, two different results for one config refused.
export function readResults(files) {
  const byConfig = new Map();
  let duplicates = 0;
  for (const file of files) {
    let text;
    try { text = readFileSync(file, 'utf8'); } catch (e) {
      throw badInput(`cannot read ${file} (${e.code}). Hint: give the JSONL files written by \`noisylab sweep\`.`);
    }
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      const where = `${file}:${i + 1}`;
      let r;
      try { r = JSON.parse(line); } catch (e) {
        throw badInput(`${where}: not valid JSON (${e.message}). Hint: a line cut short by a killed sweep can be deleted; \`sweep --resume\` runs the cell again.`);
      }
      const why = checkRecord(r);
      if (why) throw badInput(`${where}: ${why}; this is not a line of \`noisylab sweep\`. Hint: merge only the .jsonl files that sweep writes.`);
      const seen = byConfig.get(r.config);
      if (!seen) return byConfig.set(r.config, { r, where });
      if (outcome(seen.r) !== outcome(r))
        throw badInput(`conflicting results for ${r.config}: ${seen.where} has ${seen.r.status}, last test acc ${seen.r.last_test_acc} (${seen.r.engine}) but ` +
          `${where} has ${r.status}, last test acc ${r.last_test_acc} (${r.engine}). Hint: the same config gives the same bits only on the same engine and build; merge results of one engine, or drop one of the files.`);
      duplicates++;
    });
  }
  return { records: [...byConfig.values()].map((v) => v.r), duplicates };
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
// population standard deviation (ddof=0), as the APL paper's np.std
const std = (xs) => { const m = mean(xs); return Math.sqrt(mean(xs.map((x) => (x - m) ** 2))); };
const pct = (xs) => (xs.length ? `${(100 * mean(xs)).toFixed(2)} ± ${(100 * std(xs)).toFixed(2)}` : '-');

// The summary: one row per group of cells that differ only in seed; mean ± std of
// the last and best test accuracy (in %) over the finished cells of the group.
// failed: cells without a result ({ axes }), counted in their group.
export function summaryTable(records, failed = []) {
  const keys = [];
  for (const r of [...records, ...failed]) for (const k of Object.keys(r.axes)) if (k !== 'seed' && !keys.includes(k)) keys.push(k);
  const groups = new Map();
  const group = (r) => {
    const id = JSON.stringify(keys.map((k) => r.axes[k]));
    if (!groups.has(id)) groups.set(id, { axes: r.axes, last: [], best: [], diverged: 0, failed: 0 });
    return groups.get(id);
  };
  for (const r of records) {
    const g = group(r);
    if (r.status === 'diverged') g.diverged++;
    else g.last.push(r.last_test_acc), g.best.push(r.best_test_acc);
  }
  for (const f of failed) group(f).failed++;
  const all = [...groups.values()];
  const extra = ['diverged', 'failed'].filter((c) => all.some((g) => g[c]));
  const head = [...keys, 'n', 'last test acc %', 'best test acc %', ...extra];
  const rows = all.map((g) => [...keys.map((k) => (k in g.axes ? String(g.axes[k]) : '-')), String(g.last.length), pct(g.last), pct(g.best), ...extra.map((c) => String(g[c]))]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd()).join('\n') + '\n';
}

// One CSV row per cell: its axes, the key results and the canonical config.
export function csvText(records) {
  const keys = [];
  for (const r of records) for (const k of Object.keys(r.axes)) if (!keys.includes(k)) keys.push(k);
  const cols = ['status', 'last_test_acc', 'best_test_acc', 'best_epoch', 'noise_rate', 'engine', 'wall_seconds', 'config'];
  const cell = (v) => { const s = v === undefined || v === null ? '' : String(v); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return [[...keys, ...cols].join(','), ...records.map((r) => [...keys.map((k) => r.axes[k]), ...cols.map((c) => r[c])].map(cell).join(','))].join('\n') + '\n';
}
