// sweep: a grid of runs over any config keys, trained in parallel worker threads.
//
// Every cell is the base config with one value of each grid axis; all cells are
// validated by the core's parser before any training. Each finished cell becomes
// one line of PREFIX.jsonl (written as it finishes, so --resume can skip it) and a
// row of PREFIX.csv; stdout gets the summary table over seeds.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { NlError, loadEngine } from '../../wasm/noisylab.js';
import { UsageError, checkEngine, csvText, fmtTime, parseArgs, readResults, shardPaths, summaryTable } from '../lib.mjs';

export const usage = [
  'sweep "<base config>" --grid "loss=ce,nce+rce&noise=0,0.4&seed=0,1,2" [--jobs N] [--shard K/N] [--out PREFIX] [--resume] [--engine wasm-simd|wasm-scalar|native] [--graph BUNDLE]   --graph: as for train, the file of the dataset=bundle cells',
];

const decodeKey = (k) => { try { return decodeURIComponent(k); } catch { return k; } };

// "loss=ce,nce+rce&noise=0,0.4" -> [{ key: 'loss', values: ['ce', 'nce+rce'] }, ...]
// Values are split on ','; a value that holds a comma (noise_matrix) writes it %2C.
export function parseGrid(text) {
  const axes = [];
  for (const item of text.replace(/^[#?]/, '').split('&')) {
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--grid item '${item}' is not key=value1,value2,...; items are joined by '&'.`);
    const key = decodeKey(item.slice(0, eq)), values = item.slice(eq + 1).split(',');
    if (values.some((v) => v === '')) throw new UsageError(`--grid key '${key}' has an empty value in '${item}'.`);
    if (axes.some((a) => a.key === key)) throw new UsageError(`--grid key '${key}' is given twice; list all its values once, joined by ','.`);
    axes.push({ key, values });
  }
  if (!axes.length) throw new UsageError('--grid is empty; give at least one key=value1,value2,...');
  return axes;
}

// The cells of the grid in order: the first axis varies slowest, the last fastest.
// Each cell: { index, config (canonical), axes: { key: value as the core reads it } }.
export function expandGrid(nl, base, axes) {
  const gridKeys = new Set(axes.map((a) => a.key));
  // the base's own items, minus those a grid axis sets (a key may appear only once)
  const items = base.replace(/^[#?]/, '').split('&').filter((it) => it && !gridKeys.has(decodeKey(it.split('=')[0])));
  const withItems = (extra, what) => {
    try { return nl.normalizeConfig([...items, ...extra].join('&')); } catch (e) {
      if (e instanceof NlError) throw new NlError(`--grid ${what}: ${e.message}`);
      throw e;
    }
  };
  // each value alone first, so a bad value is named exactly (exit 2 before any work);
  // on the base with its own value of the other axes (model=rgcn,mrgcn needs a KG dataset)
  const all = base.replace(/^[#?]/, '').split('&').filter((it) => it);
  for (const a of axes) for (const v of a.values) {
    const own = all.filter((it) => decodeKey(it.split('=')[0]) !== a.key);
    try { nl.normalizeConfig([...own, `${a.key}=${v}`].join('&')); } catch (e) {
      if (e instanceof NlError) throw new NlError(`--grid ${a.key}=${v}: ${e.message}`);
      throw e;
    }
  }
  const cells = [], seen = new Map();
  const total = axes.reduce((n, a) => n * a.values.length, 1);
  for (let index = 0; index < total; index++) {
    let rest = index;
    const pick = new Array(axes.length);
    for (let j = axes.length - 1; j >= 0; j--) pick[j] = rest % axes[j].values.length, rest = Math.floor(rest / axes[j].values.length);
    const extra = axes.map((a, j) => `${a.key}=${a.values[pick[j]]}`);
    const config = withItems(extra, `cell ${extra.join('&')}`);
    if (seen.has(config))
      throw new UsageError(`--grid cells ${seen.get(config)} and ${extra.join('&')} are the same config (${config}); drop the repeated value.`);
    seen.set(config, extra.join('&'));
    const full = nl.configJSON(config);
    // the value as the core reads it (0.40 -> 0.4); preset has no field: keep its name
    const cellAxes = Object.fromEntries(axes.map((a, j) => [a.key, a.key in full ? full[a.key] : a.values[pick[j]]]));
    cells.push({ index, config, axes: cellAxes });
  }
  return cells;
}

// "K/N", 1-based: shard K of N runs the cells whose index i has i mod N == K - 1.
export function parseShard(text) {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const k = m ? +m[1] : NaN, n = m ? +m[2] : NaN;
  if (!m || n < 1 || k < 1 || k > n)
    throw new UsageError(`option --shard: '${text}' is not K/N with 1 <= K <= N (1-based: --shard 1/4 ... --shard 4/4).`);
  return { k, n };
}

export const shardOf = (cells, shard) => (shard ? cells.filter((c) => c.index % shard.n === shard.k - 1) : cells);

function parseJobs(text) {
  if (text === undefined) return availableParallelism();
  if (!/^\d+$/.test(text) || +text < 1 || +text > 256) throw new UsageError(`option --jobs: '${text}' is not a whole number from 1 to 256.`);
  return +text;
}

// Runs the cells on a pool of worker threads; calls onDone(cell, record) or
// onFail(cell, message) for each, onProgress(fractions of the running cells).
function runPool(todo, jobs, workerData, { onDone, onFail, onProgress }) {
  return new Promise((resolve) => {
    let next = 0, settled = 0;
    const running = new Map(); // worker -> { cell, frac }
    const progress = () => onProgress([...running.values()].map((r) => r.frac));
    const settle = () => { if (++settled === todo.length) resolve(); };
    const feed = (w) => {
      if (next >= todo.length) { running.delete(w); w.postMessage(null); return; }
      running.set(w, { cell: todo[next++], frac: 0 });
      w.postMessage(running.get(w).cell);
    };
    const start = () => {
      const w = new Worker(new URL('../sweep-worker.mjs', import.meta.url), { workerData });
      w.on('message', (m) => {
        const r = running.get(w);
        if (m.type === 'progress') { r.frac = m.frac; return progress(); }
        if (m.type === 'done') onDone(r.cell, m.record);
        else onFail(r.cell, m.message);
        feed(w);
        settle();
      });
      // a worker that dies (out of memory, a crash in the engine) fails its cell only
      const dead = (why) => {
        const r = running.get(w);
        if (!r) return;
        running.delete(w);
        onFail(r.cell, `the worker thread stopped (${why}). Hint: try --jobs 1, or run the cell with \`noisylab train\` to see the error.`);
        settle();
        if (next < todo.length) feed(start());
      };
      w.on('error', (e) => dead(e.message));
      w.on('exit', (code) => dead(`exit code ${code}`));
      return w;
    };
    if (!todo.length) return resolve();
    for (let i = 0; i < Math.min(jobs, todo.length); i++) feed(start());
  });
}

