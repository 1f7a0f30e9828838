// lab.test.mjs: the lab's links, history, checkpoints and sweeps in headless Chromium.
//
//   node --test --test-concurrency=1 tests/browser/
//
// Hostile links are reported and inert; a stopped run resumes from its checkpoint to the
// very metrics of an uninterrupted run; runs compare, export and import; a sweep of
// 2 losses x 2 noise rates completes and draws its chart. Screenshots go to build/screenshots/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEngine } from '../../wasm/noisylab.js';
import { launchBrowser, openPage, runAndWait, screenshot, setControl, startSite, storedRuns, waitForState } from './browser.mjs';

let site, browser;

before(async () => {
  site = await startSite();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
});

const text = (page, sel) => page.locator(sel).textContent();
const SMALL = 'dataset=synth&train=300&test=100&epochs=1&model=cnn4&mult=0.25&opt=adam&lr=0.003&tsne=0';

test('hostile links are reported by key and change nothing', async () => {
  const { page, problems } = await openPage(browser, site.url + '#' + SMALL);
  await waitForState(page, ['ready']);
  const good = await page.evaluate(() => window.__lab.canonical);
  const snapshot = () => page.evaluate(() => ({
    canonical: window.__lab.canonical, config: document.getElementById('config').value,
    epochs: document.getElementById('cfg-epochs').value, dataset: document.getElementById('cfg-dataset').value,
    elements: document.querySelectorAll('script, img, b, iframe, svg').length, pwned: window.__pwned ?? null, state: window.__lab.state,
  }));
  const before = await snapshot();

  const cases = [
    // [hash, the key the notice must name (a regex)]
    ['foo<script>window.__pwned=1</script>=1&epochs=2', /unknown config key 'foo<script>window\.__pwned'/],
    ['dataset=<img src=x onerror="window.__pwned=1">', /config key 'dataset': '<img src=x onerror="window\.__pwned=1">' is not allowed/],
    ['<b>bold</b><script>alert(1)</script>=x', /unknown config key '<b>bold<\/b><script>alert\(1\)<\/script>'/],
    ['train=1e999999', /config key 'train'/],
    ['epochs=99999999999999999999', /config key 'epochs'/],
    ['lr=NaN', /config key 'lr': 'NaN' is not a number/],
    ['train=-5', /config key 'train': -5 is out of range/],
    ['batch=-1&run=1', /config key 'batch'/],
    ['v=2&epochs=1', /config key 'v': version 2 is newer than this lab/],
    ['lr=0.1%26epochs%3D2', /config key 'lr'/],
    ['epochs=1&' + 'x'.repeat(100 * 1024), /config is 100 kB long, and a config is at most 4 kB/],
  ];
  for (const [hash, expected] of cases) {
    await page.evaluate(() => { document.getElementById('notice').hidden = true; });
    await page.evaluate((h) => { location.hash = h; }, hash);
    await page.waitForFunction(() => !document.getElementById('notice').hidden);
    const notice = await text(page, '#notice');
    assert.match(notice, expected, `link #${hash.slice(0, 60)}`);
    assert.match(notice, /not applied/);
    const now = await snapshot();
    assert.deepEqual(now, before, `link #${hash.slice(0, 60)} changed the page`);
  }
  // the key is marked and the page still works: a good link applies, and runs with run=1
  await page.evaluate((h) => { location.hash = h; }, SMALL.replace('epochs=1', 'epochs=1&seed=3') + '&run=1');
  assert.equal(await waitForState(page, ['finished', 'error', 'invalid'], 30000), 'finished');
  assert.match(await page.evaluate(() => window.__lab.result.config), /seed=3/);
  assert.doesNotMatch(await page.evaluate(() => window.__lab.canonical), /run=1/);
  assert.notEqual(await page.evaluate(() => window.__lab.canonical), good);
  assert.equal(await page.evaluate(() => window.__pwned ?? null), null);

  // the Content-Security-Policy: no eval, no inline script, even if something got in
  // (Playwright's own evaluate is exempt, so the test inserts a script as an injection would)
  const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/);
  assert.doesNotMatch(csp, /unsafe-inline|'unsafe-eval'/);
  const violation = await page.evaluate(() => new Promise((resolve) => {
    document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective), { once: true });
    const s = document.createElement('script');
    s.textContent = 'window.__pwned = 1';
    document.body.append(s);
  }));
  assert.match(violation, /^script-src/);
  assert.equal(await page.evaluate(() => window.__pwned ?? null), null, 'an inline script ran');
  problems.splice(0, problems.length, ...problems.filter((p) => !/Content Security Policy/.test(p)));

  // a fresh load of a hostile link: the start experiment, a notice, no run
  const fresh = await openPage(browser, site.url + '#epochs=1&run=1&<script>alert(1)</script>=1');
  await waitForState(fresh.page, ['ready']);
  await fresh.page.waitForFunction(() => !document.getElementById('notice').hidden);
  assert.match(await text(fresh.page, '#notice'), /unknown config key '<script>alert\(1\)<\/script>'/);
  await fresh.page.waitForTimeout(300);
  assert.equal(await fresh.page.evaluate(() => window.__lab.state), 'ready', 'run=1 of a bad link does not run');
  assert.equal(await fresh.page.evaluate(() => document.querySelectorAll('#notice *:not(span):not(button)').length), 0);
  await screenshot(fresh.page, 'hostile-link');
  assert.deepEqual(fresh.problems, []);
  await fresh.page.close();

  assert.deepEqual(problems, []);
  await page.close();
});

