// checkpoints.test.mjs: a checkpoint per epoch under a cap the user sets, in headless Chromium.
//
//   node --test tests/browser/checkpoints.test.mjs
//
// A stopped run holds the checkpoint of each finished epoch; the history shows how many and
// their size; a tiny cap evicts the oldest first but never a resumable run's latest; Resume
// from an earlier epoch reaches the very metrics of a run that never stopped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEngine } from '../../wasm/noisylab.js';
import { launchBrowser, openPage, screenshot, startSite, waitForState } from './browser.mjs';

let site, browser;

before(async () => {
  site = await startSite();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
});

// cnn4 at mult 0.25: checkpoints of about 0.4 MB; epochs of a fraction of a second, so a run is
// given many more epochs than the test waits for before it presses Stop
const CONFIG = 'dataset=synth&train=320&test=100&epochs=16&model=cnn4&mult=0.25&opt=adam&lr=0.003&batch=32&noise=0.2&tsne=0';

// runs until at least `n` epochs are done, stops, and waits until every finished epoch has its
// checkpoint stored (or, with a cap, until the saves are over); returns { id, epochs }
async function runAndStop(page, n, { all = true } = {}) {
  await page.click('#run');
  await page.waitForFunction((n) => window.__lab.epochs.length >= n, n, { timeout: 60000 });
  await page.click('#stop');
  assert.equal(await waitForState(page, ['stopped', 'finished'], 20000), 'stopped');
  const id = await page.evaluate(() => window.__lab.runId);
  await page.waitForFunction((id) => window.__lab.storedRun(id).then((r) => r?.status === 'stopped'), id);
  const epochs = (await page.evaluate((id) => window.__lab.storedRun(id), id)).epochs.length;
  if (all) await page.waitForFunction(([id, n]) => window.__lab.storedCheckpoints(id).then((c) => c.length === n), [id, epochs]);
  return { id, epochs };
}

const storedEpochs = (page, id) => page.evaluate((id) => window.__lab.storedCheckpoints(id).then((c) => c.map((x) => x.epoch)), id);

test('every epoch keeps a checkpoint; a tiny cap evicts the oldest, never the latest; the history shows them', async () => {
  const { page, problems } = await openPage(browser, site.url + '#' + CONFIG);
  await waitForState(page, ['ready']);
  const { id, epochs } = await runAndStop(page, 3);
  assert.ok(epochs >= 3 && epochs < 16, `stopped after ${epochs} epochs`);
  assert.deepEqual(await storedEpochs(page, id), Array.from({ length: epochs }, (_, i) => i + 1), 'one checkpoint per finished epoch');

  await page.click('#tab-history');
  const row = page.locator(`#history tr[data-id="${id}"]`);
  await row.locator('td.ckpts', { hasText: `${epochs} · ` }).waitFor();
  assert.match(await row.locator('td.ckpts').textContent(), new RegExp(`^${epochs} · \\d+\\.\\d MB$`));
  assert.equal(await page.inputValue('#ckpt-cap'), '200', 'the default cap is 200 MB');
  assert.deepEqual(await row.locator('select.resume-epoch option').allTextContents(),
    Array.from({ length: epochs }, (_, i) => `after epoch ${i + 1}`));
  assert.equal(await row.locator('select.resume-epoch').inputValue(), String(epochs), 'Resume starts from the latest');
  await screenshot(page, 'checkpoints-history');

  // a cap of 1 MB holds two of them: the oldest go, the latest stays
  await page.fill('#ckpt-cap', '1');
  await page.locator('#ckpt-cap').dispatchEvent('change');
  await page.locator('#eviction', { hasText: `The new cap evicted ${epochs - 2} old checkpoint(s)` }).waitFor();
  assert.deepEqual(await storedEpochs(page, id), [epochs - 1, epochs]);
  await row.locator('td.ckpts', { hasText: /^2 · 0\.\d MB$/ }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('noisylab-checkpoint-cap-mb')), '1', 'the cap is kept');
  // "Delete old checkpoints" of the row keeps only the latest
  await row.locator('button', { hasText: 'Delete old checkpoints' }).click();
  await row.locator('td.ckpts', { hasText: /^1 · 0\.\d MB$/ }).waitFor();
  assert.deepEqual(await storedEpochs(page, id), [epochs]);
  assert.match(await page.locator('#notice').textContent(), /Deleted 1 old checkpoint\(s\)/);

  // a new run under the cap evicts as it goes: the first run's older checkpoint first, then its own
  await page.click('#tab-run');
  const second = await runAndStop(page, 4, { all: false });
  await page.waitForFunction(([a, b]) => Promise.all([window.__lab.storedCheckpoints(a), window.__lab.storedCheckpoints(b)])
    .then(([x, y]) => x.length === 1 && y.length === 1 && y[0].epoch === window.__lab.epochs.length), [id, second.id]);
  assert.deepEqual(await storedEpochs(page, id), [epochs], 'the stopped run keeps its latest: it can still be resumed');
  assert.deepEqual(await storedEpochs(page, second.id), [second.epochs]);
  await page.click('#tab-history');
  await page.locator('#eviction', { hasText: /The cap evicted \d+ old checkpoint\(s\).*the oldest first: epoch \d+ of/ }).waitFor();
  await page.locator(`#history tr[data-id="${second.id}"] td.ckpts`, { hasText: /^1 · / }).waitFor();
  await screenshot(page, 'checkpoints-cap');

  // back to the default cap
  await page.fill('#ckpt-cap', '200');
  await page.locator('#ckpt-cap').dispatchEvent('change');
  await page.waitForFunction(() => localStorage.getItem('noisylab-checkpoint-cap-mb') === '200');
  assert.deepEqual(problems, []);
  await page.close();
});

