// lib.mjs: what the CLI's commands share: argument parsing, progress output, and
// running one training job on the WASM engine or the native driver.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STATUS } from '../wasm/noisylab.js';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const datasetsDir = () => process.env.NOISYLAB_DATASETS || join(root, 'build', 'datasets');

// A mistake in the command line or its input: exit code 2.
export class UsageError extends Error {}

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

// Graph datasets are not prepared: the core reads the eight raw Planetoid files
// (ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index}, a few hundred KB) straight
// from the source folder, ../shared/datasets/<name> or $NOISYLAB_DATA_DIR/<name>.
export const GRAPH_DATASETS = ['cora', 'citeseer'];
export const GRAPH_PARTS = ['x', 'y', 'tx', 'ty', 'allx', 'ally', 'graph', 'test.index'];
export const graphSourceDir = () => process.env.NOISYLAB_DATA_DIR || join(root, '..', 'shared', 'datasets');

export function graphPaths(dataset) {
  const dir = join(graphSourceDir(), dataset);
  const paths = GRAPH_PARTS.map((p) => join(dir, `ind.${dataset}.${p}`));
  for (const p of paths)
    if (!existsSync(p))
      throw new Error(`dataset '${dataset}' is not available: ${p} is missing. Hint: copy the eight Planetoid files ind.${dataset}.{${GRAPH_PARTS.join(',')}} (kimiyoung/planetoid or tkipf/gcn, data/) into ${dir}, or set NOISYLAB_DATA_DIR to the folder that holds ${dataset}/.`);
  return paths;
}

export function shardPaths(dataset) {
  if (dataset === 'synth') return null;
  if (GRAPH_DATASETS.includes(dataset)) return graphPaths(dataset);
  const dir = join(datasetsDir(), dataset);
  const paths = [join(dir, 'train.shard'), join(dir, 'test.shard')];
  for (const p of paths)
    if (!existsSync(p))
      throw new Error(`dataset '${dataset}' is not prepared: ${p} is missing. Hint: run \`npm run prepare-data\`, or \`npx noisylab download ${dataset}\` without ../shared/datasets.`);
  return paths;
}

export async function trainWasm(nl, config, report) {
  const run = nl.newRun(config);
  try {
    const { dataset } = nl.configJSON(config);
    const paths = shardPaths(dataset);
    // graphs: every file goes to split 0 under its own name (the core tells them apart by name)
    const graph = GRAPH_DATASETS.includes(dataset);
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

export async function trainNative(config, dataset, report) {
  const exe = join(root, 'build', 'native', 'nlrun');
  if (!existsSync(exe)) throw new Error(`the native engine is not built (${exe}). Hint: run ./build.sh.`);
  const args = [config, ...(shardPaths(dataset) || [])];
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
