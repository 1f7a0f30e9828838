// The CLI as a user meets it: exit codes, messages that name the key, JSON output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = (args, opts = {}) => spawnSync(process.execPath, [join(root, 'bin', 'noisylab.js'), ...args], { encoding: 'utf8', ...opts });

test('train prints JSON with per-epoch metrics, best/last accuracy, time, img/s and engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nl-'));
  const out = join(dir, 'r.json');
  const r = cli(['train', 'train=300&test=100&epochs=2&model=mlp&width=32', '--json', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', '--json prints JSON only');
  const res = JSON.parse(r.stdout);
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), res, '--out writes the same JSON');
  assert.equal(res.epochs.length, 2);
  for (const e of res.epochs) for (const k of ['train_loss', 'train_acc', 'test_loss', 'test_acc']) assert.equal(typeof e[k], 'number', k);
  assert.equal(res.last_test_acc, res.epochs[1].test_acc);
  assert.equal(res.best_test_acc, Math.max(...res.epochs.map((e) => e.test_acc)));
  assert.ok(res.wall_seconds > 0 && res.img_per_s > 0);
  assert.equal(res.engine, 'wasm-simd');
  assert.equal(res.status, 'finished');
  assert.equal(res.config, 'v=1&train=300&test=100&model=mlp&width=32&epochs=2');
});

test('train without --json reports progress as plain lines on a pipe, and the scalar engine works', () => {
  const r = cli(['train', 'train=200&test=100&epochs=2&model=linear', '--engine', 'wasm-scalar']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^epoch 1: train loss [\d.]+ acc [\d.]+%.*test loss/m);
  assert.match(r.stderr, /^epoch 2: /m);
  assert.equal(JSON.parse(r.stdout).engine, 'wasm-scalar');
});

test('bad config input exits 2 naming the key and what is allowed', () => {
  const cases = [
    ['epochs=1&lrr=0.1', /unknown config key 'lrr'.*Allowed keys: .*\blr\b/],
    ['model=vgg16', /'model'.*linear\|mlp\|cnn-small\|cnn4\|cnn8\|resnet9/],
    ['lr=-3', /'lr'.*from 0 to 100/],
    ['epochs=two', /'epochs'.*not a number/],
    ['v=9', /version 9 is newer/],
    ['batch=0', /'batch'.*from 1 to 4096/],
  ];
  for (const [cfg, re] of cases) {
    const r = cli(['train', cfg]);
    assert.equal(r.status, 2, `${cfg}: ${r.stderr}`);
    assert.match(r.stderr, re, cfg);
    assert.match(r.stderr, /Hint:/, cfg);
    assert.equal(r.stdout, '');
  }
});

test('bad options and commands exit 2', () => {
  assert.equal(cli(['train', 'epochs=1', '--engine', 'gpu']).status, 2);
  assert.equal(cli(['train', 'epochs=1', '--fast']).status, 2);
  assert.equal(cli(['train']).status, 2);
  assert.equal(cli(['frobnicate']).status, 2);
  assert.equal(cli(['help']).status, 0);
});

test('a missing dataset exits 1 with the command that prepares it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nl-'));
  const r = cli(['train', 'dataset=cifar10&epochs=1'], { env: { ...process.env, NOISYLAB_DATASETS: dir } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not prepared.*Hint: run `npm run prepare-data`/);
});

test('a corrupt shard is refused with the file named, not a crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nl-'));
  mkdirSync(join(dir, 'mnist'));
  writeFileSync(join(dir, 'mnist', 'train.shard'), Buffer.from('NLSHARD1 but then garbage'));
  writeFileSync(join(dir, 'mnist', 'test.shard'), Buffer.alloc(10));
  const r = cli(['train', 'dataset=mnist&epochs=1'], { env: { ...process.env, NOISYLAB_DATASETS: dir } });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /mnist\/train\.shard/);
  assert.match(r.stderr, /Hint:/);
});

test('a diverging run exits 1 with a hint, and its JSON says diverged', () => {
  const r = cli(['train', 'train=200&test=50&epochs=2&model=mlp&lr=100&momentum=0.9999&wd=0', '--json']);
  assert.equal(r.status, 1);
  assert.equal(JSON.parse(r.stdout).status, 'diverged');
  assert.match(r.stderr, /diverged.*Hint: lower the learning rate/);
});

