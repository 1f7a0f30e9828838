#!/usr/bin/env node
// download.mjs: fetches datasets from their official sources, for users without
// ../shared/datasets, then prepares them (datasets/prepare.mjs).
//
//   node datasets/download.mjs [--raw DIR] [--base URL] [--no-prepare] [--keep-archive] NAME... | all
//   npx noisylab download NAME
//
// NAME is mnist, fashion-mnist, cifar10, cora, citeseer, aifb, mutag or dmg777k; `all` is
// every one but dmg777k (~645 MB: name it to get it). Files go to build/raw/<name>/ (or
// --raw DIR, $NOISYLAB_RAW_DIR), which prepare.mjs uses before any other source, and where
// bin/graphs.mjs finds a graph that ../shared/datasets ($NOISYLAB_DATA_DIR) lacks:
//   mnist          the four official IDX .gz files (yann.lecun.com, or the PyTorch mirror)
//   fashion-mnist  the four official IDX .gz files (Zalando's S3 bucket)
//   cifar10        cifar-10-binary.tar.gz (www.cs.toronto.edu/~kriz), unpacked into
//                  data_batch_1..5.bin and test_batch.bin (records of 1 label + 3072 pixels)
//   cora, citeseer the eight Planetoid files ind.<name>.* (tkipf/gcn, or kimiyoung/planetoid)
//   aifb           aifb_stripped.nt.gz (pbloem/gated-rgcn; kgbench-data's early copy) and the
//                  R-GCN split TSVs (tkipf/relational-gcn, rgcn/data/aifb/)
//   mutag          the R-GCN split TSVs (tkipf/relational-gcn) and mutag_stripped.nt.gz, made from
//                  the mutag_stripped.nt member of DGL's mutag-hetero.zip (the archive is removed)
//   dmg777k        kgbench's CSVs from pbloem/kgbench-data, datasets/dmg777k/ (Git LFS, fetched
//                  from media.githubusercontent.com); nodes.int.csv alone is 641 MB
// The graph files are checked against the sha256 and size of ../shared/datasets/README.md
// and the folders' READMEs (git-pinned sources; for dmg777k the LFS object ids), streamed
// to disk and hashed from there, never held whole in memory.
// Every file is checked against the MD5 the dataset's authors publish (and the size
// where known), then its format is checked; a file already present and valid is not
// fetched again. --base URL replaces the download location (a mirror, or a local
// server in tests). No other network access.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';

import { DATASETS, defaultDirs, prepare } from './prepare.mjs';

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
  ...graphSources(),
};