test('Resume from an earlier epoch reaches the metrics of a run that never stopped', async () => {
  const config = CONFIG.replace('epochs=16', 'epochs=12').replace('noise=0.2', 'noise=0.3&dropout=0.2&aug=crop+flip');
  const nl = await loadEngine({ wasmBinary: readFileSync(join(site.root, 'wasm', 'noisylab-simd.wasm')) });
  const run = nl.newRun(config);
  let straight;
  try {
    run.start();
    while (!run.finished) run.step(50);
    straight = run.result();
  } finally { run.free(); }

  const { page, problems } = await openPage(browser, site.url + '#' + config);
  await waitForState(page, ['ready']);
  const { id, epochs } = await runAndStop(page, 3);
  assert.ok(epochs >= 3 && epochs < 12, `stopped after ${epochs} epochs`);
  await page.click('#tab-history');
  const row = page.locator(`#history tr[data-id="${id}"]`);
  await row.locator('select.resume-epoch').selectOption('1');
  await row.locator('button', { hasText: 'Resume' }).click();
  await page.waitForFunction(() => /Resumed from the checkpoint after epoch 1\./.test(document.getElementById('notice').textContent));
  assert.equal(await waitForState(page, ['finished', 'error', 'stopped'], 60000), 'finished');
  const result = await page.evaluate(() => window.__lab.result);
  assert.equal(JSON.stringify(result.epochs), JSON.stringify(straight.epochs), 'epochs 2..12 trained again, to the same bits');
  assert.equal(JSON.stringify(result.final), JSON.stringify(straight.final));
  // the page shows 'finished' first and stores the record right after: wait for the store
  await page.waitForFunction((id) => window.__lab.storedRun(id).then((r) => r?.status === 'finished'), id);
  const rec = await page.evaluate((id) => window.__lab.storedRun(id), id);
  assert.equal(rec.epochs.length, 12);
  await page.waitForFunction((id) => window.__lab.storedCheckpoints(id).then((c) => c.length === 0), id);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the one checkpoint per run of an older lab (database version 2) moves to the per-epoch store', async () => {
  const fresh = await launchBrowser();
  try {
    // a page of the site's origin that is not the lab writes a version-2 database
    const { page, problems } = await openPage(fresh, site.url + 'style.css');
    await page.evaluate(() => new Promise((resolve, reject) => {
      const req = indexedDB.open('noisylab', 2);
      req.onupgradeneeded = () => {
        const db = req.result;
        for (const [name, keyPath] of [['runs', 'id'], ['results', 'id'], ['checkpoints', 'id'], ['shards', 'file']]) db.createObjectStore(name, { keyPath });
      };
      req.onsuccess = () => {
        const t = req.result.transaction(['runs', 'checkpoints'], 'readwrite');
        t.objectStore('runs').put({ id: 'old-run', name: 'from v2', config: 'v=1&epochs=3', status: 'stopped', created: 1, epochs: [{ epoch: 1, lr: 0.01, test_acc: 0.5 }, { epoch: 2, lr: 0.01, test_acc: 0.6 }] });
        t.objectStore('checkpoints').put({ id: 'old-run', epoch: 2, bytes: new Uint8Array(1000), size: 1000, saved: 5 });
        t.oncomplete = () => { req.result.close(); resolve(); };
        t.onerror = () => reject(t.error);
      };
      req.onerror = () => reject(req.error);
    }));
    await page.goto(site.url + '#epochs=3');
    await waitForState(page, ['ready']);
    assert.deepEqual(await page.evaluate(() => window.__lab.storedCheckpoints('old-run')), [{ id: 'old-run', epoch: 2, size: 1000, saved: 5 }]);
    assert.equal(await page.evaluate(() => window.__lab.storedCheckpoint('old-run').then((c) => c.bytes.byteLength)), 1000);
    await page.click('#tab-history');
    const row = page.locator('#history tr[data-id="old-run"]');
    await row.locator('td.ckpts', { hasText: '1 · 0.0 MB' }).waitFor();
    assert.equal(await row.locator('select.resume-epoch').inputValue(), '2');
    // the bare style.css page asks for /favicon.ico (the lab's own page declares none)
    assert.deepEqual(problems.filter((p) => !/favicon\.ico|404 \(Not Found\)/.test(p)), []);
    await page.close();
  } finally { await fresh.close(); }
});
