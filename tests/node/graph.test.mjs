// Graph runs end to end: Cora GCN through the CLI (WASM and native) and the loader,
// the WASM engine agreeing with itself bit for bit, and the error paths of graph data.
// Needs the raw Planetoid files in ../shared/datasets/cora (or $NOISYLAB_DATA_DIR/cora);
// without them every test here is skipped with that message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine } from '../../wasm/noisylab.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const source = process.env.NOISYLAB_DATA_DIR || join(root, '..', 'shared', 'datasets');
const parts = ['x', 'y', 'tx', 'ty', 'allx', 'ally', 'graph', 'test.index'];
const files = parts.map((p) => join(source, 'cora', `ind.cora.${p}`));
const skip = files.every(existsSync) ? false : `${join(source, 'cora')} is absent (the Planetoid files of Cora): graph tests skipped`;
if (skip) console.log(`# note: ${skip}`);
const cli = (args, opts = {}) => spawnSync(process.execPath, [join(root, 'bin', 'noisylab.js'), ...args], { encoding: 'utf8', ...opts });
const CFG = 'dataset=cora&model=gcn&opt=adam&lr=0.01&dropout=0.5&epochs=30&tsne=0';

test('train "dataset=cora&model=gcn" through the CLI learns the public split', { skip }, () => {
  const r = cli(['train', CFG, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.status, 'finished');
  assert.equal(res.engine, 'wasm-simd');
  assert.equal(res.epochs.length, 30);
  assert.deepEqual([res.dataset.train, res.dataset.val, res.dataset.test, res.dataset.classes, res.dataset.nodes],
    [140, 500, 1000, 7, 2708]);
  assert.match(res.model, /^gcn 1433-16-7/);
  // 30 epochs of GCN reach about 78%; 70% leaves room for any seed and build
  assert.ok(res.last_test_acc > 0.7, `test accuracy ${res.last_test_acc}`);
  assert.ok(res.final.confusion.length === 7 && res.final.macro.f1 > 0.5);
});

test('the native engine runs the same graph config', { skip }, () => {
  const r = cli(['train', 'dataset=cora&model=sage&opt=adam&dropout=0.5&epochs=3&tsne=0', '--engine', 'native', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.engine, 'native');
  assert.equal(res.epochs.length, 3);
  assert.match(res.model, /^sage 1433-16-7/);
});

test('the loader API: raw files by name, bit-identical twice, GAT with attention dropout', { skip }, async () => {
  const nl = await loadEngine();
  const once = () => {
    const run = nl.newRun('dataset=cora&model=gat&hidden=4&heads=2&opt=adam&lr=0.005&dropout=0.6&attn_dropout=0.6&epochs=3&tsne=0');
    try {
      for (const f of files) run.addShard(0, readFileSync(f), basename(f));
      run.start();
      while (!run.finished) run.step(1);
      return run.result();
    } finally { run.free(); }
  };
  const a = once(), b = once();
  assert.equal(a.epochs.length, 3);
  assert.deepEqual(a.epochs, b.epochs, 'the same config gives the same bits');
});

test('graph error paths: image model, split keys, missing files', { skip }, () => {
  let r = cli(['train', 'dataset=cora']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /config key 'model'.*Hint: use model=gcn/);
  r = cli(['train', 'dataset=cora&model=gcn&train=100']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /public Planetoid split/);
  r = cli(['train', 'dataset=cora&model=gcn'], { env: { ...process.env, NOISYLAB_DATA_DIR: join(root, 'no-such-dir'), NOISYLAB_RAW_DIR: join(root, 'no-such-raw') } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /ind\.cora\.x is missing \(and .*no-such-raw.cora is not complete\)\. Hint: run `npx noisylab download cora`.*or copy the eight Planetoid files/);
});