test('loss ce: value and gradient of the mean cross-entropy', () => {
  const logits = [[1, 2, 3], [0.5, -1, 2], [0, 0, 0]], labels = [2, 0, 1];
  const r = cli(['loss', '--loss', 'ce'], { input: JSON.stringify({ logits, labels }) });
  assert.equal(r.status, 0, r.stderr);
  const { loss, grad } = JSON.parse(r.stdout);
  let want = 0;
  const wantGrad = logits.map((z, b) => {
    const m = Math.max(...z), e = z.map((v) => Math.exp(v - m)), s = e.reduce((a, c) => a + c);
    want += -Math.log(e[labels[b]] / s) / logits.length;
    return e.map((v, k) => (v / s - (k === labels[b])) / logits.length);
  });
  assert.ok(Math.abs(loss - want) < 1e-6, `${loss} vs ${want}`);
  grad.forEach((row, b) => row.forEach((g, k) => assert.ok(Math.abs(g - wantGrad[b][k]) < 1e-6)));
});

test('loss: malformed input exits 2 with a clear message', () => {
  const bad = [
    ['not json', /not valid JSON/],
    ['{"logits": [[1, 2]], "labels": [5]}', /label 5 .*outside 0\.\.1/],
    ['{"logits": [[1, 2], [1]], "labels": [0, 1]}', /rows of equal length/],
    ['{"logits": [], "labels": []}', /non-empty/],
    ['{"logits": [["a", 2]], "labels": [0]}', /finite numbers/],
  ];
  for (const [input, re] of bad) {
    const r = cli(['loss', '--loss', 'ce'], { input });
    assert.equal(r.status, 2, input);
    assert.match(r.stderr, re, input);
  }
  const nope = cli(['loss', '--loss', 'nope'], { input: '{"logits":[[1,2]],"labels":[0]}' });
  assert.equal(nope.status, 2);
  assert.match(nope.stderr, /'loss'.*must be one of ce\|mae/);
  const alpha = cli(['loss', '--loss', 'ce', '--alpha', '1'], { input: '{"logits":[[1,2]],"labels":[0]}' });
  assert.equal(alpha.status, 2);
  assert.match(alpha.stderr, /--alpha is not a parameter of ce/);
});

test('keys lists every config key with its default and choices', () => {
  const r = cli(['keys']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^model\s+default cnn4\s+linear\|mlp\|cnn-small\|cnn4\|cnn8\|resnet9/m);
  assert.match(r.stdout, /^seed\s+default 0/m);
  assert.match(r.stdout, /^classes\s+default all\s+all \| ids joined by , \(e\.g\. 0,3,5\)$/m);
  assert.doesNotMatch(r.stdout, /undefined/);
});

test('datasets lists the embedded default even with nothing prepared', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nl-'));
  const r = cli(['datasets'], { env: { ...process.env, NOISYLAB_DATASETS: dir } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^synth\s+3x32x32\s+10 classes/m);
});

test('classes=... trains k outputs with the kept class names, bit for bit as the WASM engine does', async () => {
  const { loadEngine } = await import('../../wasm/noisylab.js');
  const cfg = 'dataset=synth&classes=9,0,4&train=300&test=90&epochs=2&model=cnn-small&mult=0.25&noise=0.2&tsne=0';
  const r = cli(['train', cfg, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.config, 'v=1&classes=9,0,4&train=300&test=90&model=cnn-small&mult=0.25&noise=0.2&tsne=0&epochs=2');
  assert.deepEqual(res.class_names, ['dots', 'disc', 'ring']);
  assert.deepEqual(res.class_ids, [9, 0, 4]);
  assert.equal(res.dataset.classes, 3);
  assert.equal(res.dataset.train, 300);
  assert.equal(res.final.confusion.length, 3);
  assert.equal(res.noise.matrix.length, 3);
  const nl = await loadEngine();
  const run = nl.newRun(cfg);
  let direct;
  try {
    run.start();
    while (!run.finished) run.step(9);
    direct = run.result();
  } finally { run.free(); }
  assert.equal(JSON.stringify(res.epochs), JSON.stringify(direct.epochs));
  assert.equal(JSON.stringify(res.final), JSON.stringify(direct.final));

  // bad lists exit 2 naming the key and what is allowed
  for (const [bad, re] of [['classes=3', /keeps 1 class/], ['classes=2,2', /listed twice/], ['classes=0,12', /class 12 does not exist/],
    ['classes=a,b', /not a list of class numbers/], ['classes=4,5,6&noise=0.2&noise_type=asym', /flips class 4 \(ring\) to class 0 \(disc\)/]]) {
    const b = cli(['train', `${bad}&epochs=1&train=100&test=20&model=linear`]);
    assert.equal(b.status, 2, `${bad}: ${b.stderr}`); // bad input, also when found at the start of the run
    assert.match(b.stderr, /config key 'classes'/, bad);
    assert.match(b.stderr, re, bad);
    assert.match(b.stderr, /Hint:/, bad);
  }
});