const axesText = (axes) => Object.entries(axes).map(([k, v]) => `${k}=${v}`).join(' ');

export async function run(argv) {
  const a = parseArgs(argv, { grid: 'value', jobs: 'value', shard: 'value', out: 'value', resume: 'bool', engine: 'value', graph: 'value' });
  if (a._.length !== 1 || a.grid === undefined)
    throw new UsageError('sweep takes one base config string and --grid, e.g. noisylab sweep "train=1000&epochs=2" --grid "loss=ce,nce+rce&seed=0,1".');
  const engine = checkEngine(a.engine || 'wasm-simd');
  const jobs = parseJobs(a.jobs);
  const shard = a.shard === undefined ? null : parseShard(a.shard);
  const nl = await loadEngine({ scalar: engine === 'wasm-scalar' });
  nl.normalizeConfig(a._[0]); // the base alone first: its errors name its own keys
  const cells = expandGrid(nl, a._[0], parseGrid(a.grid));
  const mine = shardOf(cells, shard);
  // a dataset that is not prepared fails now, not once per cell
  const datasets = new Set(mine.map((c) => nl.configJSON(c.config).dataset));
  for (const d of datasets) shardPaths(d, d === 'bundle' ? a.graph : undefined);
  if (a.graph && !datasets.has('bundle'))
    throw new UsageError(`--graph ${a.graph} is for cells with dataset=bundle, and this sweep has none: write dataset=bundle in the base config, or leave out --graph.`);
  const graph = a.graph ? resolve(a.graph) : undefined;

  // the default name is the same for the same grid, so --resume finds it again
  const hash = createHash('sha256').update(cells.map((c) => c.config).join('\n')).digest('hex').slice(0, 8);
  const prefix = a.out || `sweep-${hash}${shard ? `-${shard.k}of${shard.n}` : ''}`;
  const jsonl = prefix + '.jsonl', csv = prefix + '.csv';
  const results = new Map(); // config -> record
  if (existsSync(jsonl)) {
    if (!a.resume) throw new UsageError(`${jsonl} exists. Add --resume to skip the cells it holds and run the others, or choose another --out (or delete it).`);
    const wanted = new Map(mine.map((c) => [c.config, c]));
    const want = engine === 'native' ? 'native' : nl.engine;
    for (const r of readResults([jsonl]).records) {
      if (!wanted.has(r.config)) continue;
      // engines agree to rounding, not to the bit: one sweep, one engine
      if (r.engine !== want)
        throw new UsageError(`${jsonl} holds cells trained on ${r.engine}, but this sweep runs on ${want}; resume with --engine ${r.engine}, or choose another --out.`);
      results.set(r.config, { ...r, cell: wanted.get(r.config).index });
    }
  }
  mkdirSync(dirname(jsonl), { recursive: true });
  appendFileSync(jsonl, ''); // an empty shard still leaves its file for merge
  const todo = mine.filter((c) => !results.has(c.config));
  const workers = Math.min(jobs, todo.length);
  process.stderr.write(`sweep: ${mine.length} cells${shard ? ` (shard ${shard.k}/${shard.n} of ${cells.length})` : ''}` +
    `${results.size ? `, ${results.size} already in ${jsonl}` : ''}; running ${todo.length} on ${workers} ${engine} worker${workers === 1 ? '' : 's'}; ` +
    `results in ${jsonl} and ${csv}\n`);

  const tty = process.stderr.isTTY, t0 = performance.now();
  const failed = [];
  let done = 0, lastDraw = 0;
  const line = (text) => process.stderr.write((tty ? '\r\x1b[K' : '') + text + '\n');
  const onProgress = (fracs) => {
    if (!tty || Date.now() - lastDraw < 200) return;
    lastDraw = Date.now();
    const frac = (done + fracs.reduce((s, f) => s + f, 0)) / todo.length, seconds = (performance.now() - t0) / 1000;
    const bar = '#'.repeat(Math.round(frac * 30)).padEnd(30, '.');
    process.stderr.write(`\r[${bar}] ${done}/${todo.length} cells, ${fracs.length} running  ${fmtTime(seconds)} elapsed, ETA ${fmtTime(frac > 0 ? seconds / frac - seconds : Infinity)}  `);
  };
  await runPool(todo, jobs, { engine, total: cells.length, graph }, {
    onDone(cell, rec) {
      done++;
      appendFileSync(jsonl, JSON.stringify(rec) + '\n');
      results.set(cell.config, rec);
      line(`[${done + failed.length}/${todo.length}] ${axesText(cell.axes)}: ${rec.status}, last ${(100 * rec.last_test_acc).toFixed(2)}% ` +
        `best ${(100 * rec.best_test_acc).toFixed(2)}%  ${rec.wall_seconds.toFixed(1)} s`);
      onProgress([]);
    },
    onFail(cell, message) {
      failed.push({ index: cell.index, axes: cell.axes, config: cell.config, message });
      line(`[${done + failed.length}/${todo.length}] ${axesText(cell.axes)}: FAILED: ${message}`);
    },
    onProgress,
  });

  const records = mine.filter((c) => results.has(c.config)).map((c) => results.get(c.config));
  writeFileSync(csv, csvText(records));
  line(`${todo.length} cells in ${fmtTime((performance.now() - t0) / 1000)}; wrote ${jsonl} and ${csv}`);
  process.stdout.write(summaryTable(records, failed));
  if (failed.length) {
    // one line per distinct reason, not one per cell; cells in grid order, not in the order workers finished
    failed.sort((a, b) => a.index - b.index);
    const reasons = new Map();
    for (const f of failed) reasons.set(f.message, [...(reasons.get(f.message) || []), axesText(f.axes)]);
    for (const [msg, who] of reasons) process.stderr.write(`${who.length} cell${who.length === 1 ? '' : 's'} failed (${who.slice(0, 3).join('; ')}${who.length > 3 ? '; ...' : ''}): ${msg}\n`);
    process.stderr.write(`${failed.length} of ${mine.length} cells failed and are not in ${jsonl}. Hint: fix the cause, then run the same command with --resume to run only them.\n`);
    process.exitCode = 1;
  }
}