test('a stopped run resumes from its checkpoint to the metrics of an uninterrupted run', async () => {
  const config = 'dataset=synth&train=640&test=100&epochs=5&model=cnn4&mult=0.25&opt=adam&lr=0.003&batch=32&noise=0.2&tsne=0&seed=5';
  const nl = await loadEngine({ wasmBinary: readFileSync(join(site.root, 'wasm', 'noisylab-simd.wasm')) });
  const run = nl.newRun(config);
  let node;
  try {
    run.start();
    while (!run.finished) run.step(50);
    node = run.result();
  } finally { run.free(); }

  const { page, problems } = await openPage(browser, site.url + '#' + config);
  await waitForState(page, ['ready']);
  await page.click('#run');
  await page.waitForFunction(() => window.__lab.epochs.length >= 1);
  await page.click('#stop');
  assert.equal(await waitForState(page, ['stopped', 'finished'], 10000), 'stopped', 'stopped before the last epoch');
  const id = await page.evaluate(() => window.__lab.runId);
  await page.waitForFunction((id) => window.__lab.storedCheckpoint(id).then((c) => !!c), id);
  const ckEpoch = await page.evaluate((id) => window.__lab.storedCheckpoint(id).then((c) => c.epoch), id);

  // the history offers Resume; it continues the same record to the end
  await page.click('#tab-history');
  const row = page.locator(`#history tr[data-id="${id}"]`);
  await row.locator('button', { hasText: 'Resume' }).click();
  await waitForState(page, ['running', 'finished']); // Resume reads the checkpoint first
  assert.equal(await waitForState(page, ['finished', 'error', 'stopped'], 30000), 'finished');
  const result = await page.evaluate(() => window.__lab.result);
  assert.equal(JSON.stringify(result.epochs), JSON.stringify(node.epochs), `resumed after epoch ${ckEpoch}`);
  assert.equal(JSON.stringify(result.final), JSON.stringify(node.final));
  const rec = (await storedRuns(page)).find((r) => r.id === id);
  assert.equal(rec.status, 'finished');
  assert.equal(rec.epochs.length, 5);
  assert.equal(await page.evaluate((id) => window.__lab.storedCheckpoint(id).then((c) => c ?? null), id), null, 'a finished run keeps no checkpoint');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a sweep of 2 losses x 2 noise rates completes and draws its chart; runs compare, export and import', async () => {
  const { page, problems } = await openPage(browser, site.url + '#' + SMALL);
  await waitForState(page, ['ready']);
  await page.click('#tab-sweep');
  await page.fill('#sweep-grid', 'loss=ce,nce+rce\nnoise=0,0.4');
  await page.fill('#sweep-workers', '2');
  await page.click('#sweep-run');
  await page.waitForFunction(() => document.getElementById('sweep-status').dataset.state === 'finished', null, { timeout: 60000 });
  assert.match(await text(page, '#sweep-status'), /4 of 4 cells finished/);
  assert.equal(await page.locator('#sweep-cells tbody tr[data-state="finished"]').count(), 4);
  await page.waitForFunction(() => window.__lab.sweepChart?.points === 4);
  assert.equal(await page.evaluate(() => window.__lab.sweepChart.lines), 2);
  assert.equal(await page.locator('#sweep-summary tbody tr').count(), 2);
  assert.match(await text(page, '#sweep-summary'), /loss \\ noise00\.4ce\d+\.\d\d% ± 0\.00 \(1\)/);
  await screenshot(page, 'sweep');

  const runs = (await storedRuns(page)).filter((r) => r.sweep);
  assert.equal(runs.length, 4);
  assert.ok(runs.every((r) => r.status === 'finished' && r.epochs.length === 1));
  assert.deepEqual(runs.map((r) => r.config).sort(), [
    'v=1&train=300&test=100&mult=0.25&loss=nce+rce&noise=0.4&tsne=0&opt=adam&lr=0.003&epochs=1',
    'v=1&train=300&test=100&mult=0.25&loss=nce+rce&tsne=0&opt=adam&lr=0.003&epochs=1',
    'v=1&train=300&test=100&mult=0.25&noise=0.4&tsne=0&opt=adam&lr=0.003&epochs=1',
    'v=1&train=300&test=100&mult=0.25&tsne=0&opt=adam&lr=0.003&epochs=1', // loss=ce, noise=0: the defaults
  ]);

  // compare two of them: overlaid curves and the keys that differ
  await page.click('#tab-history');
  await page.locator('#history-filter').fill('sweep');
  const boxes = page.locator('#history tbody tr input[type="checkbox"]');
  assert.equal(await boxes.count(), 4);
  await boxes.nth(0).check();
  await boxes.nth(3).check();
  await page.click('#compare');
  await page.locator('#compare-panel').waitFor();
  const diff = await text(page, '#diff');
  assert.match(diff, /loss|noise/);
  assert.match(diff, /last test acc/);
  await screenshot(page, 'compare');

  // rename one, delete another
  const first = page.locator('#history tbody tr').nth(0);
  const firstId = await first.getAttribute('data-id');
  await first.locator('button', { hasText: 'Rename' }).click();
  await first.locator('input[aria-label="new name"]').fill('sweep <b>renamed</b>');
  await first.locator('input[aria-label="new name"]').press('Enter');
  await page.waitForFunction((id) => window.__lab.storedRun(id).then((r) => r.name === 'sweep <b>renamed</b>'), firstId);
  await page.locator(`#history tr[data-id="${firstId}"] .name`, { hasText: 'sweep <b>renamed</b>' }).waitFor();
  assert.equal(await page.locator('#history b').count(), 0, 'a name is text, not HTML');
  const third = page.locator('#history tbody tr').nth(2);
  const thirdId = await third.getAttribute('data-id');
  await third.locator('button', { hasText: 'Delete' }).click();
  await page.waitForFunction((id) => window.__lab.storedRun(id).then((r) => !r), thirdId);
  await page.locator(`#history tr[data-id="${thirdId}"]`).waitFor({ state: 'detached' });

  // export the two as JSON
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(exported.length, 2);
  assert.ok(exported.every((r) => r.config && r.epochs.length === 1 && r.result.final.confusion.length === 10), 'whole results');

  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const rows = readFileSync(await csv.path(), 'utf8').trim().split('\n');
  assert.match(rows[0], /^id,name,status,config,epoch,lr,train_loss,train_acc,train_acc_clean,val_acc,test_loss,test_acc,grad_norm$/);
  assert.equal(rows.length, 3, 'a header and one epoch of each of the two runs');

  // import JSONL: two good lines and a bad one, reported by line
  const lines = [
    { config: 'dataset=synth&loss=ce&noise=0.2&seed=0', last_test_acc: 0.5, best_test_acc: 0.55, status: 'finished', epochs: 10 },
    { config: 'dataset=synth&loss=ce&noise=0.2&seed=1', last_test_acc: 0.6, best_test_acc: 0.6, status: 'finished', epochs: 10 },
    { config: 'dataset=synth&<b>x</b>=1', last_test_acc: 0.5, best_test_acc: 0.5, status: 'finished', epochs: 1 },
  ].map((o) => JSON.stringify(o)).join('\n');
  await page.setInputFiles('#import', { name: 'runs.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(lines) });
  await page.waitForFunction(() => /Imported 2 run/.test(document.getElementById('notice').textContent));
  assert.match(await text(page, '#notice'), /Skipped 1: line 3: unknown config key '<b>x<\/b>'/);
  await page.waitForFunction(() => window.__lab.sweepChart?.points === 2 && window.__lab.sweepChart?.lines === 1);
  assert.equal((await storedRuns(page)).filter((r) => r.imported).length, 2);

  // Stop sweep: the running cells stop, the waiting ones are skipped, the lab is free again
  assert.equal(await page.locator('#run').isEnabled(), true);
  await page.fill('#sweep-grid', 'epochs=30\nseed=1,2,3,4,5');
  await page.click('#sweep-run');
  await page.waitForFunction(() => document.querySelector('#sweep-cells tr[data-state="running"]'));
  assert.equal(await page.locator('#run').isEnabled(), false, 'no single run during a sweep');
  await page.click('#sweep-stop');
  await page.waitForFunction(() => document.getElementById('sweep-status').dataset.state === 'stopped', null, { timeout: 10000 });
  assert.equal(await page.locator('#sweep-cells tbody tr[data-state="finished"]').count(), 0);
  assert.ok(await page.locator('#sweep-cells tbody tr[data-state="stopped"]').count() >= 1);
  assert.ok(await page.locator('#sweep-cells tbody tr[data-state="skipped"]').count() >= 1);
  assert.equal(await page.locator('#run').isEnabled(), true);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a reload mid-run keeps every finished epoch; the run shows as stopped and resumable', async () => {
  const config = 'dataset=synth&train=800&test=100&epochs=20&model=cnn4&mult=0.25&opt=adam&lr=0.003&batch=32&tsne=0';
  const { page, problems } = await openPage(browser, site.url + '#' + config);
  await waitForState(page, ['ready']);
  await page.click('#run');
  await page.waitForFunction(() => window.__lab.epochs.length >= 1);
  const id = await page.evaluate(() => window.__lab.runId);
  await page.waitForFunction((id) => window.__lab.storedRun(id).then((r) => r?.epochs.length >= 1), id);
  await page.reload();
  await waitForState(page, ['ready']);
  await page.click('#tab-history');
  const row = page.locator(`#history tr[data-id="${id}"]`);
  await row.waitFor();
  assert.equal(await row.locator('td.status').textContent(), 'stopped');
  const rec = (await storedRuns(page)).find((r) => r.id === id);
  assert.ok(rec.epochs.length >= 1, 'the finished epochs are kept');
  assert.match(rec.message, /closed or reloaded/);
  await row.locator('button', { hasText: 'Resume' }).waitFor();
  assert.deepEqual(problems, []);
  await page.close();
});

test('a prepared dataset loads lazily from the site and comes from IndexedDB the second time', async (t) => {
  const manifest = JSON.parse(readFileSync(join(site.root, 'datasets', 'manifest.json'), 'utf8'));
  if (!manifest.datasets.some((d) => d.name === 'mnist' && d.available)) return t.skip('mnist is not prepared');
  const config = 'dataset=mnist&train=500&test=200&epochs=1&model=linear&tsne=0';
  const { page, problems } = await openPage(browser, site.url + '#' + config);
  await waitForState(page, ['ready']);
  await page.waitForFunction(() => /60,000 train · 10,000 test/.test(document.getElementById('dataset-card').textContent));
  const first = await runAndWait(page, 60000);
  assert.equal(first.result.dataset.name, 'mnist');
  assert.deepEqual(await page.evaluate(() => window.__lab.loads), [
    { file: 'mnist/train.shard', cached: false }, { file: 'mnist/test.shard', cached: false }]);
  await page.waitForFunction(() => window.__lab.galleryDrawn > 0);
  await page.reload();
  const second = await runAndWait(page, 60000);
  assert.deepEqual(await page.evaluate(() => window.__lab.loads), [
    { file: 'mnist/train.shard', cached: true }, { file: 'mnist/test.shard', cached: true }]);
  assert.equal(JSON.stringify(second.result.final), JSON.stringify(first.result.final));
  await page.locator('#results').screenshot({ path: join(site.root, '..', 'screenshots', 'results-mnist.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a full storage loses no metrics: the checkpoint is refused with a notice that offers a clean-up', async () => {
  const { page, problems } = await openPage(browser, site.url + '#' + SMALL.replace('epochs=1', 'epochs=2'));
  await waitForState(page, ['ready']);
  // every checkpoint write fails as a full disk would make it fail
  await page.evaluate(() => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (...args) {
      if (this.name === 'checkpoints') throw new DOMException('the quota is exceeded', 'QuotaExceededError');
      return put.apply(this, args);
    };
  });
  const { result } = await runAndWait(page);
  assert.equal(result.epochs.length, 2);
  await page.waitForFunction(() => /storage is full: the checkpoint of epoch 1 was not saved \(the metrics are\)/.test(document.getElementById('notice').textContent));
  assert.equal(await page.locator('#notice button', { hasText: 'Delete old checkpoints' }).count(), 1);
  const id = await page.evaluate(() => window.__lab.runId);
  await page.waitForFunction((id) => window.__lab.storedRun(id).then((r) => r?.status === 'finished'), id);
  const rec = (await storedRuns(page)).find((r) => r.id === id);
  assert.equal(rec.epochs.length, 2);

  // the run record itself does not fit once: checkpoints go, the metrics stay
  await page.evaluate(() => {
    const put = IDBObjectStore.prototype.put;
    let failed = false;
    IDBObjectStore.prototype.put = function (...args) {
      if (this.name === 'runs' && !failed) { failed = true; throw new DOMException('the quota is exceeded', 'QuotaExceededError'); }
      return put.apply(this, args);
    };
  });
  const second = await runAndWait(page);
  assert.ok((await page.evaluate(() => window.__lab.notices)).some((n) => /storage was full: \d+ checkpoint\(s\) of other runs and of this run's older epochs were deleted to keep this run's metrics/.test(n)));
  const id2 = await page.evaluate(() => window.__lab.runId);
  await page.waitForFunction((id) => window.__lab.storedRun(id).then((r) => r?.status === 'finished'), id2);
  assert.equal(second.result.epochs.length, 2);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the K x K editor sets a custom noise matrix that the run realises', async () => {
  const { page, problems } = await openPage(browser, site.url + '#' + SMALL);
  await waitForState(page, ['ready']);
  assert.equal(await page.locator('.field[data-key="noise_matrix"]').isVisible(), false, 'hidden unless noise_type=custom');
  await page.selectOption('#cfg-noise_type', 'custom');
  assert.equal(await page.locator('.field[data-key="noise_matrix"]').isVisible(), true);
  assert.equal(await page.locator('.field[data-key="noise"]').isVisible(), false, 'the rate is ignored for custom noise');
  // class 0 is always given label 1
  const cells = page.locator('.matrix-table input');
  assert.equal(await cells.count(), 100);
  await cells.nth(0).fill('0');
  await cells.nth(1).fill('1');
  await page.waitForFunction(() => window.__lab.canonical.includes('noise_matrix=0,1,0,0,0,0,0,0,0,0;0,1,'));
  assert.equal(await page.locator('.matrix-table td.sum.bad').count(), 0);
  const { result } = await runAndWait(page);
  const row0 = result.noise.matrix[0];
  assert.equal(row0[0], 0);
  assert.equal(row0[1], result.class_counts[0], 'every image of class 0 is labelled 1');
  // a row that does not sum to 1 is flagged, and the core names the key
  await cells.nth(2).fill('0.5');
  await page.locator('.matrix-table td.sum.bad').first().waitFor();
  await page.waitForFunction(() => document.getElementById('notice').dataset.key === 'noise_matrix');
  assert.equal(await page.evaluate(() => window.__lab.state), 'invalid');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a diverging run says so with a hint and is kept as diverged', async () => {
  const { page, problems } = await openPage(browser, site.url + '#dataset=synth&train=200&test=50&epochs=2&model=mlp&lr=100&momentum=0.9999&wd=0&tsne=0');
  await waitForState(page, ['ready']);
  await page.click('#run');
  assert.equal(await waitForState(page, ['diverged', 'finished', 'error'], 30000), 'diverged');
  assert.match(await text(page, '#notice'), /diverged.*Hint: lower the learning rate/);
  const id = await page.evaluate(() => window.__lab.runId);
  await page.waitForFunction((id) => window.__lab.storedRun(id).then((r) => r?.status === 'diverged'), id);
  assert.equal(await page.locator('#run').isEnabled(), true);
  await page.waitForTimeout(300); // the end-of-run views draw without errors
  assert.deepEqual(problems, []);
  await page.close();
});

test('Check gradients shows the analytic against the finite-difference gradients of every layer', async () => {
  const { page, problems } = await openPage(browser, site.url + '#' + SMALL);
  await waitForState(page, ['ready']);
  await page.click('#gradcheck');
  await page.locator('#gradcheck-out table').waitFor({ timeout: 30000 });
  assert.equal(await waitForState(page, ['ready']), 'ready');
  const rows = page.locator('#gradcheck-out tbody tr');
  assert.ok(await rows.count() >= 5, 'cnn4 has conv, batch-norm and dense layers');
  const kinds = await rows.evaluateAll((trs) => trs.map((tr) => tr.children[1].textContent));
  assert.ok(kinds.includes('conv') && kinds.includes('dense'), kinds.join(','));
  const verdicts = await rows.evaluateAll((trs) => trs.map((tr) => tr.lastChild.textContent));
  assert.deepEqual([...new Set(verdicts)], ['ok'], 'every layer agrees with finite differences');
  assert.match(await text(page, '#gradcheck-out p'), /batch of \d+, eps [\d.e-]+: worst median relative error of a layer/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a preset sets every control to its settings; the link lists them and never names the preset', async () => {
  const { page, problems } = await openPage(browser, site.url + '#' + SMALL);
  await waitForState(page, ['ready']);
  await page.selectOption('#cfg-preset', 'mnist-browser');
  await page.waitForFunction(() => window.__lab.canonical.includes('dataset=mnist'));
  const canonical = await page.evaluate(() => window.__lab.canonical);
  assert.equal(canonical, 'v=1&dataset=mnist&train=2000&test=1000&nesterov=1&wd=0.01&clip=5&sched=cosine&lr_min=0.001&epochs=5&batch=128&eval_batch=512');
  assert.ok(!canonical.includes('preset'));
  for (const [key, value] of [['dataset', 'mnist'], ['train', '2000'], ['model', 'cnn4'], ['wd', '0.01'], ['sched', 'cosine'], ['preset', '']])
    assert.equal(await page.inputValue(`#cfg-${key}`), value, `control ${key}`);
  // a control changed after the preset overrides it
  await setControl(page, 'epochs', '3');
  assert.ok((await page.evaluate(() => window.__lab.canonical)).includes('dataset=mnist&train=2000'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('a sweep link carries the experiment and the grid; run=1 runs the sweep; a bad grid is reported and inert', async () => {
  // "Copy sweep link" writes what the link opens
  const first = await openPage(browser, site.url + '#' + SMALL);
  await waitForState(first.page, ['ready']);
  await first.page.click('#tab-sweep');
  await first.page.fill('#sweep-grid', 'loss=ce,nce+rce\nnoise=0,0.4');
  await first.page.click('#sweep-copy');
  await first.page.waitForFunction(() => window.__lab.copied); // set once the clipboard write settles
  const link = await first.page.evaluate(() => window.__lab.copied);
  assert.match(link, /&sweep=loss%3Dce%2Cnce%2Brce%3Bnoise%3D0%2C0\.4$/);
  await first.page.close();

  const fresh = await launchBrowser();
  try {
    const { page, problems } = await openPage(fresh, link + '&run=1');
    await page.waitForFunction(() => document.getElementById('sweep-status').dataset.state === 'finished', null, { timeout: 60000 });
    assert.equal(await page.inputValue('#sweep-grid'), 'loss=ce,nce+rce\nnoise=0,0.4');
    assert.equal(await page.locator('#sweep-cells tbody tr[data-state="finished"]').count(), 4);
    assert.equal(await page.evaluate(() => window.__lab.canonical), 'v=1&train=300&test=100&mult=0.25&tsne=0&opt=adam&lr=0.003&epochs=1');
    assert.deepEqual(problems, []);
    // a hostile grid: shown as text, reported by the sweep, nothing runs
    // (a new hash in the open page: opened by the hashchange handler, as a pasted link is)
    await page.goto(site.url + '#' + SMALL + '&sweep=' + encodeURIComponent('<img src=x onerror=alert(1)>;seed=<script>') + '&run=1');
    await page.waitForFunction(() => document.getElementById('notice').textContent.includes('Sweep'));
    assert.equal(await page.locator('#sweep-grid').inputValue(), '<img src=x onerror=alert(1)>\nseed=<script>');
    assert.equal(await page.locator('img[src="x"], script:not([src])').count(), 0);
    assert.deepEqual(problems, []);
    await page.close();
  } finally { await fresh.close(); }
});

test('the dataset card shows training images per class and sample images with their labels', async () => {
  const { page, problems } = await openPage(browser, site.url + '#' + SMALL);
  await waitForState(page, ['ready']);
  await page.locator('#dataset-card .histogram .hrow').nth(9).waitFor();
  assert.equal(await page.locator('#dataset-card .histogram .hrow').count(), 10);
  assert.match(await page.locator('#dataset-card .histogram').textContent(), /disc500/);
  await page.click('#dataset-card button:has-text("Show sample images")');
  await page.waitForFunction(() => window.__lab.samplesDrawn === 40);
  assert.equal(await page.locator('#samples canvas').count(), 40);
  assert.match(await page.locator('#samples .card').first().textContent(), /^#0: \w/);
  await screenshot(page, 'dataset-card');
  assert.deepEqual(problems, []);
  await page.close();
});
