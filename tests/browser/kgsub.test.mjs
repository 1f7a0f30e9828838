// kgsub.test.mjs: knowledge-graph subsets in the page's worker (web/worker.js), in headless
// Chromium: a subset config (hops, max_nodes) on AIFB and a dataset=bundle run fed by the
// worker's { type: 'graph-file' } message give the very epochs of the Node loader (the CLI's
// engine), and a run without the file or with a foreign file fails with a clear message; a
// share link with hops and max_nodes shows both controls and trains to the CLI's result.
//
//   node --test tests/browser/kgsub.test.mjs
//
// Needs ../shared/datasets/aifb (the site build copies it to graphs/aifb/); skipped without it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEngine } from '../../wasm/noisylab.js';
import { graphSourceDir } from '../../bin/graphs.mjs';
import { launchBrowser, openPage, screenshot, startSite, waitForState } from './browser.mjs';

const names = ['aifb_stripped.nt.gz', 'trainingSet.tsv', 'testSet.tsv'];
const files = names.map((n) => join(graphSourceDir(), 'aifb', n));
const skip = files.every(existsSync) ? false : `${join(graphSourceDir(), 'aifb')} is absent: subset tests skipped`;
const MODEL = 'model=rgcn&bases=10&hidden=8&opt=adam&lr=0.01&wd=0&epochs=8&tsne=0&seed=2';
const SUB = `dataset=aifb&hops=2&max_nodes=800&${MODEL}`;

let site, browser, page, problems;
before(async () => {
  if (skip) return;
  site = await startSite();
  browser = await launchBrowser();
  ({ page, problems } = await openPage(browser, site.url));
});
after(async () => {
  await browser?.close();
  await site?.close();
});

// the Node loader: the same engine the CLI trains with
async function nodeRun(config, add) {
  const nl = await loadEngine();
  const run = nl.newRun(config);
  try {
    add(run, nl);
    run.start();
    while (!run.finished) run.step(1);
    return run.result();
  } finally { run.free(); }
}

// a fresh worker of the page: optional graph-file message, then a run; resolves with the
// result or the error message
const workerRun = (config, file) => page.evaluate(async ([config, file]) => {
  const w = new Worker(new URL('./worker.js', location.href), { type: 'module' });
  try {
    return await new Promise((resolve) => {
      w.onmessage = ({ data: m }) => {
        if (m.type === 'ready') {
          if (file) w.postMessage({ type: 'graph-file', name: file.name, bytes: new Uint8Array(file.bytes) });
          w.postMessage({ type: 'run', config });
        }
        if (m.type === 'done') resolve({ result: m.result });
        if (m.type === 'error') resolve({ error: m.message, where: m.where });
      };
      w.postMessage({ type: 'init' });
    });
  } finally { w.terminate(); }
}, [config, file]);

test('the page worker cuts the same subset and trains to the same bits as the CLI engine', { skip, timeout: 120000 }, async () => {
  const want = await nodeRun(SUB, (run) => files.forEach((f, i) => run.addShard(0, readFileSync(f), names[i])));
  const got = await workerRun(SUB);
  assert.ok(got.result, got.error);
  assert.deepEqual(got.result.dataset.subset, want.dataset.subset);
  assert.deepEqual(got.result.epochs, want.epochs);
  assert.deepEqual(problems, []);
});

test("the page worker trains dataset=bundle from a 'graph-file' message, bit for bit; clear errors", { skip, timeout: 120000 }, async () => {
  // the bundle graph-subset writes (same core call)
  const nl = await loadEngine();
  const g = nl.graph(files.map((f, i) => [names[i], readFileSync(f)]), 'rgcn', 'aifb');
  let bytes;
  try { bytes = g.subset({ hops: 2, maxNodes: 800, seed: 2 }).bytes; } finally { g.free(); }
  const B = `dataset=bundle&${MODEL}`;
  const want = await nodeRun(B, (run) => run.addShard(0, bytes, 'aifb-sub.nlkg'));
  const got = await workerRun(B, { name: 'aifb-sub.nlkg', bytes: [...bytes] });
  assert.ok(got.result, got.error);
  assert.deepEqual(got.result.epochs, want.epochs);
  assert.equal(got.result.dataset.bundle.file, 'aifb-sub.nlkg');
  assert.equal(got.result.dataset.bundle.source, 'aifb');
  // the bundle of the subset config trains like it
  const sub = await nodeRun(SUB, (run) => files.forEach((f, i) => run.addShard(0, readFileSync(f), names[i])));
  assert.deepEqual(got.result.epochs, sub.epochs);
  let e = await workerRun(B);
  assert.match(e.error, /dataset=bundle trains on a graph bundle, but none was given\. Hint:/);
  e = await workerRun(B, { name: 'notes.txt', bytes: [...Buffer.from('just text')] });
  assert.equal(e.where, 'graph-file');
  assert.match(e.error, /notes\.txt is not a graph bundle.*Hint:/);
  const bad = [...bytes];
  bad[bad.length - 5] ^= 4;
  e = await workerRun(B, { name: 'flip.nlkg', bytes: bad });
  assert.match(e.error, /flip\.nlkg.*CRC-32.*Hint:/);
  // the gradient check of a bundle run reads the same file
  const gc = await page.evaluate(async ([config, bytes]) => {
    const w = new Worker(new URL('./worker.js', location.href), { type: 'module' });
    try {
      return await new Promise((resolve) => {
        w.onmessage = ({ data: m }) => {
          if (m.type === 'ready') {
            w.postMessage({ type: 'graph-file', name: 'aifb-sub.nlkg', bytes: new Uint8Array(bytes) });
            w.postMessage({ type: 'gradcheck', config });
          }
          if (m.type === 'gradcheck') resolve(m.result);
          if (m.type === 'error') resolve({ error: m.message });
        };
        w.postMessage({ type: 'init' });
      });
    } finally { w.terminate(); }
  }, [B, [...bytes]]);
  assert.ok(gc.layers, gc.error);
  assert.ok(gc.max_rel_err < 0.5, `gradcheck worst relative error ${gc.max_rel_err}`);
});

test('a share link with hops and max_nodes: the controls show them, the page reports the CLI\'s subset and epochs', { skip, timeout: 120000 }, async () => {
  const want = await nodeRun(SUB, (run) => files.forEach((f, i) => run.addShard(0, readFileSync(f), names[i])));
  const { page: p, problems: pr } = await openPage(browser, site.url + '#' + SUB + '&run=1');
  assert.equal(await waitForState(p, ['finished', 'error', 'invalid'], 90000), 'finished');
  assert.equal(await p.locator('#cfg-hops').inputValue(), '2');
  assert.equal(await p.locator('#cfg-max_nodes').inputValue(), '800');
  assert.ok(await p.locator('#cfg-max_nodes').isVisible());
  const result = await p.evaluate(() => window.__lab.result);
  assert.equal(result.config, want.config);
  assert.deepEqual(result.dataset.subset, want.dataset.subset);
  assert.deepEqual(result.epochs, want.epochs);
  await screenshot(p, 'kgsub-link');
  assert.deepEqual(pr, []);
  await p.close();
});
