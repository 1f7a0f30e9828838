// Knowledge-graph runs end to end: a short AIFB R-GCN through the WASM loader (raw
// files by name, bit-identical twice, clearly above chance), the CLI's error paths.
// Needs ../shared/datasets/aifb (or $NOISYLAB_DATA_DIR/aifb); without it the tests
// here are skipped with that message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine } from '../../wasm/noisylab.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const source = process.env.NOISYLAB_DATA_DIR || join(root, '..', 'shared', 'datasets');
const names = ['aifb_stripped.nt.gz', 'trainingSet.tsv', 'testSet.tsv'];
const files = names.map((n) => join(source, 'aifb', n));
const skip = files.every(existsSync) ? false : `${join(source, 'aifb')} is absent (the R-GCN AIFB files): knowledge-graph tests skipped`;
if (skip) console.log(`# note: ${skip}`);
const cli = (args, opts = {}) => spawnSync(process.execPath, [join(root, 'bin', 'noisylab.js'), ...args], { encoding: 'utf8', ...opts });
// small on purpose: 10 bases and 8 hidden units train in a few seconds
const CFG = 'dataset=aifb&model=rgcn&bases=10&hidden=8&opt=adam&lr=0.01&wd=0&epochs=10&tsne=0';

test('the loader trains an AIFB R-GCN from the raw files, bit-identical twice, far above chance', { skip }, async () => {
  const nl = await loadEngine();
  const once = () => {
    const run = nl.newRun(CFG);
    try {
      files.forEach((f, i) => run.addShard(0, readFileSync(f), names[i]));
      run.start();
      while (!run.finished) run.step(1);
      return run.result();
    } finally { run.free(); }
  };
  const a = once(), b = once();
  assert.equal(a.status, 'finished');
  assert.deepEqual([a.dataset.train, a.dataset.val, a.dataset.test, a.dataset.classes, a.dataset.nodes, a.dataset.relations],
    [140, 0, 36, 4, 8285, 90]);
  assert.match(a.model, /^rgcn 8285-8-4, 91 relations/);
  // chance (the largest class) is 15/36 = 42%; 10 epochs reach about 90%
  assert.ok(a.last_test_acc > 0.75, `test accuracy ${a.last_test_acc}`);
  assert.deepEqual(a.epochs, b.epochs, 'the same config gives the same bits');
});

test('knowledge-graph error paths: model/dataset mismatch, split keys, missing files', { skip }, () => {
  let r = cli(['train', 'dataset=aifb&model=gcn']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /dataset=aifb is a knowledge graph.*Hint: use model=rgcn/);
  r = cli(['train', 'dataset=cora&model=rgcn']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /model=rgcn is a knowledge-graph model.*Hint: use dataset=aifb/);
  r = cli(['train', 'dataset=mutag&model=rgcn&train=100']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /comes with its own split/);
  r = cli(['train', 'dataset=mutag&model=rgcn'], { env: { ...process.env, NOISYLAB_DATA_DIR: join(root, 'no-such-dir'), NOISYLAB_RAW_DIR: join(root, 'no-such-raw') } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /mutag_stripped\.nt\.gz is missing \(and .*no-such-raw.mutag is not complete\)\. Hint: run `npx noisylab download mutag`.*or put the R-GCN files/);
  r = cli(['train', 'preset=dmg777k-rgcn'], { env: { ...process.env, NOISYLAB_DATA_DIR: join(root, 'no-such-dir'), NOISYLAB_RAW_DIR: join(root, 'no-such-raw') } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /dataset 'dmg777k' is not available: .*Hint: run `npx noisylab download dmg777k` \(about 645 MB\)/);
  r = cli(['train', 'dataset=aifb-kgbench&model=mrgcn'], { env: { ...process.env, NOISYLAB_DATA_DIR: join(root, 'no-such-dir') } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nodes\.int\.csv is missing|triples\.int\.csv\.gz is missing/);
});

// mmlkg-synthetic: a random graph whose class lives in the literals (its README), so the
// literal-feature model must learn it and the featureless one must not
const mm = join(source, 'mmlkg-synthetic');
const mmFiles = ['triples.int.csv', 'nodes.int.csv', 'relations.int.csv', 'training.int.csv', 'validation.int.csv', 'testing.int.csv'];
const mmSkip = mmFiles.every((f) => existsSync(join(mm, f))) ? false : `${mm} is absent: the mrgcn test is skipped`;

test('mrgcn reads the class from the literals of mmlkg-synthetic, the featureless rgcn cannot', { skip: mmSkip }, async () => {
  const nl = await loadEngine();
  const acc = (model) => {
    const run = nl.newRun(`dataset=mmlkg-synthetic&model=${model}&opt=adam&lr=0.01&wd=0&epochs=50&tsne=0`);
    try {
      for (const f of mmFiles) run.addShard(0, readFileSync(join(mm, f)), f);
      run.start();
      while (!run.finished) run.step(5);
      return run.result().last_test_acc;
    } finally { run.free(); }
  };
  // 10 seeds (results/graph/kg-mmlkg-synthetic.jsonl): mrgcn 88-100%, rgcn 44-60% (chance 54%)
  const m = acc('mrgcn'), r = acc('rgcn');
  assert.ok(m > 0.8, `mrgcn test accuracy ${m}`);
  assert.ok(r < 0.7, `rgcn test accuracy ${r}`);
});