// The graph datasets: every file with its sha256 and size (../shared/datasets/*/README.md) and
// its source URLs, pinned to the commits those READMEs name. `large` keeps a dataset out of `all`.
function graphSources() {
  const gh = (repo, commit, path) => `https://raw.githubusercontent.com/${repo}/${commit}/${path}`;
  const GCN = ['tkipf/gcn', '39a4089fe72ad9f055ed6fdb9746abdcfebc4d81', 'gcn/data/'];
  const PLANETOID = ['kimiyoung/planetoid', 'af6abf468a772cc055bec88c52e4d6f51b7c37e3', 'data/'];
  const RGCN = ['tkipf/relational-gcn', '4bec1341dd46b72bf482f7ed26c2dca4533577f6', 'rgcn/data/'];
  const planetoid = (name, list) => ({
    graph: true,
    files: list.map(([part, size, sha256]) => {
      const f = `ind.${name}.${part}`;
      return { name: f, size, sha256, urls: [GCN, PLANETOID].map(([r, c, d]) => gh(r, c, d + f)) };
    }),
  });
  const rgcnTsv = (name, list) => list.map(([f, size, sha256]) => ({ name: f, size, sha256, urls: [gh(RGCN[0], RGCN[1], `${RGCN[2]}${name}/${f}`)] }));
  const KGB = 'https://media.githubusercontent.com/media/pbloem/kgbench-data/main/datasets/dmg777k/';
  return {
    cora: planetoid('cora', [
      ['x', 22119, '23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab'],
      ['y', 4054, '94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1'],
      ['tx', 148025, 'b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a'],
      ['ty', 28135, '41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad'],
      ['allx', 257305, '9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543'],
      ['ally', 47959, '2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71'],
      ['graph', 59847, '58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d'],
      ['test.index', 5000, '297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875'],
    ]),
    citeseer: planetoid('citeseer', [
      ['x', 31087, 'd20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6'],
      ['y', 3014, '8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924'],
      ['tx', 260321, '539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21'],
      ['ty', 24135, '55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce'],
      ['allx', 595021, '2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668'],
      ['ally', 55623, 'f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95'],
      ['graph', 61987, 'd79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7'],
      ['test.index', 5000, '2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4'],
    ]),
    aifb: {
      graph: true,
      files: [
        { name: 'aifb_stripped.nt.gz', size: 568040, sha256: 'ba4191235456e09d8f12a2415f24273b8d7641ffee6001ca9340f02c04d77fea',
          urls: [gh('pbloem/gated-rgcn', '44d9324f9a6821fb12dcea98f669ed0aa6ab401b', 'data/aifb/aifb_stripped.nt.gz'),
            gh('pbloem/kgbench-data', 'fbf7f2f8e84c036c7065d1d40343b0e8743852da', 'datasets/aifb/raw/aifb_stripped.nt.gz')] },
        ...rgcnTsv('aifb', [
          ['trainingSet.tsv', 22927, '4960629668c6548215871321e4b6daaee24191f38f41ccfbc4de62016d18c5a7'],
          ['testSet.tsv', 5921, 'abe4a9e7c393164996d1fe7250d72ec1f1a7b350583f2dff5d880f60ec04b3b6'],
          ['completeDataset.tsv', 28465, '8c758d2dda7e720e2a75c4fd3cc876ddd9bb16226b979aae630737260ff5a8a7'],
        ]),
      ],
    },
    mutag: {
      graph: true,
      files: rgcnTsv('mutag', [
        ['trainingSet.tsv', 14283, 'd2fe71b68bb25735465128b4aed50d9b165fa5ab92aa2e221fad3d1cd87b7297'],
        ['testSet.tsv', 3581, '20e69309a037cbf0fb2b52be3eaa6c43888215cbc0b96e8f8bd9e2af55652a3f'],
        ['completeDataset.tsv', 16477, 'd81b169a2f3d88b750dd5717062b58f2088fedda1b806e8d5f74373407933e71'],
      ]),
      // the original R-GCN mutag_stripped.nt.gz is not published anywhere checkable; DGL's
      // archive holds the same graph uncompressed, and its member is checked, then gzipped
      zip: { name: 'mutag-hetero.zip', size: 649716, sha256: '3a9e5632ad56a3abd2baf010672e9e32edda041b355a30ecfe392743016a47e1',
        urls: ['https://data.dgl.ai/dataset/mutag-hetero.zip', gh('sapkotaruz11/EDGE', '371e2ef0ded7d45668b10f66d5a4884d7957db47', 'data/mutag-hetero.zip')] },
      derived: [{ name: 'mutag_stripped.nt.gz', member: 'mutag_stripped.nt', size: 10717210, sha256: '0ad52f867198ecdf969332266a194e4ad6f6df381fc55a53d29b5566909cbc67' }],
    },
    dmg777k: {
      graph: true,
      large: true,
      files: [
        ['training.int.csv', 53953, 'e914d029ff089c96aa3dfca05f1e4c8b17285e6c577383100c540cfc102753fb'],
        ['validation.int.csv', 10023, '68f3d663973cf356e1379ef0c22b59d0eeb6d9616c7a3f77a6f629aba12d9680'],
        ['testing.int.csv', 20023, '8bd49206e667c8a353808c50ba8a827bc6e5179749cadb2c490b87ab80d1646c'],
        ['all.int.csv', 83973, '9803c1a2894852d2bc5e49017f7b076d364b8967f84e113354388b07b00391a2'],
        ['relations.int.csv', 2877, 'b6f4d9ad4f1e2e6a469d000766d16d33dbaa05d43bef138ff532a161d5347666'],
        ['nodetypes.int.csv', 433, 'afa1e396442c0f10c0667be20c474b8b79bee13d4cb57b76020608a5f49848e8'],
        ['triples.int.csv.gz', 2815528, '44ffb537db277a78b4594b9c6ff25bc2e63ddbf5ea9b05ba161a5221f4e204a9'],
        ['nodes.int.csv', 641627944, '0903a9b8b76278c153b34d5348efda90a91f9b0e3cc9e462b34b5d6bde644975'],
      ].map(([name, size, sha256]) => ({ name, size, sha256, urls: [KGB + name] })),
    },
  };
}

