// datasets.test.mjs: datasets/prepare.mjs and datasets/download.mjs.
//
// - prepare on the real data when ../shared/datasets is there (else skipped with a
//   note): shard contents (MNIST mean, CIFAR-10 per-channel mean/std, known pixels),
//   the manifest, and a fast second run;
// - missing sources: skipped, listed with the download command, exit code 0;
// - corrupt sources: an error naming the file, the other datasets still prepared;
// - download.mjs against a local HTTP server on 127.0.0.1 with small generated files
//   (IDX .gz, a tiny cifar-10-binary.tar.gz, a tiny dmg777k in kgbench CSVs, a tiny
//   mutag-hetero.zip; and ../shared's real graph files, served locally, against the
//   inventory's sha256): never the internet.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';

import { DownloadError, SOURCES, download, main as downloadMain, parseTar, zipMember } from '../../datasets/download.mjs';
import { DATASETS, defaultDirs, prepare, repoRoot } from '../../datasets/prepare.mjs';
import { loadEngine } from '../../wasm/noisylab.js';

const SHARED = process.env.NOISYLAB_DATA_DIR || resolve(repoRoot, '..', 'shared', 'datasets');
const FASHION = process.env.NOISYLAB_FASHION_DIR || '/usr/share/datasets/fashion-mnist';
const hasShared = existsSync(join(SHARED, 'mnist')) && existsSync(join(SHARED, 'cifar10-convnetjs'));
const hasFashion = existsSync(join(FASHION, 'train-images-idx3-ubyte.gz'));
if (!hasShared) console.log(`# note: ${SHARED} not found: the real-data tests are skipped`);

const temps = [];
function tempDir(tag) {
  const d = mkdtempSync(join(tmpdir(), `nl-${tag}-`));
  temps.push(d);
  return d;
}
after(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

const md5 = (b) => createHash('md5').update(b).digest('hex');
const sha256 = (b) => createHash('sha256').update(b).digest('hex');

function readShard(file) {
  const b = readFileSync(file);
  assert.equal(b.toString('latin1', 0, 8), 'NLSHARD1', `${file}: magic`);
  const [version, n, c, h, w, classes] = [8, 12, 16, 20, 24, 28].map((o) => b.readUInt32LE(o));
  const npix = n * c * h * w;
  assert.equal(b.length, 40 + npix + n + 4, `${file}: size`);
  return { version, n, c, h, w, classes, bytes: b, pixels: b.subarray(40, 40 + npix), labels: b.subarray(40 + npix, 40 + npix + n) };
}

let nl;
async function coreInfo(bytes, name) {
  nl ??= await loadEngine({ scalar: false });
  const p = nl.copyIn(bytes), np = nl.cstring(name), out = nl.malloc(20);
  try {
    if (nl.exports.nl_shard_info(p, bytes.length, np, out) < 0) return { error: nl.lastError() };
    return { info: Array.from(nl.heapI32(out, 5)) };
  } finally { nl.free(p); nl.free(np); nl.free(out); }
}

function runCli(script, args, env) {
  return spawnSync(process.execPath, [join(repoRoot, 'datasets', script), ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
}

// ---- small generated sources

function idx(magic, dims, data) {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, Buffer.from(data)]);
}
function tinyMnist(nTrain = 5, nTest = 3) {
  const px = (n, salt) => Uint8Array.from({ length: n * 784 }, (_, i) => (i * 7 + salt * 13 + (i >> 5)) & 255);
  return {
    'train-images-idx3-ubyte.gz': gzipSync(idx(2051, [nTrain, 28, 28], px(nTrain, 1))),
    'train-labels-idx1-ubyte.gz': gzipSync(idx(2049, [nTrain], Uint8Array.from({ length: nTrain }, (_, i) => (i * 3) % 10))),
    't10k-images-idx3-ubyte.gz': gzipSync(idx(2051, [nTest, 28, 28], px(nTest, 2))),
    't10k-labels-idx1-ubyte.gz': gzipSync(idx(2049, [nTest], Uint8Array.from({ length: nTest }, (_, i) => (i * 7) % 10))),
  };
}
function writeFiles(dir, files) {
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
}

function cifarBin(records, salt) {
  const b = Buffer.alloc(records * 3073);
  for (let r = 0; r < records; r++) {
    b[r * 3073] = (r + salt) % 10;
    for (let j = 0; j < 3072; j++) b[r * 3073 + 1 + j] = (j * 31 + r * 17 + salt) & 255;
  }
  return b;
}

// a POSIX tar writer: entries [{ name, data, type }]
function tar(entries) {
  const blocks = [];
  for (const e of entries) {
    const h = Buffer.alloc(512);
    const data = e.data || Buffer.alloc(0);
    h.write(e.name, 0, 100, 'latin1');
    h.write('0000644\0', 100);
    h.write('0001750\0', 108);
    h.write('0001750\0', 116);
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('14072554571\0', 136);
    h.write('        ', 148);
    h.write(e.type || '0', 156);
    h.write('ustar\0' + '00', 257, 'latin1');
    let sum = 0;
    for (const v of h) sum += v;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

// a zip writer: entries [name, data, deflate]; CRC-32 computed (the reader does not need it)
function crc32(b) {
  let c = ~0;
  for (const v of b) { c ^= v; for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1)); }
  return ~c >>> 0;
}
function zip(entries) {
  const locals = [], central = [];
  let off = 0;
  for (const [name, data, deflate] of entries) {
    const body = deflate ? deflateRawSync(data) : data, n = Buffer.from(name);
    const fields = (h, at) => {
      h.writeUInt16LE(20, at); h.writeUInt16LE(0, at + 2); h.writeUInt16LE(deflate ? 8 : 0, at + 4);
      h.writeUInt32LE(0, at + 6); h.writeUInt32LE(crc32(data), at + 10);
      h.writeUInt32LE(body.length, at + 14); h.writeUInt32LE(data.length, at + 18); h.writeUInt16LE(n.length, at + 22);
    };
    const l = Buffer.alloc(30);
    l.writeUInt32LE(0x04034b50, 0); fields(l, 4);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0); c.writeUInt16LE(20, 4); fields(c, 6); c.writeUInt32LE(off, 42);
    locals.push(l, n, body);
    central.push(c, n);
    off += 30 + n.length + body.length;
  }
  const cd = Buffer.concat(central), e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0); e.writeUInt16LE(entries.length, 8); e.writeUInt16LE(entries.length, 10);
  e.writeUInt32LE(cd.length, 12); e.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cd, e]);
}

