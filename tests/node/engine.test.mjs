// The core through the one loader: determinism, and agreement of the builds
// (WASM SIMD, WASM scalar, native) on the same run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine, NlError, STATUS } from '../../wasm/noisylab.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function train(nl, config) {
  const run = nl.newRun(config);
  try {
    run.start();
    while (!run.finished) run.step(7);
    return run.result();
  } finally { run.free(); }
}

function close(a, b, tol, what) {
  assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${what}: ${a} vs ${b} (tol ${tol})`);
}

const CFG = 'train=256&test=128&epochs=2&batch=32&model=cnn-small&mult=0.25&aug=crop+flip&dropout=0.3';

test('same config and seed give bit-identical metrics; another seed does not', async () => {
  const nl = await loadEngine();
  const a = train(nl, CFG), b = train(nl, CFG);
  assert.deepEqual(a.epochs, b.epochs);
  const c = train(nl, CFG + '&seed=5');
  assert.notDeepEqual(a.epochs, c.epochs);
  // a fresh engine instance gives the same bits too (no hidden state survives a run)
  assert.deepEqual(train(await loadEngine(), CFG).epochs, a.epochs);
});

test('each randomness stream is separate: dropout does not change the split or the init', async () => {
  const nl = await loadEngine();
  // with lr=0 nothing trains, so the test loss is that of the initial weights on the test split
  const base = 'train=128&test=128&epochs=1&model=mlp&width=16&lr=0&wd=0';
  const a = train(nl, base + '&dropout=0'), b = train(nl, base + '&dropout=0.5');
  assert.equal(a.epochs[0].test_loss, b.epochs[0].test_loss);
  const c = train(nl, base + '&aug=crop+flip');
  assert.equal(a.epochs[0].test_loss, c.epochs[0].test_loss);
});

test('WASM SIMD, WASM scalar and native agree on the same run', async () => {
  const cfg = 'train=256&test=128&epochs=1&batch=64&model=cnn4&mult=0.25';
  const simd = train(await loadEngine(), cfg), scalar = train(await loadEngine({ scalar: true }), cfg);
  const r = spawnSync(join(root, 'build', 'native', 'nlrun'), [cfg], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const native = JSON.parse(r.stdout.trim().split('\n').pop()).result;
  for (const [name, other] of [['scalar', scalar], ['native', native]]) {
    const e0 = simd.epochs[0], e1 = other.epochs[0];
    for (const k of ['train_loss', 'test_loss']) close(e1[k], e0[k], 1e-3, `${name} ${k}`);
    close(e1.test_acc, e0.test_acc, 0.02, `${name} test_acc`);
    console.log(`${name}: train_loss ${e1.train_loss} vs simd ${e0.train_loss}; test_loss ${e1.test_loss} vs ${e0.test_loss}`);
  }
});

test('the loader reports a missing core with a hint', async () => {
  await assert.rejects(loadEngine({ url: 'file:///nonexistent/noisylab.wasm' }), (e) => e instanceof Error);
  await assert.rejects(loadEngine({ wasmBinary: new Uint8Array([0, 97, 115, 109]) }));
});

test('errors from the core surface as NlError with the message and hint', async () => {
  const nl = await loadEngine();
  assert.throws(() => nl.newRun('model=transformer'), (e) => e instanceof NlError && /'model'/.test(e.message) && /Hint:/.test(e.message));
  const run = nl.newRun('dataset=mnist');
  assert.throws(() => run.addShard(0, new Uint8Array(100), 'mnist/train.shard'), (e) => e instanceof NlError && /mnist\/train\.shard/.test(e.message));
  assert.throws(() => run.start(), (e) => /no training shard/.test(e.message));
  run.free();
});

test('a checkpoint taken between epochs resumes bit-identically, also across engine instances', async () => {
  const nl = await loadEngine();
  const straight = train(nl, CFG);
  const a = nl.newRun(CFG);
  a.start();
  while (a.step(5) === STATUS.TRAINING) {}
  const bytes = a.checkpoint();
  a.free();
  const b = (await loadEngine()).newRun(CFG);
  b.restore(bytes);
  while (!b.finished) b.step(7);
  assert.deepEqual(b.result().epochs, straight.epochs);
  b.free();
  const c = nl.newRun(CFG);
  assert.throws(() => c.restore(bytes.subarray(0, 100)), (e) => e instanceof NlError && /truncated/.test(e.message) && /Hint:/.test(e.message));
  c.free();
});
