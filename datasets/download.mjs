#!/usr/bin/env node
// download.mjs: fetches datasets from their official sources, for users without
// ../shared/datasets, then prepares them (datasets/prepare.mjs).
//
//   node datasets/download.mjs [--raw DIR] [--base URL] [--no-prepare] [--keep-archive] NAME... | all
//   npx noisylab download NAME
//
// NAME is mnist, fashion-mnist or cifar10. Files go to build/raw/<name>/ (or --raw
// DIR, $NOISYLAB_RAW_DIR), which prepare.mjs uses before any other source:
//   mnist          the four official IDX .gz files (yann.lecun.com, or the PyTorch mirror)
//   fashion-mnist  the four official IDX .gz files (Zalando's S3 bucket)
//   cifar10        cifar-10-binary.tar.gz (www.cs.toronto.edu/~kriz), unpacked into
//                  data_batch_1..5.bin and test_batch.bin (records of 1 label + 3072 pixels)
// Every file is checked against the MD5 the dataset's authors publish (and the size
// where known), then its format is checked; a file already present and valid is not
// fetched again. --base URL replaces the download location (a mirror, or a local
// server in tests). No other network access.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { defaultDirs, prepare } from './prepare.mjs';

export class DownloadError extends Error {}

const CIFAR_RECORD = 3073;