// ---- 1. real data

describe('prepare on the real data', { skip: !hasShared || !hasFashion ? 'no ../shared/datasets or Fashion-MNIST' : false }, () => {
  let out, raw, first, firstSeconds;
  before(async () => {
    out = tempDir('prep');
    raw = tempDir('raw-empty');
    const t0 = performance.now();
    first = await prepare({ dirs: { shared: SHARED, fashion: FASHION, raw, out } });
    firstSeconds = (performance.now() - t0) / 1000;
  });

  test('every dataset is prepared, with timings', (t) => {
    for (const r of first.results) t.diagnostic(`${r.name}: ${r.status} in ${r.seconds.toFixed(2)} s`);
    t.diagnostic(`all three: ${firstSeconds.toFixed(1)} s`);
    assert.deepEqual(first.results.map((r) => [r.name, r.status]), [['mnist', 'prepared'], ['fashion-mnist', 'prepared'], ['cifar10', 'prepared']]);
  });

  test('manifest: shapes, counts, class counts, sources, sizes and sha256 of every shard', () => {
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    assert.equal(m.format, 'noisylab-datasets');
    const by = Object.fromEntries(m.datasets.map((d) => [d.name, d]));
    assert.deepEqual(Object.keys(by), ['mnist', 'fashion-mnist', 'cifar10']);
    const want = { mnist: [[1, 28, 28], 60000, 10000], 'fashion-mnist': [[1, 28, 28], 60000, 10000], cifar10: [[3, 32, 32], 50000, 1000] };
    for (const [name, [shape, train, test]] of Object.entries(want)) {
      const d = by[name];
      assert.equal(d.available, true);
      assert.deepEqual(d.shape, shape);
      assert.equal(d.classes, 10);
      assert.equal(d.class_names.length, 10);
      assert.equal(d.train, train);
      assert.equal(d.test, test);
      assert.equal(d.class_counts.train.reduce((a, b) => a + b), train);
      assert.equal(d.class_counts.test.reduce((a, b) => a + b), test);
      assert.ok(d.source.citation && d.source.license && d.source.description && d.source.files.length, `${name}: source`);
      for (const split of ['train', 'test']) {
        const s = d.shards[split];
        const bytes = readFileSync(join(out, s.file));
        assert.equal(s.file, `${name}/${split}.shard`);
        assert.equal(bytes.length, s.bytes);
        assert.equal(sha256(bytes), s.sha256, `${name}/${split}: sha256`);
      }
    }
    assert.deepEqual(by.mnist.class_counts.test, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert.deepEqual(by['fashion-mnist'].class_counts.train, Array(10).fill(6000));
    assert.deepEqual(by.cifar10.class_counts.train, Array(10).fill(5000));
    assert.equal(by.cifar10.class_names[0], 'airplane');
    assert.match(by.cifar10.source.note, /first 1,000 of the 10,000/);
    assert.deepEqual(by.cifar10.source.test_subset, { of: 10000, first: 0, count: 1000 });
    assert.match(by['fashion-mnist'].source.license, /MIT/);
    assert.match(by.mnist.source.citation, /LeCun/);
    assert.match(by.cifar10.source.citation, /Krizhevsky/);
  });

  test('the core accepts every shard', async () => {
    for (const name of ['mnist', 'fashion-mnist', 'cifar10'])
      for (const split of ['train', 'test']) {
        const r = await coreInfo(readFileSync(join(out, name, `${split}.shard`)), `${name}/${split}.shard`);
        assert.ok(!r.error, r.error);
        assert.equal(r.info[4], 10);
      }
  });

  test('MNIST: training mean 0.1307, test image 0 = t10k image 0', () => {
    const s = readShard(join(out, 'mnist', 'train.shard'));
    assert.deepEqual([s.n, s.c, s.h, s.w, s.classes], [60000, 1, 28, 28, 10]);
    let sum = 0;
    for (const v of s.pixels) sum += v;
    const mean = sum / s.pixels.length / 255;
    assert.ok(Math.abs(mean - 0.1306604762738429) < 1e-12, `mean ${mean}`);
    assert.deepEqual(Array.from(s.labels.subarray(0, 5)), [5, 0, 4, 1, 9]);
    const t = readShard(join(out, 'mnist', 'test.shard'));
    let s0 = 0;
    for (let i = 0; i < 784; i++) s0 += t.pixels[i];
    assert.equal(s0, 18454);
    assert.deepEqual(Array.from(t.labels.subarray(0, 5)), [7, 2, 1, 0, 4]);
  });

  test('CIFAR-10: per-channel training mean and std to 4 decimals, known test pixels', () => {
    const s = readShard(join(out, 'cifar10', 'train.shard'));
    assert.deepEqual([s.n, s.c, s.h, s.w], [50000, 3, 32, 32]);
    const sum = [0, 0, 0], sq = [0, 0, 0];
    for (let i = 0; i < s.n; i++)
      for (let c = 0; c < 3; c++) {
        const off = i * 3072 + c * 1024;
        let a = 0, q = 0;
        for (let j = 0; j < 1024; j++) {
          const v = s.pixels[off + j];
          a += v;
          q += v * v;
        }
        sum[c] += a;
        sq[c] += q;
      }
    const N = s.n * 1024;
    const mean = sum.map((a) => a / N / 255);
    const std = sq.map((q, c) => Math.sqrt(q / N - (sum[c] / N) ** 2) / 255);
    assert.deepEqual(mean.map((v) => v.toFixed(4)), ['0.4914', '0.4822', '0.4465']);
    assert.deepEqual(std.map((v) => v.toFixed(4)), ['0.2470', '0.2435', '0.2616']);
    // training image 0, red row 0 (README)
    assert.deepEqual(Array.from(s.pixels.subarray(0, 10)), [59, 43, 50, 68, 98, 119, 139, 145, 149, 149]);
    const t = readShard(join(out, 'cifar10', 'test.shard'));
    assert.equal(t.n, 1000);
    assert.deepEqual(Array.from(t.pixels.subarray(0, 3)), [158, 159, 165]);
    assert.deepEqual(Array.from(t.pixels.subarray(3069, 3072)), [124, 129, 110]);
    assert.equal(t.labels[0], 3); // test_batch starts 3, 8, 8, 0
    assert.deepEqual(Array.from(t.labels.subarray(0, 4)), [3, 8, 8, 0]);
  });

  test('a second run skips everything, fast, without touching the shards', () => {
    const mtimes = ['mnist', 'fashion-mnist', 'cifar10'].map((n) => statSync(join(out, n, 'train.shard')).mtimeMs);
    const t0 = performance.now();
    const r = runCli('prepare.mjs', ['--out', out], { NOISYLAB_DATA_DIR: SHARED, NOISYLAB_FASHION_DIR: FASHION, NOISYLAB_RAW_DIR: raw });
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(r.status, 0, r.stderr);
    assert.equal((r.stderr.match(/up to date/g) || []).length, 3, r.stderr);
    assert.ok(seconds < 5, `second run took ${seconds.toFixed(2)} s`);
    assert.deepEqual(['mnist', 'fashion-mnist', 'cifar10'].map((n) => statSync(join(out, n, 'train.shard')).mtimeMs), mtimes);
  });

  test('a changed source, or a damaged shard, is prepared again', async () => {
    // fashion from a folder of links, with one real copy whose mtime we can change
    const fdir = tempDir('fashion-links');
    for (const f of readdirSync(FASHION)) {
      if (f === 't10k-labels-idx1-ubyte.gz') copyFileSync(join(FASHION, f), join(fdir, f));
      else symlinkSync(join(FASHION, f), join(fdir, f));
    }
    const dirs = { shared: SHARED, fashion: fdir, raw, out };
    let r = await prepare({ names: ['fashion-mnist'], dirs });
    assert.equal(r.results[0].status, 'prepared'); // a different source folder
    r = await prepare({ names: ['fashion-mnist'], dirs });
    assert.equal(r.results[0].status, 'up-to-date');
    utimesSync(join(fdir, 't10k-labels-idx1-ubyte.gz'), new Date(), new Date(Date.now() - 5000));
    r = await prepare({ names: ['fashion-mnist'], dirs });
    assert.equal(r.results[0].status, 'prepared');
    writeFileSync(join(out, 'fashion-mnist', 'test.shard'), 'damaged');
    r = await prepare({ names: ['fashion-mnist', 'mnist'], dirs });
    assert.deepEqual(r.results.map((x) => x.status), ['prepared', 'up-to-date']);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    assert.deepEqual(m.datasets.map((d) => d.name), ['mnist', 'fashion-mnist', 'cifar10'], 'entries of other datasets are kept');
  });

  test('corrupt files in a copy of the shared folder: errors name the file, the rest is prepared', async () => {
    const shared = tempDir('shared-bad');
    for (const sub of ['mnist', 'mnist-convnetjs', 'cifar10-convnetjs']) {
      mkdirSync(join(shared, sub));
      for (const f of readdirSync(join(SHARED, sub))) symlinkSync(join(SHARED, sub, f), join(shared, sub, f));
    }
    // one flipped byte in an IDAT chunk of an MNIST sprite
    const png = Buffer.from(readFileSync(join(SHARED, 'mnist-convnetjs', 'mnist_batch_7.png')));
    png[200000] ^= 0x10;
    rmSync(join(shared, 'mnist-convnetjs', 'mnist_batch_7.png'));
    writeFileSync(join(shared, 'mnist-convnetjs', 'mnist_batch_7.png'), png);
    // truncated CIFAR-10 labels
    const lbl = readFileSync(join(SHARED, 'cifar10-convnetjs', 'cifar10_labels.json'));
    rmSync(join(shared, 'cifar10-convnetjs', 'cifar10_labels.json'));
    writeFileSync(join(shared, 'cifar10-convnetjs', 'cifar10_labels.json'), lbl.subarray(0, 5000));
    const out2 = tempDir('prep-bad');
    const r = runCli('prepare.mjs', ['--out', out2], { NOISYLAB_DATA_DIR: shared, NOISYLAB_FASHION_DIR: FASHION, NOISYLAB_RAW_DIR: raw });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /mnist: FAILED: mnist_batch_7\.png: CRC mismatch in chunk IDAT.* Hint: /);
    assert.match(r.stderr, /cifar10: FAILED: .*cifar10_labels\.json: cannot parse the labels .* Hint: /);
    assert.match(r.stderr, /fashion-mnist: 60000 train \+ 10000 test images/);
    const m = JSON.parse(readFileSync(join(out2, 'manifest.json'), 'utf8'));
    assert.deepEqual(m.datasets.map((d) => [d.name, d.available]), [['mnist', false], ['fashion-mnist', true], ['cifar10', false]]);
    assert.match(m.datasets[0].error, /mnist_batch_7\.png/);
    assert.ok(!existsSync(join(out2, 'mnist', 'train.shard')), 'no shard for a failed dataset');
  });
});