const hint = (name, dir) => `Hint: check the network connection (or set a mirror with --base URL), or put the official files into ${dir} by hand: they are checked the same way. Then run \`node datasets/download.mjs ${name}\` again.`;

// ---- checks

function md5(buf) { return createHash('md5').update(buf).digest('hex'); }

// sha256 of a file, read in chunks (nodes.int.csv of dmg777k is 641 MB)
async function sha256File(path) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk);
  return h.digest('hex');
}

// a graph file (spec.sha256): size from the file system, then the streamed hash
async function checkHashed(spec, path, log = () => {}) {
  const size = statSync(path).size;
  if (spec.size !== undefined && size !== spec.size) return `${spec.name}: ${size} bytes, expected ${spec.size}`;
  if (size > 50e6) log(`  ${spec.name}: checking the SHA-256 of ${mb(size)} MB`);
  const got = await sha256File(path);
  if (got !== spec.sha256) return `${spec.name}: SHA-256 ${got} differs from the expected ${spec.sha256}`;
  return null;
}

const checkPath = (spec, path, log) => (spec.sha256 ? checkHashed(spec, path, log) : checkFile(spec, readFileSync(path)));

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
  let fh, got = 0, total = 0;
  try {
    const res = await fetchImpl(url, { signal: ctl.signal, redirect: 'follow' });
    if (!res.ok) throw new Error(`HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`);
    total = Number(res.headers.get('content-length')) || 0;
    fh = await open(part, 'w');
    let shown = 0;
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
    if (total && got !== total) throw new Error(`the connection ended after ${got} of ${total} bytes; the partial file was deleted`);
    renameSync(part, file);
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    rmSync(part, { force: true });
    const why = e.name === 'AbortError' ? `no data for ${idleMs / 1000} s` : (e.cause?.code || e.cause?.message || e.message);
    throw new Error(total && got < total && !why.startsWith('the connection ended') ? `the connection ended after ${got} of ${total} bytes (${why}); the partial file was deleted` : why);
  } finally {
    clearTimeout(timer);
  }
}

// Fetches spec.name from the first base URL that serves a valid copy.
async function fetchVerified(spec, urls, dir, opts) {
  const dest = join(dir, spec.name);
  if (existsSync(dest)) {
    const why = await checkPath(spec, dest, opts.log);
    if (!why) {
      opts.log(`  ${spec.name}: already downloaded and valid`);
      return dest;
    }
    opts.log(`  ${spec.name}: the copy on disk is not valid (${why}); fetching it again`);
  }
  const tried = [];
  // a graph file has its own URLs (spec.urls), unless --base (opts.urls) replaces them
  const list = spec.urls && !opts.urls ? spec.urls : urls.map((base) => new URL(spec.name, base).href);
  for (const url of list) {
    opts.log(`  fetching ${url}`);
    try {
      await fetchTo(url, dest, opts);
    } catch (e) {
      tried.push(`${url}: ${e.message}`);
      continue;
    }
    const why = await checkPath(spec, dest, opts.log);
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

// ---- zip, enough for DGL's mutag-hetero.zip (stored or DEFLATE members)

// The bytes of member `member` of the zip in buf, or null when it has none.
export function zipMember(buf, member, what = 'zip archive') {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--)
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) throw new DownloadError(`${what}: not a zip file (no end-of-central-directory record)`);
  const count = buf.readUInt16LE(eocd + 10);
  let off = buf.readUInt32LE(eocd + 16);
  for (let k = 0; k < count; k++) {
    if (off + 46 > buf.length || buf.readUInt32LE(off) !== 0x02014b50) throw new DownloadError(`${what}: damaged central directory (entry ${k})`);
    const method = buf.readUInt16LE(off + 10), csize = buf.readUInt32LE(off + 20);
    const nlen = buf.readUInt16LE(off + 28), xlen = buf.readUInt16LE(off + 30), clen = buf.readUInt16LE(off + 32);
    const local = buf.readUInt32LE(off + 42);
    const name = buf.toString('utf8', off + 46, off + 46 + nlen);
    off += 46 + nlen + xlen + clen;
    if (name !== member) continue;
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) throw new DownloadError(`${what}: damaged local header of ${member}`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (start + csize > buf.length) throw new DownloadError(`${what}: truncated (member ${member})`);
    const data = buf.subarray(start, start + csize);
    if (method === 0) return data;
    if (method !== 8) throw new DownloadError(`${what}: member ${member} uses compression method ${method} (only stored and DEFLATE are read)`);
    try {
      return inflateRawSync(data);
    } catch (e) {
      throw new DownloadError(`${what}: member ${member} does not inflate (${e.message})`);
    }
  }
  return null;
}