// Checksums: MNIST's MD5s are the ones every MNIST loader checks (the three files in
// ../shared/datasets/mnist match them); Fashion-MNIST's are from its official README
// (shipped in the Debian package); CIFAR-10's from www.cs.toronto.edu/~kriz/cifar.html.
export const SOURCES = {
  mnist: {
    urls: ['https://yann.lecun.com/exdb/mnist/', 'https://ossci-datasets.s3.amazonaws.com/mnist/'],
    files: [
      { name: 'train-images-idx3-ubyte.gz', md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873', size: 9912422, idx: [60000, 28, 28] },
      { name: 'train-labels-idx1-ubyte.gz', md5: 'd53e105ee54ea40749a09fcbcd1e9432', size: 28881, idx: [60000] },
      { name: 't10k-images-idx3-ubyte.gz', md5: '9fb629c4189551a2d022fa330f9573f3', size: 1648877, idx: [10000, 28, 28] },
      { name: 't10k-labels-idx1-ubyte.gz', md5: 'ec29112dd5afa0611ce80d1b7f02629c', size: 4542, idx: [10000] },
    ],
  },
  'fashion-mnist': {
    urls: ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
    files: [
      { name: 'train-images-idx3-ubyte.gz', md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d', idx: [60000, 28, 28] },
      { name: 'train-labels-idx1-ubyte.gz', md5: '25c81989df183df01b3e8a0aad5dffbe', idx: [60000] },
      { name: 't10k-images-idx3-ubyte.gz', md5: 'bef4ecab320f06d8554ea6380940ec79', idx: [10000, 28, 28] },
      { name: 't10k-labels-idx1-ubyte.gz', md5: 'bb300cfdad3c16e7a12a480ee83cd310', idx: [10000] },
    ],
  },
  cifar10: {
    urls: ['https://www.cs.toronto.edu/~kriz/'],
    archive: { name: 'cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530', size: 170052171 },
    // members of the archive (under cifar-10-batches-bin/) and their record counts
    members: [
      { name: 'data_batch_1.bin', records: 10000 }, { name: 'data_batch_2.bin', records: 10000 },
      { name: 'data_batch_3.bin', records: 10000 }, { name: 'data_batch_4.bin', records: 10000 },
      { name: 'data_batch_5.bin', records: 10000 }, { name: 'test_batch.bin', records: 10000 },
      { name: 'batches.meta.txt', optional: true },
    ],
  },
};

const hint = (name, dir) => `Hint: check the network connection (or set a mirror with --base URL), or put the official files into ${dir} by hand: they are checked the same way. Then run \`node datasets/download.mjs ${name}\` again.`;

// ---- checks

function md5(buf) { return createHash('md5').update(buf).digest('hex'); }

// The IDX header must match the expected dimensions and the data must fill the file.
export function checkIdx(name, gz, dims) {
  let raw;
  try {
    raw = gunzipSync(gz);
  } catch (e) {
    return `${name}: not a valid gzip file (${e.message})`;
  }
  const magic = dims.length === 3 ? 2051 : 2049;
  if (raw.length < 4 + 4 * dims.length || raw.readUInt32BE(0) !== magic) return `${name}: not an IDX ${dims.length === 3 ? 'image' : 'label'} file (magic ${raw.length >= 4 ? raw.readUInt32BE(0) : '?'})`;
  const got = dims.map((_, i) => raw.readUInt32BE(4 + 4 * i));
  if (dims.some((d, i) => d !== null && d !== got[i])) return `${name}: IDX dimensions ${got.join('x')}, expected ${dims.map((d) => d ?? '*').join('x')}`;
  const want = 4 + 4 * dims.length + got.reduce((a, b) => a * b, 1);
  if (raw.length !== want) return `${name}: ${raw.length} bytes after gunzip, the IDX header says ${want}`;
  return null;
}

function checkFile(spec, buf) {
  if (spec.size !== undefined && buf.length !== spec.size) return `${spec.name}: ${buf.length} bytes, expected ${spec.size}`;
  if (spec.md5 && md5(buf) !== spec.md5) return `${spec.name}: MD5 ${md5(buf)} differs from the published ${spec.md5}`;
  if (spec.idx) return checkIdx(spec.name, buf, spec.idx);
  return null;
}

// ---- fetching

function mb(n) { return (n / 1e6).toFixed(1); }

// Streams url into file (via a .part file), aborting after `idleMs` without data.
async function fetchTo(url, file, { fetchImpl = fetch, log = () => {}, idleMs = 60000 } = {}) {
  const ctl = new AbortController();
  let timer = setTimeout(() => ctl.abort(), idleMs);
  const part = `${file}.part`;
  let fh;
  try {
    const res = await fetchImpl(url, { signal: ctl.signal, redirect: 'follow' });
    if (!res.ok) throw new Error(`HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`);
    const total = Number(res.headers.get('content-length')) || 0;
    fh = await open(part, 'w');
    let got = 0, shown = 0;
    for await (const chunk of res.body) {
      clearTimeout(timer);
      timer = setTimeout(() => ctl.abort(), idleMs);
      await fh.write(chunk);
      got += chunk.length;
      if (total > 4e6 && (got - shown > total / 10 || got === total)) {
        shown = got;
        log(`  ${mb(got)} / ${mb(total)} MB`);
      }
    }
    await fh.close();
    fh = null;
    renameSync(part, file);
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    rmSync(part, { force: true });
    throw new Error(e.name === 'AbortError' ? `no data for ${idleMs / 1000} s` : (e.cause?.code || e.cause?.message || e.message));
  } finally {
    clearTimeout(timer);
  }
}

// Fetches spec.name from the first base URL that serves a valid copy.
async function fetchVerified(spec, urls, dir, opts) {
  const dest = join(dir, spec.name);
  if (existsSync(dest)) {
    const why = checkFile(spec, readFileSync(dest));
    if (!why) {
      opts.log(`  ${spec.name}: already downloaded and valid`);
      return dest;
    }
    opts.log(`  ${spec.name}: the copy on disk is not valid (${why}); fetching it again`);
  }
  const tried = [];
  for (const base of urls) {
    const url = new URL(spec.name, base).href;
    opts.log(`  fetching ${url}`);
    try {
      await fetchTo(url, dest, opts);
    } catch (e) {
      tried.push(`${url}: ${e.message}`);
      continue;
    }
    const why = checkFile(spec, readFileSync(dest));
    if (!why) return dest;
    rmSync(dest, { force: true });
    tried.push(`${url}: ${why}`);
  }
  throw new DownloadError(`${spec.name}: no valid copy from any source:\n    ${tried.join('\n    ')}`);
}

// ---- tar (POSIX ustar / GNU), enough for the CIFAR-10 archive

function tarString(b, off, len) {
  const end = b.indexOf(0, off);
  return b.toString('latin1', off, end >= 0 && end < off + len ? end : off + len);
}

function tarNumber(b, off, len, what) {
  if (b[off] & 0x80) throw new DownloadError(`${what}: binary-encoded tar sizes are not supported`);
  const s = tarString(b, off, len).trim();
  if (!/^[0-7]*$/.test(s)) throw new DownloadError(`${what}: invalid tar header field '${s}'`);
  return s ? parseInt(s, 8) : 0;
}

// Returns [{ name, type, data }] for the archive's entries; data is a view into buf.
export function parseTar(buf, what = 'tar archive') {
  const out = [];
  let off = 0, longName = null;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((v) => v === 0)) return out; // end-of-archive block
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    if (sum !== tarNumber(h, 148, 8, what)) throw new DownloadError(`${what}: tar header checksum mismatch at byte ${off}`);
    const size = tarNumber(h, 124, 12, what);
    const type = String.fromCharCode(h[156] || 48);
    let name = tarString(h, 0, 100);
    const prefix = tarString(h, 345, 155);
    if (prefix && tarString(h, 257, 6) === 'ustar') name = `${prefix}/${name}`;
    if (off + 512 + size > buf.length) throw new DownloadError(`${what}: truncated (entry ${name} needs ${size} bytes)`);
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') { longName = tarString(data, 0, data.length); continue; } // GNU long name of the next entry
    if (longName) { name = longName; longName = null; }
    if (type === 'x' || type === 'g') continue; // pax headers: nothing needed from them
    out.push({ name, type, data });
  }
  throw new DownloadError(`${what}: truncated (no end-of-archive marker)`);
}