// ---- 2. missing and corrupt sources (no real data needed)

test('missing sources: skipped, listed as unavailable with the download command, exit code 0', () => {
  const empty = tempDir('empty');
  const out = tempDir('out-missing');
  const r = runCli('prepare.mjs', ['--out', out], { NOISYLAB_DATA_DIR: join(empty, 'shared'), NOISYLAB_FASHION_DIR: join(empty, 'fashion'), NOISYLAB_RAW_DIR: join(empty, 'raw') });
  assert.equal(r.status, 0, r.stderr);
  for (const name of Object.keys(DATASETS)) assert.match(r.stderr, new RegExp(`${name}: skipped, no complete source found.*node datasets/download\\.mjs ${name}`));
  const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  for (const d of m.datasets) {
    assert.equal(d.available, false);
    assert.equal(d.download, `node datasets/download.mjs ${d.name}`);
    assert.match(d.hint, /download/);
    assert.ok(d.shape && d.classes && d.class_names);
  }
});

test('unknown dataset or option: usage error, exit code 2', () => {
  const r = runCli('prepare.mjs', ['--out', tempDir('out-usage'), 'mnits'], {});
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown dataset 'mnits'.*Hint: choose from mnist, fashion-mnist, cifar10/);
  assert.equal(runCli('prepare.mjs', ['--bogus'], {}).status, 2);
});

