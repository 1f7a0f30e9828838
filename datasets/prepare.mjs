#!/usr/bin/env node
// prepare.mjs: converts raw datasets into the lab's shards (format in core/readers.h).
//
//   node datasets/prepare.mjs [--out DIR] [--raw DIR] [--force] [--quiet] [names...]
//
// Writes DIR/<name>/train.shard and test.shard (DIR defaults to build/datasets, or
// $NOISYLAB_DATASETS) and DIR/manifest.json. Names: mnist, fashion-mnist, cifar10
// (default: all). All decoding is done by the core (WASM): the same IDX, gzip and
// PNG readers that the fuzzers exercise.
//
// Sources, first complete one wins:
//   1. build/raw/<name>/ ($NOISYLAB_RAW_DIR, --raw): the official files fetched by
//      datasets/download.mjs (full CIFAR-10 test set included);
//   2. ../shared/datasets ($NOISYLAB_DATA_DIR) for mnist and cifar10, the Debian
//      package dataset-fashion-mnist ($NOISYLAB_FASHION_DIR) for fashion-mnist.
// A dataset without a source is skipped with a message and listed as unavailable
// in the manifest, with the command that downloads it; that is not an error.
// A corrupt source file is an error naming the file (exit code 1), but the other
// datasets are still prepared. A dataset whose sources and preparation code are
// unchanged since the last run (stamp in the manifest) is not prepared again.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync, constants as zc } from 'node:zlib';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// Bump when the shard contents for the same sources would change: forces re-preparation.
export const PREP_VERSION = 1;

export function defaultDirs(env = process.env) {
  return {
    shared: env.NOISYLAB_DATA_DIR || resolve(repoRoot, '..', 'shared', 'datasets'),
    fashion: env.NOISYLAB_FASHION_DIR || '/usr/share/datasets/fashion-mnist',
    raw: env.NOISYLAB_RAW_DIR || join(repoRoot, 'build', 'raw'),
    out: env.NOISYLAB_DATASETS || join(repoRoot, 'build', 'datasets'),
  };
}

export class PrepareError extends Error {}

// ---- the datasets

const IDX = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
const CIFAR_BINS = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
const CIFAR_RECORD = 3073;

const MNIST_CITATION = 'Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to document recognition", Proc. IEEE 86(11), 1998. Database by Y. LeCun, C. Cortes and C. J. C. Burges (yann.lecun.com/exdb/mnist).';
const CIFAR_CITATION = 'Alex Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", Technical Report, University of Toronto, 2009 (www.cs.toronto.edu/~kriz/cifar.html).';
const SPRITES_LICENSE = 'ConvNetJS sprite conversion by Andrej Karpathy (github.com/karpathy/convnetjs), MIT License.';