// A file made from an archive member (mutag_stripped.nt.gz): valid when its gunzipped bytes
// have the member's size and sha256.
function checkDerived(d, path) {
  let raw;
  try {
    raw = gunzipSync(readFileSync(path));
  } catch (e) {
    return `${d.name}: not a valid gzip file (${e.message})`;
  }
  if (raw.length !== d.size) return `${d.name}: ${raw.length} bytes after gunzip, expected ${d.size}`;
  const got = createHash('sha256').update(raw).digest('hex');
  return got === d.sha256 ? null : `${d.name}: SHA-256 after gunzip ${got} differs from the expected ${d.sha256}`;
}

async function downloadGraph(spec, dir, opts) {
  for (const f of spec.files) await fetchVerified(f, opts.urls || [], dir, opts);
  const todo = (spec.derived || []).filter((d) => {
    const p = join(dir, d.name);
    if (!existsSync(p)) return true;
    const why = checkDerived(d, p);
    if (!why) opts.log(`  ${d.name}: already made and valid`);
    else opts.log(`  ${d.name}: the copy on disk is not valid (${why}); making it again`);
    return !!why;
  });
  if (!todo.length) return;
  const archive = await fetchVerified(spec.zip, opts.urls || [], dir, opts);
  const zip = readFileSync(archive);
  for (const d of todo) {
    const data = zipMember(zip, d.member, spec.zip.name);
    if (!data) throw new DownloadError(`${spec.zip.name}: no member ${d.member}.`);
    const got = createHash('sha256').update(data).digest('hex');
    if (data.length !== d.size || got !== d.sha256)
      throw new DownloadError(`${spec.zip.name}: member ${d.member} has ${data.length} bytes and SHA-256 ${got}, expected ${d.size} bytes and ${d.sha256}.`);
    opts.log(`  ${d.name}: made from ${spec.zip.name}:${d.member}`);
    const tmp = join(dir, `${d.name}.tmp`);
    writeFileSync(tmp, gzipSync(data, { level: 9 }));
    renameSync(tmp, join(dir, d.name));
  }
  if (!opts.keepArchive) rmSync(archive, { force: true }); // the derived file holds what is needed
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
    if (spec.graph) await downloadGraph(spec, dir, o);
    else if (spec.archive) await downloadCifar(spec, urls, dir, o);
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
    else if (a === 'all') names.push(...Object.keys(SOURCES).filter((n) => !SOURCES[n].large));
    else if (!SOURCES[a]) throw new DownloadError(`unknown dataset '${a}'. Hint: choose from ${Object.keys(SOURCES).join(', ')} or all.`);
    else names.push(a);
  }
  if (!names.length) throw new DownloadError(`name the datasets to download. Hint: node datasets/download.mjs ${Object.keys(SOURCES).join(' ')} (or all).`);
  const unique = [...new Set(names)];
  for (const n of unique) {
    await download(n, opts);
    if (SOURCES[n].graph) {
      const found = resolve(opts.rawDir) === resolve(defaultDirs().raw);
      opts.log(`download: ${n} is ready${found ? ': train, eda, graph-subset and the site find it there' : `; to use it from ${opts.rawDir}, set NOISYLAB_RAW_DIR=${opts.rawDir}`}`);
    }
  }
  // graphs are read raw (bin/graphs.mjs); the image datasets become shards
  const images = unique.filter((n) => DATASETS[n]);
  if (!doPrepare || !images.length) return 0;
  const dirs = { ...defaultDirs(), raw: opts.rawDir };
  const { results } = await prepare({ names: images, dirs, log: opts.log });
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