test('corrupt raw files: clear errors naming the file; the other datasets are still prepared', async () => {
  const raw = tempDir('raw-bad');
  const empty = tempDir('empty2');
  writeFiles(join(raw, 'mnist'), tinyMnist());
  const fashion = tinyMnist(4, 2);
  fashion['train-labels-idx1-ubyte.gz'] = fashion['train-labels-idx1-ubyte.gz'].subarray(0, 20); // truncated
  writeFiles(join(raw, 'fashion-mnist'), fashion);
  writeFiles(join(raw, 'cifar10'), { 'data_batch_1.bin': cifarBin(2, 1), 'data_batch_2.bin': cifarBin(2, 2), 'data_batch_3.bin': cifarBin(2, 3).subarray(0, 5000), 'data_batch_4.bin': cifarBin(2, 4), 'data_batch_5.bin': cifarBin(2, 5), 'test_batch.bin': cifarBin(2, 6) });
  const out = tempDir('out-bad');
  const dirs = { shared: join(empty, 's'), fashion: join(empty, 'f'), raw, out };
  const { results } = await prepare({ dirs });
  const by = Object.fromEntries(results.map((r) => [r.name, r]));
  assert.equal(by.mnist.status, 'prepared');
  assert.equal(by['fashion-mnist'].status, 'failed');
  assert.match(by['fashion-mnist'].message, /fashion-mnist\/train-labels-idx1-ubyte\.gz: truncated: 20 bytes hold no complete IDX header\. Hint: /);
  assert.equal(by.cifar10.status, 'failed');
  assert.match(by.cifar10.message, /data_batch_3\.bin: 5000 bytes is not a whole number of 3073-byte records\. Hint: /);
  const s = readShard(join(out, 'mnist', 'train.shard'));
  assert.deepEqual([s.n, s.c, s.h, s.w], [5, 1, 28, 28]);
  assert.deepEqual(Array.from(s.labels), [0, 3, 6, 9, 2]);

  // other kinds of damage, one at a time, on fashion-mnist
  const cut = Buffer.from(tinyMnist(4, 2)['train-images-idx3-ubyte.gz']);
  const cases = [
    ['train-images-idx3-ubyte.gz', cut.subarray(0, cut.length - 30), /^train-images-idx3-ubyte\.gz: corrupt gzip data: data ends .* Hint: .*\.$/],
    ['train-images-idx3-ubyte.gz', Buffer.from('this is not gzip'), /train-images-idx3-ubyte\.gz: not an IDX file.*Hint: /],
    ['train-images-idx3-ubyte.gz', (() => { const b = Buffer.from(tinyMnist(4, 2)['train-images-idx3-ubyte.gz']); b[b.length - 6] ^= 1; return b; })(), /train-images-idx3-ubyte\.gz: corrupt gzip data: CRC-32 mismatch.*Hint: /],
    ['t10k-labels-idx1-ubyte.gz', tinyMnist(4, 2)['t10k-images-idx3-ubyte.gz'], /t10k-labels-idx1-ubyte\.gz: is an image file.*Hint: /],
    ['train-labels-idx1-ubyte.gz', gzipSync(idx(2049, [4], [1, 2, 3, 10])), /train-labels-idx1-ubyte\.gz: label 10 of item 3 is not a class.*Hint: /],
    ['train-labels-idx1-ubyte.gz', gzipSync(idx(2049, [3], [1, 2, 3])), /train-labels-idx1-ubyte\.gz: holds 3 labels, but train-images-idx3-ubyte\.gz holds 4 images\. Hint: /],
  ];
  for (const [file, data, re] of cases) {
    writeFiles(join(raw, 'fashion-mnist'), { ...tinyMnist(4, 2), [file]: data });
    const r = await prepare({ names: ['fashion-mnist'], dirs });
    assert.equal(r.results[0].status, 'failed', `${file}: should fail`);
    assert.match(r.results[0].message, re);
  }
  writeFiles(join(raw, 'fashion-mnist'), tinyMnist(4, 2));
  let r = await prepare({ names: ['fashion-mnist'], dirs });
  assert.equal(r.results[0].status, 'prepared', r.results[0].message);
  assert.ok(existsSync(join(out, 'fashion-mnist', 'train.shard')));
  // a source that goes bad later: the old shards go too, so the folder matches the manifest
  writeFiles(join(raw, 'fashion-mnist'), { 'train-images-idx3-ubyte.gz': Buffer.from('junk') });
  r = await prepare({ names: ['fashion-mnist'], dirs });
  assert.equal(r.results[0].status, 'failed');
  assert.ok(!existsSync(join(out, 'fashion-mnist', 'train.shard')) && !existsSync(join(out, 'fashion-mnist', 'test.shard')));
  const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  assert.equal(m.datasets.find((d) => d.name === 'fashion-mnist').available, false);
});

