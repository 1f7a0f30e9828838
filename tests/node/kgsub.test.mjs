// Knowledge-graph subsets as part of a run: the config keys hops and max_nodes cut the k-hop
// subgraph at run_start (core/train.h), and dataset=bundle trains on a file written by
// `noisylab graph-subset` (train --graph FILE). The same string gives the same bits on the
// loader the page uses, the CLI's WASM engine and the native engine; a bundle of the same
// subgraph trains to the same bits as the subset config. Needs ../shared/datasets/aifb (or
// $NOISYLAB_DATA_DIR/aifb); without it the tests are skipped with that message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine } from '../../wasm/noisylab.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const source = process.env.NOISYLAB_DATA_DIR || join(root, '..', 'shared', 'datasets');
const names = ['aifb_stripped.nt.gz', 'trainingSet.tsv', 'testSet.tsv'];
const files = names.map((n) => join(source, 'aifb', n));
const skip = files.every(existsSync) ? false : `${join(source, 'aifb')} is absent (the R-GCN AIFB files): subset tests skipped`;
if (skip) console.log(`# note: ${skip}`);
const native = existsSync(join(root, 'build', 'native', 'nlrun'));
const cli = (args) => spawnSync(process.execPath, [join(root, 'bin', 'noisylab.js'), ...args], { encoding: 'utf8' });
const tmp = mkdtempSync(join(tmpdir(), 'noisylab-kgsub-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

// small on purpose (10 bases, 8 hidden, 10 epochs); 1000 of AIFB's 8285 nodes
const MODEL = 'model=rgcn&bases=10&hidden=8&opt=adam&lr=0.01&wd=0&epochs=10&tsne=0&seed=3';
const SUB = `dataset=aifb&hops=2&max_nodes=1000&${MODEL}`;
const json = (r) => { assert.equal(r.status, 0, r.stderr); return JSON.parse(r.stdout); };

test('a subset config: the page loader, the CLI (wasm) and the native engine give the same bits', { skip }, async () => {
  const nl = await loadEngine();
  const run = nl.newRun(SUB);
  let page;
  try { // what web/worker.js does: the raw files by name, split 0
    files.forEach((f, i) => run.addShard(0, readFileSync(f), names[i]));
    run.start();
    while (!run.finished) run.step(1);
    page = run.result();
  } finally { run.free(); }
  const s = page.dataset.subset;
  assert.deepEqual([s.hops, s.max_nodes, s.seed, s.nodes, s.labelled, s.from_labelled, s.from_hops + s.from_fill, s.source_nodes, s.source_triples],
    [2, 1000, 3, 1000, 176, 176, 824, 8285, 29043]);
  assert.equal(page.dataset.nodes, 1000);
  assert.equal(page.dataset.triples, s.triples);
  assert.deepEqual([page.dataset.train, page.dataset.test], [140, 36]);
  // chance is 15/36 = 42%; 10 epochs on 1000 nodes reach about 80%
  assert.ok(page.last_test_acc > 0.6, `test accuracy ${page.last_test_acc}`);
  const wasm = json(cli(['train', SUB, '--json']));
  assert.deepEqual(wasm.epochs, page.epochs, 'CLI (wasm) and the page loader');
  assert.deepEqual(wasm.dataset, page.dataset);
  if (native) {
    const nat = json(cli(['train', SUB, '--json', '--engine', 'native']));
    assert.deepEqual(nat.epochs, page.epochs, 'native and wasm');
    assert.deepEqual(nat.dataset.subset, s);
  }
});

test('train --graph: a bundle from graph-subset trains to the bits of the subset config and names its source', { skip }, () => {
  const file = join(tmp, 'aifb-sub.nlkg');
  assert.equal(cli(['graph-subset', 'aifb', '--hops', '2', '--max-nodes', '1000', '--seed', '3', '--out', file]).status, 0);
  const b = json(cli(['train', `dataset=bundle&${MODEL}`, '--graph', file, '--json']));
  assert.equal(b.status, 'finished');
  assert.deepEqual(b.dataset.bundle, { file: 'aifb-sub.nlkg', source: 'aifb', hops: 2, max_nodes: 1000, seed: 3, nodes: 1000,
    triples: b.dataset.triples, labelled: 176, source_nodes: 8285, source_triples: 29043 });
  assert.ok(b.last_test_acc > 0.6, `test accuracy ${b.last_test_acc}`);
  const s = json(cli(['train', SUB, '--json']));
  assert.deepEqual(b.epochs, s.epochs, 'graph-subset --seed S + dataset=bundle == hops/max_nodes with seed=S');
  if (native) assert.deepEqual(json(cli(['train', `dataset=bundle&${MODEL}`, '--graph', file, '--json', '--engine', 'native'])).epochs, b.epochs);
  // a sweep takes the bundle the same way; its cell is the train run, bit for bit
  const out = join(tmp, 'sw');
  const r = cli(['sweep', `dataset=bundle&${MODEL}`, '--grid', 'seed=3', '--graph', file, '--jobs', '1', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(readFileSync(out + '.jsonl', 'utf8')).epochs, b.epochs);
});

test('subset and bundle errors: a message naming what to fix, a non-zero exit, no crash', { skip }, () => {
  const expect = (args, code, re) => {
    const r = cli(args);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /RuntimeError|Aborted|at .*\.mjs:\d+/);
  };
  const B = `dataset=bundle&${MODEL}`;
  expect(['train', B], 2, /dataset=bundle trains on one bundle file: give it with --graph FILE/);
  expect(['train', B, '--graph', join(tmp, 'nope.nlkg')], 2, /nope\.nlkg does not exist or is not a file\. Hint: write it with `npx noisylab graph-subset/);
  expect(['train', `dataset=aifb&${MODEL}`, '--graph', join(tmp, 'x.nlkg')], 2, /--graph .* is for dataset=bundle .* write dataset=bundle, or leave out --graph\. Hint: run `npx noisylab help`/);
  expect(['train', `dataset=aifb&hops=2&${MODEL}`], 2, /config key 'hops': hops=2 takes a k-hop subset, which needs its node cap max_nodes/);
  expect(['train', `dataset=aifb&hops=1&max_nodes=100&${MODEL}`], 2, /config key 'max_nodes': 100 is smaller than the 176 labelled nodes of dataset=aifb.*Hint: write max_nodes=176 or more/);
  expect(['train', 'dataset=synth&max_nodes=100'], 2, /config key 'max_nodes': a k-hop subset is for knowledge graphs/);
  const good = join(tmp, 'ok.nlkg');
  assert.equal(cli(['graph-subset', 'aifb', '--hops', '1', '--max-nodes', '400', '--out', good]).status, 0);
  const bytes = readFileSync(good), flipped = Buffer.from(bytes);
  flipped[bytes.length - 5] ^= 4;
  writeFileSync(join(tmp, 'flip.nlkg'), flipped);
  expect(['train', B, '--graph', join(tmp, 'flip.nlkg')], 1, /flip\.nlkg.*fails its CRC-32: the file is damaged\. Hint:/);
  writeFileSync(join(tmp, 'cut.nlkg'), bytes.subarray(0, bytes.length - 1000));
  expect(['train', B, '--graph', join(tmp, 'cut.nlkg')], 1, /cut\.nlkg: member .* runs past the end .*Hint: make the bundle again/);
  writeFileSync(join(tmp, 'text.nlkg'), 'just some text\n');
  expect(['train', B, '--graph', join(tmp, 'text.nlkg')], 1, /text\.nlkg is not a graph bundle \(it does not start with NLKGBND1.*Hint:/);
  if (native) expect(['train', B, '--graph', join(tmp, 'flip.nlkg'), '--engine', 'native'], 1, /flip\.nlkg.*fails its CRC-32.*Hint:/);
});
