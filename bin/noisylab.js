#!/usr/bin/env node
// noisylab: the command-line face of the lab. Same core, same config strings as the page.
//
//   noisylab train "<config>" [--json] [--out FILE] [--engine wasm-simd|wasm-scalar|native]
//   noisylab loss --loss NAME [--alpha A --beta B --q Q --gamma G --class-counts n1,n2 --cb-beta B] < input.json
//   noisylab datasets            list prepared datasets
//   noisylab keys                every config key with its default and allowed values
//   noisylab download NAME       fetch a dataset from its official source, then prepare it
//
// Exit codes: 0 ok, 1 runtime failure (missing data, diverged run), 2 bad input
// (unknown key, bad value, malformed JSON): the message names what to fix.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine, NlError, STATUS } from '../wasm/noisylab.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const datasetsDir = () => process.env.NOISYLAB_DATASETS || join(root, 'build', 'datasets');

class UsageError extends Error {}

function parseArgs(argv, flags) {
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

function fmtTime(s) {
  if (!isFinite(s)) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? h + ':' + String(m).padStart(2, '0') : m) + ':' + String(sec).padStart(2, '0');
}

// Progress: a redrawn bar with ETA on a terminal, one plain line per epoch otherwise.
function makeReporter(quiet) {
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

function shardPaths(dataset) {
  if (dataset === 'synth') return null;
  const dir = join(datasetsDir(), dataset);
  const paths = [join(dir, 'train.shard'), join(dir, 'test.shard')];
  for (const p of paths)
    if (!existsSync(p))
      throw new Error(`dataset '${dataset}' is not prepared: ${p} is missing. Hint: run \`npm run prepare-data\`, or \`npx noisylab download ${dataset}\` without ../shared/datasets.`);
  return paths;
}

async function trainWasm(nl, config, report) {
  const run = nl.newRun(config);
  try {
    const { dataset } = nl.configJSON(config);
    const paths = shardPaths(dataset);
    if (paths) paths.forEach((p, split) => run.addShard(split, readFileSync(p), `${dataset}/${split ? 'test' : 'train'}.shard`));
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

async function trainNative(config, dataset, report) {
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

async function cmdTrain(argv) {
  const a = parseArgs(argv, { json: 'bool', out: 'value', engine: 'value' });
  if (a._.length !== 1) throw new UsageError('train takes one config string, e.g. noisylab train "dataset=synth&epochs=2".');
  const engine = a.engine || 'wasm-simd';
  if (!['wasm-simd', 'wasm-scalar', 'native'].includes(engine))
    throw new UsageError(`option --engine: '${engine}' is not allowed; it must be one of wasm-simd, wasm-scalar, native.`);
  const nl = await loadEngine({ scalar: engine === 'wasm-scalar' });
  const config = nl.normalizeConfig(a._[0]); // validates: bad input exits 2 before any work
  const report = makeReporter(!!a.json);
  const dataset = nl.configJSON(config).dataset;
  const result = engine === 'native' ? await trainNative(config, dataset, report) : await trainWasm(nl, config, report);
  result.engine = engine === 'native' ? 'native' : nl.engine;
  result.isa = result.isa || nl.isa();
  const images = result.epochs.length * result.dataset.train;
  result.wall_seconds = +result.seconds.toFixed(3);
  delete result.seconds;
  result.img_per_s = +(images / result.wall_seconds).toFixed(1);
  if (dataset === 'cifar10') result.note = 'CIFAR-10 test accuracy is on the 1,000 available test images (test_batch 0-999), not the full 10,000.';
  const text = JSON.stringify(result, null, a.json ? 0 : 2);
  if (a.out) writeFileSync(a.out, text + '\n');
  process.stdout.write(text + '\n');
  if (result.status === 'diverged') {
    process.stderr.write(result.message + '\n');
    process.exitCode = 1;
  }
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

async function cmdLoss(argv) {
  const a = parseArgs(argv, { loss: 'value', alpha: 'value', beta: 'value', q: 'value', gamma: 'value', 'class-counts': 'value', 'cb-beta': 'value' });
  if (!a.loss) throw new UsageError('loss needs --loss NAME, e.g. noisylab loss --loss ce < input.json.');
  // The loss travels as a config key, so it gets the same validation as a run's. The
  // parameter flags belong to the robust losses of the label-noise study; the core
  // validates them once it has those losses, and until then says so plainly.
  const given = ['alpha', 'beta', 'q', 'gamma', 'class-counts', 'cb-beta'].filter((f) => a[f] !== undefined);
  if (given.length)
    throw new UsageError(`--${given[0]} is a parameter of the robust and class-balanced losses, which this build does not have yet; '${a.loss}' takes no parameters. Allowed losses now: ce.`);
  const params = `loss=${encodeURIComponent(a.loss)}`;
  let input;
  try { input = JSON.parse(await readStdin()); } catch (e) {
    throw new UsageError(`stdin is not valid JSON (${e.message}). Expected {"logits": [[...], ...], "labels": [...]}.`);
  }
  const { logits, labels } = input || {};
  if (!Array.isArray(logits) || !logits.length || !logits.every((r) => Array.isArray(r) && r.every((v) => typeof v === 'number' && isFinite(v))))
    throw new UsageError('"logits" must be a non-empty array of rows of finite numbers.');
  if (!Array.isArray(labels) || !labels.every((v) => Number.isInteger(v)))
    throw new UsageError('"labels" must be an array of integer class indices.');
  const nl = await loadEngine();
  const out = nl.loss(params, logits, labels);
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function cmdDatasets() {
  const manifestPath = join(datasetsDir(), 'manifest.json');
  const rows = [{ name: 'synth', shape: [3, 32, 32], classes: 10, train: 5000, test: 1000, source: 'generated by the core from a fixed seed (no download)', available: true }];
  if (existsSync(manifestPath)) {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
    for (const d of m.datasets || []) rows.push(d);
  }
  for (const d of rows) {
    const avail = d.available === false ? `not prepared: ${d.hint || 'run npm run prepare-data'}` : `${d.train ?? d.counts?.train} train / ${d.test ?? d.counts?.test} test`;
    const src = typeof d.source === 'string' ? d.source : d.source?.description || d.source?.citation || '';
    process.stdout.write(`${d.name.padEnd(14)} ${(d.shape || []).join('x').padEnd(9)} ${String(d.classes).padStart(3)} classes  ${avail}\n${' '.repeat(15)}${src}\n`);
  }
}

async function cmdKeys() {
  const nl = await loadEngine();
  for (const k of nl.configSchema()) {
    const allowed = k.choices ? k.choices.join('|') : `${k.min}..${k.max}`;
    process.stdout.write(`${k.key.padEnd(12)} default ${String(k.default).padEnd(10)} ${allowed}\n${' '.repeat(13)}${k.help}\n`);
  }
}

async function cmdDownload(argv) {
  const mod = join(root, 'datasets', 'download.mjs');
  if (!existsSync(mod)) throw new Error('datasets/download.mjs is missing. Hint: reinstall noisylab.');
  const { main } = await import(mod);
  await main(argv);
}

const commands = { train: cmdTrain, loss: cmdLoss, datasets: cmdDatasets, keys: cmdKeys, download: cmdDownload };

async function main() {
  // `noisylab keys | head` closes the pipe early: that is not an error
  process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); throw e; });
  const [cmd, ...rest] = process.argv.slice(2);
  if (!cmd || cmd === '--help' || cmd === 'help' || !commands[cmd]) {
    const usage = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//   ')).map((l) => '  ' + l.slice(5)).join('\n');
    process.stderr.write(`${cmd && cmd !== 'help' && cmd !== '--help' ? `unknown command '${cmd}'.\n` : ''}usage:\n${usage}\n`);
    process.exit(cmd && cmd !== 'help' && cmd !== '--help' ? 2 : 0);
  }
  try {
    await commands[cmd](rest);
  } catch (e) {
    const bad = e instanceof UsageError || (e instanceof NlError && /config key|unknown config|config item|loss:/.test(e.message));
    process.stderr.write(`noisylab ${cmd}: ${e.message}${e instanceof UsageError ? ' Hint: run `npx noisylab help`.' : ''}\n`);
    process.exit(bad ? 2 : e.exitCode === 2 ? 2 : 1);
  }
}

main();