function checkCifarBin(name, data, records) {
  if (data.length === 0 || data.length % CIFAR_RECORD) return `${name}: ${data.length} bytes is not a whole number of ${CIFAR_RECORD}-byte records`;
  if (records !== undefined && data.length !== records * CIFAR_RECORD) return `${name}: ${data.length / CIFAR_RECORD} records, expected ${records}`;
  for (let i = 0; i < data.length; i += CIFAR_RECORD)
    if (data[i] > 9) return `${name}: record ${i / CIFAR_RECORD} has label ${data[i]} (CIFAR-10 labels are 0..9)`;
  return null;
}

async function downloadCifar(spec, urls, dir, opts) {
  const bins = spec.members.filter((m) => !m.optional);
  const valid = () => bins.every((m) => existsSync(join(dir, m.name)) && !checkCifarBin(m.name, readFileSync(join(dir, m.name)), m.records));
  if (valid()) {
    opts.log('  the CIFAR-10 batches are already downloaded and valid');
    return;
  }
  const archive = await fetchVerified(spec.archive, urls, dir, opts);
  opts.log(`  unpacking ${spec.archive.name}`);
  let tar;
  try {
    tar = gunzipSync(readFileSync(archive));
  } catch (e) {
    throw new DownloadError(`${spec.archive.name}: not a valid gzip file (${e.message}).`);
  }
  const entries = parseTar(tar, spec.archive.name);
  for (const m of spec.members) {
    const e = entries.find((x) => (x.type === '0' || x.type === '\0') && x.name.replace(/^\.\//, '') === `cifar-10-batches-bin/${m.name}`);
    if (!e) {
      if (m.optional) continue;
      throw new DownloadError(`${spec.archive.name}: no member cifar-10-batches-bin/${m.name}.`);
    }
    if (!m.optional) {
      const why = checkCifarBin(m.name, e.data, m.records);
      if (why) throw new DownloadError(`${spec.archive.name}: ${why}.`);
    }
    const tmp = join(dir, `${m.name}.tmp`);
    writeFileSync(tmp, e.data);
    renameSync(tmp, join(dir, m.name));
  }
  if (!opts.keepArchive) rmSync(archive, { force: true }); // the batches hold everything needed
}

// Downloads one dataset into rawDir/<name>/. opts: { rawDir, urls (base URLs to use
// instead of the official ones), spec (replaces SOURCES[name], for tests), keepArchive,
// fetchImpl, log, idleMs }. Throws DownloadError with a hint on failure.
export async function download(name, opts = {}) {
  const spec = opts.spec || SOURCES[name];
  if (!spec) throw new DownloadError(`unknown dataset '${name}'. Hint: choose from ${Object.keys(SOURCES).join(', ')}.`);
  const rawDir = opts.rawDir || defaultDirs().raw;
  const dir = join(rawDir, name);
  const urls = opts.urls || spec.urls;
  const o = { log: () => {}, ...opts };
  mkdirSync(dir, { recursive: true });
  o.log(`download: ${name} -> ${dir}`);
  try {
    if (spec.archive) await downloadCifar(spec, urls, dir, o);
    else for (const f of spec.files) await fetchVerified(f, urls, dir, o);
  } catch (e) {
    if (!(e instanceof DownloadError)) throw e;
    throw new DownloadError(`${name}: ${e.message.trimEnd()}\n  ${hint(name, dir)}`);
  }
  return dir;
}

export async function main(argv) {
  const names = [];
  const opts = { rawDir: defaultDirs().raw, log: (m) => process.stderr.write(m + '\n') };
  let doPrepare = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--raw' || a === '--base') {
      if (i + 1 >= argv.length) throw new DownloadError(`option ${a} needs a value. Hint: see node datasets/download.mjs --help.`);
      const v = argv[++i];
      if (a === '--raw') opts.rawDir = resolve(v);
      else opts.urls = [v.endsWith('/') ? v : v + '/'];
    } else if (a === '--no-prepare') doPrepare = false;
    else if (a === '--keep-archive') opts.keepArchive = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1).filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
      return 0;
    } else if (a.startsWith('--')) throw new DownloadError(`unknown option ${a}. Hint: options are --raw DIR, --base URL, --no-prepare, --keep-archive.`);
    else if (a === 'all') names.push(...Object.keys(SOURCES));
    else if (!SOURCES[a]) throw new DownloadError(`unknown dataset '${a}'. Hint: choose from ${Object.keys(SOURCES).join(', ')} or all.`);
    else names.push(a);
  }
  if (!names.length) throw new DownloadError(`name the datasets to download. Hint: node datasets/download.mjs ${Object.keys(SOURCES).join(' ')} (or all).`);
  const unique = [...new Set(names)];
  for (const n of unique) await download(n, opts);
  if (!doPrepare) return 0;
  const dirs = { ...defaultDirs(), raw: opts.rawDir };
  const { results } = await prepare({ names: unique, dirs, log: opts.log });
  const failed = results.filter((r) => r.status !== 'prepared' && r.status !== 'up-to-date');
  if (failed.length) throw new DownloadError(`downloaded, but preparing failed: ${failed.map((r) => `${r.name}: ${r.message}`).join('; ')}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    process.stderr.write(`download: ${e.message}\n`);
    process.exitCode = 1;
  });
}