export const DATASETS = {
  mnist: {
    shape: [1, 28, 28], classes: 10,
    class_names: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    plans: (d) => [idxPlan('raw', join(d.raw, 'mnist'), 'MNIST, official IDX files fetched by datasets/download.mjs'), {
      kind: 'shared',
      description: 'MNIST: the 60,000 training images from the ConvNetJS sprites mnist-convnetjs/mnist_batch_0..19.png (pixel-exact, IDX order) with mnist/train-labels-idx1-ubyte.gz; the 10,000 test images and labels from mnist/t10k-*-idx*-ubyte.gz.',
      files: [...Array.from({ length: 20 }, (_, s) => join(d.shared, 'mnist-convnetjs', `mnist_batch_${s}.png`)),
        ...['train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].map((f) => join(d.shared, 'mnist', f))],
      splits: (f) => ({
        train: { n: 60000, steps: [...f.slice(0, 20).map((file, s) => ({ op: 'png', file, first: 3000 * s, count: 3000 })), { op: 'idx-labels', file: f[20], first: 0, count: 60000 }] },
        test: idxSplit(f[21], f[22]),
      }),
    }],
    citation: MNIST_CITATION,
    license: `The MNIST page states no license. ${SPRITES_LICENSE}`,
  },
  'fashion-mnist': {
    shape: [1, 28, 28], classes: 10,
    class_names: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    plans: (d) => [idxPlan('raw', join(d.raw, 'fashion-mnist'), 'Fashion-MNIST, official IDX files fetched by datasets/download.mjs'),
      idxPlan('debian', d.fashion, 'Fashion-MNIST, IDX files of the Debian package dataset-fashion-mnist (packaged from github.com/zalandoresearch/fashion-mnist; the .gz files differ byte-wise from the official downloads)')],
    citation: 'Han Xiao, Kashif Rasul and Roland Vollgraf, "Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms", arXiv:1708.07747, 2017.',
    license: 'MIT License, Copyright (c) 2017 Zalando SE (github.com/zalandoresearch/fashion-mnist).',
  },
  cifar10: {
    shape: [3, 32, 32], classes: 10,
    class_names: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
    plans: (d) => [{
      kind: 'raw',
      description: 'CIFAR-10, binary version (cifar-10-binary.tar.gz) fetched by datasets/download.mjs: data_batch_1..5.bin (50,000 training images) and test_batch.bin (all 10,000 test images).',
      files: CIFAR_BINS.map((f) => join(d.raw, 'cifar10', f)),
      splits: (f) => {
        const counts = f.map((file) => {
          const size = statSync(file).size;
          if (size === 0 || size % CIFAR_RECORD)
            throw new PrepareError(`${file}: ${size} bytes is not a whole number of ${CIFAR_RECORD}-byte records. Hint: the file is truncated or not a CIFAR-10 binary batch; run \`${downloadCommand('cifar10')}\` again.`);
          return size / CIFAR_RECORD;
        });
        let first = 0;
        const train = f.slice(0, 5).map((file, i) => {
          const step = { op: 'cifar-bin', file, first };
          first += counts[i];
          return step;
        });
        return { train: { n: first, steps: train }, test: { n: counts[5], steps: [{ op: 'cifar-bin', file: f[5], first: 0 }] } };
      },
    }, {
      kind: 'shared',
      description: 'CIFAR-10 from the ConvNetJS sprites: cifar10-convnetjs/cifar10_batch_0..49.png = the 50,000 training images (pixel-exact), cifar10_batch_50.png = test images 0-999, labels from cifar10_labels.json (or .js).',
      note: 'The test split holds only the first 1,000 of the 10,000 CIFAR-10 test images (test_batch images 0-999): the sprites have no more. Test accuracies on it are not directly comparable with published full-test-set numbers. Run `node datasets/download.mjs cifar10` for the full test set.',
      test_subset: { of: 10000, first: 0, count: 1000 },
      files: [...Array.from({ length: 51 }, (_, s) => join(d.shared, 'cifar10-convnetjs', `cifar10_batch_${s}.png`)), cifarLabelsFile(d.shared)],
      splits: (f) => ({
        train: { n: 50000, steps: [...f.slice(0, 50).map((file, s) => ({ op: 'png', file, first: 1000 * s, count: 1000 })), { op: 'json-labels', file: f[51], from: 0, first: 0, count: 50000 }] },
        test: { n: 1000, steps: [{ op: 'png', file: f[50], first: 0, count: 1000 }, { op: 'json-labels', file: f[51], from: 50000, first: 0, count: 1000 }] },
      }),
    }],
    citation: CIFAR_CITATION,
    license: `No license is stated; the dataset page asks users to cite the report. The images are a labelled subset of the 80 Million Tiny Images collection. ${SPRITES_LICENSE}`,
  },
};

function idxPlan(kind, dir, description) {
  const files = IDX.map((f) => join(dir, f));
  return {
    kind, description, files,
    splits: (f) => ({ train: idxSplit(f[0], f[1]), test: idxSplit(f[2], f[3]) }),
  };
}

// images and labels from a pair of IDX files, which must hold the same number of items
function idxSplit(images, labels) {
  const n = idxCount(images), nl = idxCount(labels);
  if (n !== nl)
    throw new PrepareError(`${labels}: holds ${nl} labels, but ${basename(images)} holds ${n} images. Hint: the two files must belong to the same split of the same dataset; copy or download them again.`);
  return { n, steps: [{ op: 'idx-images', file: images, first: 0, count: n }, { op: 'idx-labels', file: labels, first: 0, count: n }] };
}

function cifarLabelsFile(shared) {
  const json = join(shared, 'cifar10-convnetjs', 'cifar10_labels.json');
  return existsSync(json) ? json : join(shared, 'cifar10-convnetjs', 'cifar10_labels.js');
}

// The shard's image count must be known before building it. For IDX files it is
// in the header: read it from the first bytes (for .gz, by inflating only a prefix,
// without the trailer, with Node's zlib). The core then decodes and validates the
// whole file, CRC included.
function idxCount(file) {
  const buf = readFileSync(file);
  let head = buf.subarray(0, 65536);
  if (head[0] === 0x1f && head[1] === 0x8b) {
    try {
      head = gunzipSync(buf.subarray(0, Math.min(65536, Math.max(buf.length - 8, 10))), { finishFlush: zc.Z_SYNC_FLUSH });
    } catch (e) {
      throw new PrepareError(`${file}: not a readable gzip file (${e.message}). Hint: the file is damaged; copy or download it again.`);
    }
  }
  if (head.length < 8)
    throw new PrepareError(`${file}: truncated: ${buf.length} bytes hold no complete IDX header. Hint: the file is damaged; copy or download it again.`);
  if (head[0] !== 0 || head[1] !== 0 || head[2] !== 8)
    throw new PrepareError(`${file}: not an IDX file (bad magic). Hint: check that it is an MNIST-style IDX file; copy or download it again.`);
  const n = head.readUInt32BE(4);
  if (n < 1 || n > 10000000) throw new PrepareError(`${file}: IDX header says ${n} items. Hint: the file is damaged; copy or download it again.`);
  return n;
}

// cifar10_labels.json is {"labels":[...]}; cifar10_labels.js is `var labels=[...];`
function parseLabels(file, classes) {
  const text = readFileSync(file, 'utf8');
  let labels;
  try {
    labels = file.endsWith('.json') ? JSON.parse(text).labels : JSON.parse(text.slice(text.indexOf('['), text.lastIndexOf(']') + 1));
  } catch (e) {
    throw new PrepareError(`${file}: cannot parse the labels (${e.message}). Hint: the file is damaged; copy it again from its source.`);
  }
  if (!Array.isArray(labels)) throw new PrepareError(`${file}: no "labels" array. Hint: the file is damaged; copy it again from its source.`);
  const bad = labels.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= classes);
  if (bad >= 0) throw new PrepareError(`${file}: label ${bad} is ${JSON.stringify(labels[bad])}, not a class 0..${classes - 1}. Hint: the file is damaged; copy it again from its source.`);
  return Uint8Array.from(labels);
}

// ---- building one split in the core

function call(nl, fn, ...args) {
  const r = fn(...args);
  if (r < 0) throw new PrepareError(nl.lastError() || 'unknown error in the core. Hint: this is a bug.');
  return r;
}

function buildSplit(nl, ds, name, split, plan) {
  const E = nl.exports;
  const [c, h, w] = ds.shape;
  const shardName = `${name}/${split}.shard`;
  const np = nl.cstring(shardName);
  const b = E.nl_shard_new(plan.n, c, h, w, ds.classes, np);
  nl.free(np);
  if (!b) throw new PrepareError(nl.lastError());
  const labelCache = new Map();
  try {
    for (const s of plan.steps) {
      const fileName = basename(s.file);
      const count = s.count ?? -1;
      if (s.op === 'json-labels') {
        if (!labelCache.has(s.file)) labelCache.set(s.file, parseLabels(s.file, ds.classes));
        const all = labelCache.get(s.file);
        if (all.length < s.from + s.count)
          throw new PrepareError(`${s.file}: holds ${all.length} labels, ${s.from + s.count} are needed. Hint: the file is incomplete; copy it again from its source.`);
        const p = nl.copyIn(all.subarray(s.from, s.from + s.count));
        const fp = nl.cstring(fileName);
        try { call(nl, E.nl_shard_put_labels, b, s.first, p, s.count, fp); } finally { nl.free(p); nl.free(fp); }
        continue;
      }
      const fn = { png: E.nl_shard_put_png_rows, 'idx-images': E.nl_shard_put_idx_images, 'idx-labels': E.nl_shard_put_idx_labels, 'cifar-bin': E.nl_shard_put_cifar_bin }[s.op];
      const bytes = readFileSync(s.file);
      const p = nl.copyIn(bytes);
      const fp = nl.cstring(fileName);
      try { call(nl, fn, b, s.first, p, bytes.length, count, fp); } finally { nl.free(p); nl.free(fp); }
    }
    const lenp = nl.malloc(4);
    const sp = E.nl_shard_finish(b, lenp);
    const len = nl.heapU8().slice(lenp, lenp + 4);
    nl.free(lenp);
    if (!sp) throw new PrepareError(nl.lastError());
    const n = new DataView(len.buffer).getUint32(0, true);
    return { builder: b, view: nl.heapU8().subarray(sp, sp + n) };
  } catch (e) {
    E.nl_shard_free(b);
    throw e;
  }
}

function classCounts(view, n, classes) {
  const counts = new Array(classes).fill(0);
  const labels = view.subarray(view.length - 4 - n, view.length - 4);
  for (const l of labels) counts[l]++;
  return counts;
}

// writes next to the target and renames, so a crash never leaves a half shard that looks current
function writeAtomic(file, data) {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

// ---- stamps: what a prepared dataset was made from

function shownPath(f) {
  const rel = relative(repoRoot, f);
  return rel.startsWith(join('..', '..')) ? f : rel;
}

function stampOf(plan) {
  const h = createHash('sha256');
  h.update(JSON.stringify({ prep: PREP_VERSION, kind: plan.kind }));
  for (const f of plan.files) {
    const st = statSync(f);
    h.update(`\n${f}\t${st.size}\t${Math.round(st.mtimeMs)}`);
  }
  return h.digest('hex').slice(0, 32);
}

function upToDate(entry, stamp, out) {
  if (!entry || entry.available !== true || entry.stamp !== stamp || entry.prep_version !== PREP_VERSION) return false;
  for (const split of ['train', 'test']) {
    const s = entry.shards?.[split];
    if (!s) return false;
    const f = join(out, s.file);
    if (!existsSync(f)) return false;
    const st = statSync(f);
    if (st.size !== s.bytes || Math.round(st.mtimeMs) !== s.mtime_ms) return false;
  }
  return true;
}

function sourceOf(plan, ds) {
  return {
    kind: plan.kind, description: plan.description, ...(plan.note ? { note: plan.note } : {}),
    ...(plan.test_subset ? { test_subset: plan.test_subset } : {}),
    files: plan.files.map(shownPath), citation: ds.citation, license: ds.license,
  };
}

export function downloadCommand(name) {
  return `node datasets/download.mjs ${name}`;
}

function unavailable(name, ds, reason) {
  return {
    name, available: false, shape: ds.shape, classes: ds.classes, class_names: ds.class_names, reason,
    download: downloadCommand(name),
    hint: `run \`${downloadCommand(name)}\` (or \`npx noisylab download ${name}\`) to fetch it from its official source`,
  };
}

// ---- the main entry point

// JSON with two-space indentation, but arrays of numbers and strings on one line
function toJSON(v) {
  return JSON.stringify(v, null, 2).replace(/\[\n\s*([^\[\]{}]*?)\n\s*\]/g, (_, inner) => `[${inner.split(/,\n\s*/).join(', ')}]`);
}

export function readManifest(out) {
  const f = join(out, 'manifest.json');
  if (!existsSync(f)) return null;
  try {
    const m = JSON.parse(readFileSync(f, 'utf8'));
    return Array.isArray(m.datasets) ? m : null;
  } catch {
    return null; // a damaged manifest only costs a re-preparation
  }
}

// Prepares the named datasets; returns { manifest, results: [{ name, status, message, seconds }] }
// with status 'prepared', 'up-to-date', 'unavailable' or 'failed'. Never throws for a
// missing or corrupt source.
export async function prepare({ names = Object.keys(DATASETS), dirs = defaultDirs(), force = false, log = () => {}, engine } = {}) {
  for (const n of names)
    if (!DATASETS[n]) throw new PrepareError(`unknown dataset '${n}'. Hint: choose from ${Object.keys(DATASETS).join(', ')}.`);
  const out = dirs.out;
  mkdirSync(out, { recursive: true });
  const old = readManifest(out);
  const entries = new Map((old?.datasets || []).filter((e) => DATASETS[e.name]).map((e) => [e.name, e]));
  const results = [];
  let nl = engine;

  for (const name of names) {
    const ds = DATASETS[name];
    const t0 = performance.now();
    const plans = ds.plans(dirs);
    const plan = plans.find((p) => p.files.every((f) => existsSync(f)));
    if (!plan) {
      const looked = plans.map((p) => `${p.kind}: ${shownPath(dirname(p.files.find((f) => !existsSync(f))))}`).join('; ');
      const reason = `no complete source found (missing files in ${looked})`;
      entries.set(name, unavailable(name, ds, reason));
      results.push({ name, status: 'unavailable', message: reason, seconds: 0 });
      log(`prepare: ${name}: skipped, ${reason}. To get it: ${downloadCommand(name)}`);
      continue;
    }
    try {
      const stamp = stampOf(plan);
      if (!force && upToDate(entries.get(name), stamp, out)) {
        // the shards are current; the descriptive fields follow this version of the code
        entries.set(name, { ...entries.get(name), class_names: ds.class_names, source: sourceOf(plan, ds) });
        results.push({ name, status: 'up-to-date', message: `${join(shownPath(out), name)} is up to date`, seconds: (performance.now() - t0) / 1000 });
        log(`prepare: ${name}: up to date (${plan.kind} source)`);
        continue;
      }
      if (!nl) {
        const { loadEngine } = await import('../wasm/noisylab.js');
        nl = await loadEngine({ scalar: false });
      }
      const splits = plan.splits(plan.files);
      mkdirSync(join(out, name), { recursive: true });
      const entry = {
        name, available: true, shape: ds.shape, classes: ds.classes, class_names: ds.class_names,
        train: splits.train.n, test: splits.test.n, class_counts: {}, shards: {},
        source: sourceOf(plan, ds),
        stamp, prep_version: PREP_VERSION,
      };
      for (const split of ['train', 'test']) {
        const { builder, view } = buildSplit(nl, ds, name, split, splits[split]);
        try {
          const file = join(name, `${split}.shard`);
          entry.class_counts[split] = classCounts(view, splits[split].n, ds.classes);
          const sha256 = createHash('sha256').update(view).digest('hex');
          writeAtomic(join(out, file), view);
          const st = statSync(join(out, file));
          entry.shards[split] = { file, bytes: view.length, sha256, mtime_ms: Math.round(st.mtimeMs) };
        } finally {
          nl.exports.nl_shard_free(builder);
        }
      }
      entry.seconds = +((performance.now() - t0) / 1000).toFixed(2);
      entries.set(name, entry);
      results.push({ name, status: 'prepared', message: `${entry.train} train + ${entry.test} test images`, seconds: entry.seconds });
      log(`prepare: ${name}: ${entry.train} train + ${entry.test} test images from the ${plan.kind} source in ${entry.seconds} s`);
    } catch (e) {
      if (!(e instanceof PrepareError) && !(e && e.name === 'NlError') && !(e && e.code)) throw e; // a bug: let it show
      const message = e.message;
      // no shard may outlive a failed preparation: the manifest and the folder must agree
      for (const split of ['train', 'test']) rmSync(join(out, name, `${split}.shard`), { force: true });
      entries.set(name, { ...unavailable(name, ds, `preparation failed: ${message}`), error: message });
      results.push({ name, status: 'failed', message, seconds: (performance.now() - t0) / 1000 });
      log(`prepare: ${name}: FAILED: ${message}`);
    }
  }

  const order = Object.keys(DATASETS);
  const manifest = {
    format: 'noisylab-datasets', version: 1, prep_version: PREP_VERSION,
    datasets: [...entries.values()].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name)),
  };
  writeAtomic(join(out, 'manifest.json'), toJSON(manifest) + '\n');
  return { manifest, results };
}

export async function main(argv) {
  const dirs = defaultDirs();
  const names = [];
  let force = false, quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out' || a === '--raw') {
      if (i + 1 >= argv.length) throw new PrepareError(`option ${a} needs a directory. Hint: e.g. ${a} build/datasets.`);
      dirs[a.slice(2)] = resolve(argv[++i]);
    } else if (a === '--force') force = true;
    else if (a === '--quiet') quiet = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1).filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
      return 0;
    } else if (a.startsWith('--')) throw new PrepareError(`unknown option ${a}. Hint: options are --out DIR, --raw DIR, --force, --quiet.`);
    else names.push(a);
  }
  const t0 = performance.now();
  const { results } = await prepare({ names: names.length ? names : undefined, dirs, force, log: quiet ? () => {} : (m) => process.stderr.write(m + '\n') });
  if (!quiet) process.stderr.write(`prepare: done in ${((performance.now() - t0) / 1000).toFixed(1)} s (manifest: ${join(shownPath(dirs.out), 'manifest.json')})\n`);
  return results.some((r) => r.status === 'failed') ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    process.stderr.write(`prepare: ${e.message}\n`);
    process.exitCode = e instanceof PrepareError ? 2 : 1;
  });
}