// ---- 3. download.mjs against a local server

describe('download.mjs (local HTTP server on 127.0.0.1)', () => {
  let server, base;
  const routes = new Map(), hits = new Map(), cutAt = new Map();
  before(async () => {
    server = createServer((req, res) => {
      hits.set(req.url, (hits.get(req.url) || 0) + 1);
      const body = routes.get(req.url);
      if (!body) {
        res.writeHead(404).end('not found');
        return;
      }
      if (cutAt.has(req.url)) { // announces the whole body, sends part of it, hangs up
        res.writeHead(200, { 'content-length': body.length });
        res.write(body.subarray(0, cutAt.get(req.url)), () => res.destroy());
        return;
      }
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${server.address().port}`;
  });
  after(() => server.close());

  const mnistFiles = tinyMnist(6, 4);
  const mnistSpec = () => ({
    ...SOURCES.mnist,
    files: SOURCES.mnist.files.map((f) => ({ ...f, md5: md5(mnistFiles[f.name]), size: mnistFiles[f.name].length, idx: [f.idx[0] === 60000 ? 6 : 4, ...f.idx.slice(1)] })),
  });

  test('fetches, verifies MD5 and format, falls back to the next URL, skips valid files on a second run', async () => {
    for (const [f, d] of Object.entries(mnistFiles)) routes.set(`/good/${f}`, d);
    routes.set('/bad/train-labels-idx1-ubyte.gz', Buffer.from('corrupt')); // served, but wrong
    const raw = tempDir('dl');
    const logs = [];
    const dir = await download('mnist', { rawDir: raw, spec: mnistSpec(), urls: [`${base}/bad/`, `${base}/good/`], log: (m) => logs.push(m) });
    assert.equal(dir, join(raw, 'mnist'));
    for (const [f, d] of Object.entries(mnistFiles)) assert.ok(readFileSync(join(dir, f)).equals(d), f);
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(mnistFiles).sort(), 'no .part files left');
    assert.equal(hits.get('/bad/train-labels-idx1-ubyte.gz'), 1);
    const before2 = hits.get('/good/train-images-idx3-ubyte.gz');
    await download('mnist', { rawDir: raw, spec: mnistSpec(), urls: [`${base}/good/`], log: (m) => logs.push(m) });
    assert.equal(hits.get('/good/train-images-idx3-ubyte.gz'), before2, 'a valid file is not fetched again');
    assert.ok(logs.some((l) => /already downloaded and valid/.test(l)));

    // and prepare.mjs uses the downloaded files
    const out = tempDir('dl-out');
    const empty = tempDir('dl-empty');
    const r = await prepare({ names: ['mnist'], dirs: { shared: empty, fashion: empty, raw, out } });
    assert.equal(r.results[0].status, 'prepared', r.results[0].message);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    assert.equal(m.datasets[0].source.kind, 'raw');
    assert.deepEqual([m.datasets[0].train, m.datasets[0].test], [6, 4]);
  });

  test('a checksum mismatch or a missing file is an error naming the file and the URL, with a hint', async () => {
    const spec = mnistSpec();
    spec.files[1] = { ...spec.files[1], md5: '0'.repeat(32) };
    const raw = tempDir('dl-bad');
    await assert.rejects(download('mnist', { rawDir: raw, spec, urls: [`${base}/good/`] }), (e) => {
      assert.ok(e instanceof DownloadError);
      assert.match(e.message, /^mnist: train-labels-idx1-ubyte\.gz: no valid copy from any source:/);
      assert.match(e.message, new RegExp(`${base}/good/train-labels-idx1-ubyte\\.gz: train-labels-idx1-ubyte\\.gz: MD5 [0-9a-f]{32} differs from the published 0{32}`));
      assert.match(e.message, /Hint: check the network connection/);
      return true;
    });
    assert.ok(!existsSync(join(raw, 'mnist', 'train-labels-idx1-ubyte.gz')), 'a file that fails verification is removed');
    await assert.rejects(download('mnist', { rawDir: tempDir('dl-404'), spec: mnistSpec(), urls: [`${base}/nothing/`] }), /nothing\/train-images-idx3-ubyte\.gz: HTTP 404/);
    const closed = createServer();
    await new Promise((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = closed.address().port;
    await new Promise((ok) => closed.close(ok));
    await assert.rejects(download('mnist', { rawDir: tempDir('dl-refused'), spec: mnistSpec(), urls: [`http://127.0.0.1:${port}/`] }), new RegExp(`127\\.0\\.0\\.1:${port}/train-images-idx3-ubyte\\.gz: ECONNREFUSED`));
    // right MD5 but not an IDX file of the expected shape
    const odd = gzipSync(idx(2051, [6, 28, 27], new Uint8Array(6 * 28 * 27)));
    routes.set('/odd/train-images-idx3-ubyte.gz', odd);
    const s2 = mnistSpec();
    s2.files[0] = { ...s2.files[0], md5: md5(odd), size: odd.length };
    await assert.rejects(download('mnist', { rawDir: tempDir('dl-odd'), spec: s2, urls: [`${base}/odd/`] }), /IDX dimensions 6x28x27, expected 6x28x28/);
  });

  test('CIFAR-10: a tiny cifar-10-binary.tar.gz is fetched, checked, unpacked and prepared', async () => {
    const bins = { 'data_batch_1.bin': cifarBin(3, 1), 'data_batch_2.bin': cifarBin(3, 2), 'data_batch_3.bin': cifarBin(3, 3), 'data_batch_4.bin': cifarBin(3, 4), 'data_batch_5.bin': cifarBin(3, 5), 'test_batch.bin': cifarBin(2, 6) };
    const longName = 'cifar-10-batches-bin/' + 'x'.repeat(120) + '.txt';
    const archive = gzipSync(tar([
      { name: 'cifar-10-batches-bin/', type: '5' },
      { name: 'cifar-10-batches-bin/batches.meta.txt', data: Buffer.from('airplane\nautomobile\n') },
      { name: '././@LongLink', type: 'L', data: Buffer.from(longName + '\0') },
      { name: 'cifar-10-batches-bin/xxx', data: Buffer.from('long name entry') },
      ...Object.entries(bins).map(([n, data]) => ({ name: `cifar-10-batches-bin/${n}`, data })),
      { name: 'cifar-10-batches-bin/readme.html', data: Buffer.from('<p>hi</p>') },
    ]));
    routes.set('/kriz/cifar-10-binary.tar.gz', archive);
    const spec = {
      ...SOURCES.cifar10,
      archive: { name: 'cifar-10-binary.tar.gz', md5: md5(archive), size: archive.length },
      members: SOURCES.cifar10.members.map((m) => ({ ...m, records: m.optional ? undefined : m.name === 'test_batch.bin' ? 2 : 3 })),
    };
    const raw = tempDir('dl-cifar');
    await download('cifar10', { rawDir: raw, spec, urls: [`${base}/kriz/`] });
    const dir = join(raw, 'cifar10');
    assert.deepEqual(readdirSync(dir).sort(), [...Object.keys(bins), 'batches.meta.txt'].sort(), 'batches unpacked, archive removed');
    for (const [n, d] of Object.entries(bins)) assert.ok(readFileSync(join(dir, n)).equals(d), n);

    const out = tempDir('dl-cifar-out');
    const empty = tempDir('dl-cifar-empty');
    const r = await prepare({ names: ['cifar10'], dirs: { shared: empty, fashion: empty, raw, out } });
    assert.equal(r.results[0].status, 'prepared', r.results[0].message);
    const s = readShard(join(out, 'cifar10', 'train.shard'));
    assert.deepEqual([s.n, s.c, s.h, s.w], [15, 3, 32, 32]);
    assert.ok(s.pixels.subarray(3 * 3072, 4 * 3072).equals(bins['data_batch_2.bin'].subarray(1, 3073)), 'CHW records copied as is');
    assert.deepEqual(Array.from(s.labels.subarray(0, 4)), [1, 2, 3, 2]);
    const t = readShard(join(out, 'cifar10', 'test.shard'));
    assert.equal(t.n, 2);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    assert.equal(m.datasets[0].source.kind, 'raw');
    assert.equal(m.datasets[0].source.test_subset, undefined, 'the official archive has the whole test set');

    // damaged archives
    routes.set('/cut/cifar-10-binary.tar.gz', archive.subarray(0, archive.length - 100));
    const cut = { ...spec, archive: { ...spec.archive, md5: md5(archive.subarray(0, archive.length - 100)), size: archive.length - 100 } };
    await assert.rejects(download('cifar10', { rawDir: tempDir('dl-cut'), spec: cut, urls: [`${base}/cut/`] }), /cifar-10-binary\.tar\.gz: not a valid gzip file.*Hint: /s);
    const noTest = gzipSync(tar(Object.entries(bins).slice(0, 5).map(([n, data]) => ({ name: `cifar-10-batches-bin/${n}`, data }))));
    routes.set('/notest/cifar-10-binary.tar.gz', noTest);
    const s3 = { ...spec, archive: { ...spec.archive, md5: md5(noTest), size: noTest.length } };
    await assert.rejects(download('cifar10', { rawDir: tempDir('dl-notest'), spec: s3, urls: [`${base}/notest/`] }), /no member cifar-10-batches-bin\/test_batch\.bin/);
  });

  test('tar parser: checksums and truncation', () => {
    const t = tar([{ name: 'a.txt', data: Buffer.from('hello') }]);
    assert.deepEqual(parseTar(t).map((e) => [e.name, e.data.toString()]), [['a.txt', 'hello']]);
    const bad = Buffer.from(t);
    bad[10] ^= 1;
    assert.throws(() => parseTar(bad, 'x.tar'), /x\.tar: tar header checksum mismatch at byte 0/);
    assert.throws(() => parseTar(t.subarray(0, 600), 'y.tar'), /y\.tar: truncated/);
    assert.throws(() => parseTar(t.subarray(0, 1024), 'z.tar'), /z\.tar: truncated \(no end-of-archive marker\)/);
  });

  // ---- graphs: a tiny dmg777k in kgbench's layout, with the real file names
  const kg = {
    'nodes.int.csv': Buffer.from('"index","annotation","label"\n' + ['a', 'b', 'c', 'd', 'e', 'f'].map((x, i) => `"${i}","iri","http://x/${x}"`).join('\n') + '\n"6","none","a literal"\n'),
    'relations.int.csv': Buffer.from('"index","label"\n"0","http://x/p"\n"1","http://x/q"\n'),
    'nodetypes.int.csv': Buffer.from('index,annotation\n0,iri\n1,none\n'),
    'triples.int.csv.gz': gzipSync(Buffer.from('0, 0, 1\n1, 0, 2\n2, 1, 3\n3, 1, 4\n4, 0, 5\n5, 1, 6\n0, 1, 6\n')),
    // dmg777k's split files: a 13-byte header (instance,cls) + rows (the inventory's sizes)
    'training.int.csv': Buffer.from('instance,cls\n0,0\n1,1\n'),
    'validation.int.csv': Buffer.from('instance,cls\n2,0\n'),
    'testing.int.csv': Buffer.from('instance,cls\n3,1\n4,0\n'),
    'all.int.csv': Buffer.from('instance,cls\n0,0\n1,1\n2,0\n3,1\n4,0\n'),
  };
  const kgSpec = (over = {}) => ({
    ...SOURCES.dmg777k,
    files: SOURCES.dmg777k.files.map((f) => ({ ...f, size: kg[f.name].length, sha256: sha256(kg[f.name]), ...over[f.name] })),
  });
  const cli = (args, env) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'noisylab.js'), ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });

  test('graphs: the sources name every file with its sha256, size and pinned URLs; all leaves out dmg777k', () => {
    for (const n of ['cora', 'citeseer', 'aifb', 'mutag', 'dmg777k']) {
      assert.ok(SOURCES[n].graph, n);
      for (const f of [...SOURCES[n].files, ...(SOURCES[n].zip ? [SOURCES[n].zip] : [])]) {
        assert.match(f.sha256, /^[0-9a-f]{64}$/, `${n}/${f.name}`);
        assert.ok(f.size > 0 && f.urls.length > 0, `${n}/${f.name}`);
        for (const u of f.urls) assert.match(u, /^https:\/\//);
      }
    }
    assert.deepEqual(Object.keys(SOURCES).filter((n) => SOURCES[n].large), ['dmg777k']);
    assert.equal(SOURCES.dmg777k.files.find((f) => f.name === 'nodes.int.csv').urls[0], 'https://media.githubusercontent.com/media/pbloem/kgbench-data/main/datasets/dmg777k/nodes.int.csv');
    assert.equal(SOURCES.dmg777k.files.reduce((a, f) => a + f.size, 0), 644614754);
  });

  test('graphs: dmg777k lands in the download folder, where eda and train find it; a second run fetches nothing', async () => {
    for (const [f, d] of Object.entries(kg)) routes.set(`/kgb/${f}`, d);
    const raw = tempDir('dl-kg'), empty = tempDir('dl-kg-empty');
    const env = { NOISYLAB_DATA_DIR: empty, NOISYLAB_RAW_DIR: raw };
    let r = cli(['eda', 'dmg777k'], env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /dataset 'dmg777k' is not available: .*Hint: run `npx noisylab download dmg777k` \(about 645 MB\), which puts the files into /);
    const logs = [];
    const dir = await download('dmg777k', { rawDir: raw, spec: kgSpec(), urls: [`${base}/kgb/`], log: (m) => logs.push(m) });
    assert.equal(dir, join(raw, 'dmg777k'));
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(kg).sort(), 'every file, no .part left');
    r = cli(['eda', 'dmg777k', '--json'], env);
    assert.equal(r.status, 0, r.stderr);
    const e = JSON.parse(r.stdout);
    assert.deepEqual([e.nodes, e.edges], [7, 7]);
    r = cli(['train', 'dataset=dmg777k&model=rgcn&epochs=1&hidden=4'], env);
    assert.equal(r.status, 0, r.stderr);
    const bundle = join(raw, 'dmg.nlkg');
    r = cli(['graph-subset', 'dmg777k', '--hops', '1', '--max-nodes', '7', '--out', bundle], env);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(bundle));
    const n = hits.get('/kgb/nodes.int.csv');
    await download('dmg777k', { rawDir: raw, spec: kgSpec(), urls: [`${base}/kgb/`], log: (m) => logs.push(m) });
    assert.equal(hits.get('/kgb/nodes.int.csv'), n, 'a valid file is not fetched again');
    assert.equal(logs.filter((l) => /already downloaded and valid/.test(l)).length, Object.keys(kg).length);
  });

  test('graphs: a wrong sha256 deletes the file; a cut connection or a short file is reported', async () => {
    const bad = kgSpec({ 'relations.int.csv': { sha256: '0'.repeat(64) } });
    const raw = tempDir('dl-kg-bad');
    await assert.rejects(download('dmg777k', { rawDir: raw, spec: bad, urls: [`${base}/kgb/`] }), (e) => {
      assert.ok(e instanceof DownloadError);
      assert.match(e.message, /^dmg777k: relations\.int\.csv: no valid copy from any source:/);
      assert.match(e.message, /kgb\/relations\.int\.csv: relations\.int\.csv: SHA-256 [0-9a-f]{64} differs from the expected 0{64}/);
      assert.match(e.message, /Hint: /);
      return true;
    });
    assert.ok(!existsSync(join(raw, 'dmg777k', 'relations.int.csv')), 'the file that failed is removed');
    // the connection ends early: nothing is kept
    routes.set('/cut/training.int.csv', kg['training.int.csv']);
    cutAt.set('/cut/training.int.csv', 5);
    const cutRaw = tempDir('dl-kg-cut');
    await assert.rejects(download('dmg777k', { rawDir: cutRaw, spec: kgSpec(), urls: [`${base}/cut/`] }), /cut\/training\.int\.csv: the connection ended after \d+ of 21 bytes.*Hint: /s);
    assert.deepEqual(readdirSync(join(cutRaw, 'dmg777k')), [], 'no partial file left');
    // a short file, served whole: the size check
    routes.set('/short/training.int.csv', kg['training.int.csv'].subarray(0, 9));
    await assert.rejects(download('dmg777k', { rawDir: tempDir('dl-kg-short'), spec: kgSpec(), urls: [`${base}/short/`] }), /training\.int\.csv: 9 bytes, expected 21/);
    // a damaged copy on disk is fetched again
    const again = tempDir('dl-kg-again');
    mkdirSync(join(again, 'dmg777k'));
    writeFileSync(join(again, 'dmg777k', 'testing.int.csv'), 'instance,cls\n3,0\n4,0\n');
    const logs = [];
    await download('dmg777k', { rawDir: again, spec: kgSpec(), urls: [`${base}/kgb/`], log: (m) => logs.push(m) });
    assert.ok(readFileSync(join(again, 'dmg777k', 'testing.int.csv')).equals(kg['testing.int.csv']));
    assert.ok(logs.some((l) => /testing\.int\.csv: the copy on disk is not valid \(testing\.int\.csv: SHA-256/.test(l)));
  });

  test('graphs: mutag_stripped.nt.gz is made from a checked member of mutag-hetero.zip', async () => {
    const nt = Buffer.from('<http://x/a> <http://x/p> <http://x/b> .\n');
    const tsv = { 'trainingSet.tsv': Buffer.from('bond\tid\tlabel_mutagenic\r\nhttp://x/a\t0.0\t1.0\r\n'), 'testSet.tsv': Buffer.from('bond\tid\tlabel_mutagenic\r\nhttp://x/b\t1.0\t0.0\r\n'), 'completeDataset.tsv': Buffer.from('id\tbond\tlabel_mutagenic\r\n') };
    const zipped = zip([['README.txt', Buffer.from('readme'), false], ['mutag_stripped.nt', nt, true], ...Object.entries(tsv).map(([n, d]) => [n, d, true])]);
    assert.ok(zipMember(zipped, 'mutag_stripped.nt').equals(nt));
    assert.ok(zipMember(zipped, 'README.txt').equals(Buffer.from('readme')));
    assert.equal(zipMember(zipped, 'nope'), null);
    assert.throws(() => zipMember(Buffer.from('not a zip at all, not at all'), 'x', 'm.zip'), /m\.zip: not a zip file/);
    routes.set('/mutag/mutag-hetero.zip', zipped);
    for (const [n, d] of Object.entries(tsv)) routes.set(`/mutag/${n}`, d);
    const spec = {
      ...SOURCES.mutag,
      files: SOURCES.mutag.files.map((f) => ({ ...f, size: tsv[f.name].length, sha256: sha256(tsv[f.name]) })),
      zip: { ...SOURCES.mutag.zip, size: zipped.length, sha256: sha256(zipped) },
      derived: [{ ...SOURCES.mutag.derived[0], size: nt.length, sha256: sha256(nt) }],
    };
    const raw = tempDir('dl-mutag');
    const logs = [];
    const dir = await download('mutag', { rawDir: raw, spec, urls: [`${base}/mutag/`], log: (m) => logs.push(m) });
    assert.deepEqual(readdirSync(dir).sort(), ['completeDataset.tsv', 'mutag_stripped.nt.gz', 'testSet.tsv', 'trainingSet.tsv'], 'the archive is removed');
    assert.ok(gunzipSync(readFileSync(join(dir, 'mutag_stripped.nt.gz'))).equals(nt));
    const n = hits.get('/mutag/mutag-hetero.zip');
    await download('mutag', { rawDir: raw, spec, urls: [`${base}/mutag/`], log: (m) => logs.push(m) });
    assert.equal(hits.get('/mutag/mutag-hetero.zip'), n, 'not fetched again');
    assert.ok(logs.some((l) => /mutag_stripped\.nt\.gz: already made and valid/.test(l)));
    // a member that differs from the inventory
    const wrong = { ...spec, derived: [{ ...spec.derived[0], sha256: 'f'.repeat(64) }] };
    await assert.rejects(download('mutag', { rawDir: tempDir('dl-mutag-bad'), spec: wrong, urls: [`${base}/mutag/`] }), /mutag-hetero\.zip: member mutag_stripped\.nt has \d+ bytes and SHA-256 [0-9a-f]{64}, expected \d+ bytes and f{64}/);
  });

  test('graphs: the real files of ../shared/datasets, served locally, match the inventory; the lookup finds them', { skip: !['cora', 'citeseer', 'aifb', 'mutag'].every((n) => existsSync(join(SHARED, n))) && 'no ../shared/datasets graphs' }, async () => {
    const raw = tempDir('dl-real'), empty = tempDir('dl-real-empty');
    for (const n of ['cora', 'citeseer', 'aifb', 'mutag']) {
      for (const f of readdirSync(join(SHARED, n))) routes.set(`/real/${n}/${f}`, readFileSync(join(SHARED, n, f)));
      await download(n, { rawDir: raw, urls: [`${base}/real/${n}/`] }); // SOURCES as they are
    }
    assert.ok(gunzipSync(readFileSync(join(raw, 'mutag', 'mutag_stripped.nt.gz'))).equals(gunzipSync(readFileSync(join(SHARED, 'mutag', 'mutag_stripped.nt.gz')))));
    // the command line, with --base and --raw: graphs are not prepared (read raw)
    const raw2 = tempDir('dl-real-cli');
    await downloadMain(['cora', '--raw', raw2, '--base', `${base}/real/cora/`]);
    assert.deepEqual(readdirSync(join(raw2, 'cora')).sort(), readdirSync(join(SHARED, 'cora')).filter((f) => f.startsWith('ind.')).sort());
    const r = cli(['eda', 'aifb', '--json'], { NOISYLAB_DATA_DIR: empty, NOISYLAB_RAW_DIR: raw });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual([JSON.parse(r.stdout).nodes, JSON.parse(r.stdout).edges], [8285, 29043]);
  });

  test('command line: usage errors', async () => {
    await assert.rejects(downloadMain([]), /name the datasets to download/);
    await assert.rejects(downloadMain(['mnits']), /unknown dataset 'mnits'.*Hint: /);
    await assert.rejects(downloadMain(['--nope']), /unknown option --nope/);
  });
});

test('default directories follow the environment', () => {
  const d = defaultDirs({ NOISYLAB_DATA_DIR: '/a', NOISYLAB_FASHION_DIR: '/b', NOISYLAB_RAW_DIR: '/c', NOISYLAB_DATASETS: '/d' });
  assert.deepEqual(d, { shared: '/a', fashion: '/b', raw: '/c', out: '/d' });
  const e = defaultDirs({});
  assert.equal(e.shared, resolve(repoRoot, '..', 'shared', 'datasets'));
  assert.equal(e.out, join(repoRoot, 'build', 'datasets'));
});
