// smoke.test.mjs: the lab trains in a Web Worker in headless Chromium, keeps its runs in
// IndexedDB, and a share link reproduces the CLI's numbers bit for bit.
//
//   node --test --test-concurrency=1 tests/browser/
//
// Needs build/wasm/*.wasm (make wasm) and /usr/bin/chromium; builds build/site itself
// (a copy, no bundler), serves it on a free port and needs no network.
// Leaves screenshots in build/screenshots/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSite } from '../../scripts/build-site.mjs';
import { startServer } from '../../scripts/serve.mjs';
import { launchBrowser, openPage, repoRoot, runAndWait, screenshot, setControl, startSite, storedRuns, waitForState } from './browser.mjs';

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

test('the default experiment trains one epoch, draws its curves and is kept in IndexedDB', async (t) => {
  const { page, problems } = await openPage(browser, site.url);
  await waitForState(page, ['ready']);
  assert.match(await text(page, '#engine'), /^WASM SIMD \(wasm-simd128\)$/);
  assert.match(await page.inputValue('#config'), /^v=1&.*dataset|^v=1&train=/);
  // the controls come from the schema: one per key, with its help text
  assert.equal(await page.inputValue('#cfg-dataset'), 'synth');
  assert.match(await page.locator('.field[data-key="lr"] small').textContent(), /learning rate\. number 0 to 100; default 0\.01/);
  assert.match(await text(page, '#loss-text'), /Active-passive loss/);
  await page.waitForFunction(() => /5,000 train · 1,000 test/.test(document.getElementById('dataset-card').textContent));
  // no link was opened: no notice
  assert.equal(await page.locator('#notice').isVisible(), false);

  await setControl(page, 'epochs', '1');
  assert.match(new URL(page.url()).hash, /epochs=1\b/, 'the hash follows the controls');
  const points = () => page.evaluate(() => window.__lab.curvePoints());
  assert.equal(await points(), 0);
  const { result, epochs } = await runAndWait(page);
  assert.equal(result.status, 'finished');
  assert.equal(result.engine, 'wasm-simd');
  assert.equal(result.epochs.length, 1);
  assert.deepEqual(epochs, result.epochs, 'the per-epoch messages match the result');
  assert.ok(result.last_test_acc > 0.15, `test accuracy ${result.last_test_acc} is not above chance`);
  assert.ok(await points() >= 4, 'the curves gained points');
  assert.equal(await page.locator('#epochs tbody tr').count(), 1);
  assert.match(await text(page, '#progress-text'), /epoch 1\/1 · step (\d+)\/\1 · \d+ img\/s/);
  assert.equal(await page.locator('#results').isVisible(), true);
  await page.waitForFunction(() => window.__lab.galleryDrawn > 0);
  // the default has 20% label noise: relabelled training images are drawn from the training shard
  await page.waitForFunction(() => window.__lab.relabelledDrawn > 0);
  assert.equal(await page.locator('#relabelled canvas').count(), Math.min(15, result.relabelled.length));
  assert.equal(await page.locator('#metrics tbody tr').count(), 11); // 10 classes and the macro mean

  // in IndexedDB, finished, with its epochs and result
  const runs = await storedRuns(page);
  const runId = await page.evaluate(() => window.__lab.runId);
  const rec = runs.find((r) => r.id === runId);
  assert.ok(rec, 'the run is stored');
  assert.equal(rec.status, 'finished');
  assert.equal(rec.epochs.length, 1);
  assert.equal(rec.result.last_test_acc, result.last_test_acc);
  assert.equal(rec.config, result.config);
  // Copy link: the page's address with the canonical config (the clipboard may be refused headless)
  await page.click('#copy-link');
  await page.waitForFunction(() => window.__lab.copied);
  assert.equal(await page.evaluate(() => window.__lab.copied), site.url + '#' + result.config);
  // a chart as PNG
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('button[data-png="curves"]')]);
  assert.equal(png.suggestedFilename(), 'curves.png');
  assert.deepEqual([...readFileSync(await png.path()).subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  await screenshot(page, 'run');
  await page.locator('#results').screenshot({ path: join(repoRoot, 'build', 'screenshots', 'results.png') });

  // reload: the history shows it
  await page.reload();
  await waitForState(page, ['ready']);
  assert.equal(await page.inputValue('#config'), result.config, 'the reload keeps the experiment');
  assert.equal(await page.locator('#notice').isVisible(), false, 'a reload is not greeted as a shared link');
  await page.click('#tab-history');
  const row = page.locator(`#history tr[data-id="${rec.id}"]`);
  await row.waitFor();
  assert.equal(await row.locator('td.status').textContent(), 'finished');
  await screenshot(page, 'history');
  // Open shows it again: curves and end-of-run views
  await row.locator('button', { hasText: 'Open' }).click();
  await page.locator('#results').waitFor();
  assert.ok(await points() >= 4);
  assert.equal(await page.locator('#epochs tbody tr').count(), 1);
  await page.waitForFunction(() => window.__lab.galleryDrawn > 0);
  t.diagnostic(`slow pieces of work on the main thread: ${JSON.stringify(await page.evaluate(() => window.__lab.slow || []))}`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a share link restores every control and gives the CLI\'s metrics bit for bit', async () => {
  // small, but exercises the val split, augmentation, dropout, label noise and Adam streams
  const config = 'dataset=synth&train=512&test=256&val=64&epochs=2&model=cnn4&mult=0.25&batch=32' +
    '&opt=adam&lr=0.003&aug=crop+flip&dropout=0.1&noise=0.3&noise_type=pair&loss=sce&tsne=64&seed=7';
  const cli = JSON.parse(execFileSync(process.execPath, [join(repoRoot, 'bin', 'noisylab.js'), 'train', config, '--json'],
    { encoding: 'utf8', env: { ...process.env, NODE_PATH: '/usr/share/nodejs' } }));
  assert.equal(cli.engine, 'wasm-simd');

  // a fresh browser profile: nothing stored, nothing cached
  const fresh = await launchBrowser();
  try {
    // run=1: it runs as soon as the core is loaded
    const { page, problems } = await openPage(fresh, site.url + '#' + config + '&run=1');
    await page.waitForFunction(() => window.__lab.booted);
    assert.equal(await page.inputValue('#config'), cli.config, 'the link is shown in its canonical form');
    for (const [key, value] of [['train', '512'], ['val', '64'], ['aug', 'crop+flip'], ['noise', '0.3'], ['noise_type', 'pair'], ['loss', 'sce'], ['seed', '7'], ['opt', 'adam'], ['epochs', '2'], ['dataset', 'synth'], ['wd', '0.0005']])
      assert.equal(await page.inputValue(`#cfg-${key}`), value, `control ${key}`);
    assert.equal(await waitForState(page, ['finished', 'error', 'invalid'], 60000), 'finished');
    assert.equal(decodeURIComponent(new URL(page.url()).hash.slice(1)), cli.config, 'run=1 is not part of the config');
    const result = await page.evaluate(() => window.__lab.result);
    assert.equal(result.config, cli.config);
    // JSON floats have 9 significant digits: equal JSON means equal float bits
    for (const k of ['epochs', 'final', 'noise', 'class_counts', 'given_counts', 'embedding', 'mistakes', 'relabelled', 'best_test_acc', 'last_test_acc', 'params', 'dataset', 'loss_params'])
      assert.equal(JSON.stringify(result[k]), JSON.stringify(cli[k]), `result.${k}`);
    assert.deepEqual(problems, []);
    await page.close();
  } finally { await fresh.close(); }
});

test('the main thread stays responsive while the worker trains', async (t) => {
  const config = 'dataset=synth&model=cnn4&mult=0.25&train=2000&test=300&epochs=2&batch=32&opt=adam&lr=0.003&tsne=100';
  const { page, problems } = await openPage(browser, site.url + '#' + config);
  await waitForState(page, ['ready']);
  await page.evaluate(() => {
    const p = (window.__probe = { longtasks: [], frames: [], timers: [] });
    p.supported = PerformanceObserver.supportedEntryTypes.includes('longtask');
    if (p.supported)
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) p.longtasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask' });
    const frame = (t) => { p.frames.push(t); requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
    // a 10 ms timer: how late does the main thread run it?
    let due = performance.now() + 10;
    setInterval(() => { const now = performance.now(); p.timers.push([now, now - due]); due = now + 10; }, 10);
  });
  const { result, times } = await runAndWait(page, 60000);
  assert.equal(result.epochs.length, 2);
  const probe = await page.evaluate(() => window.__probe);
  // training only: the end-of-run views are drawn after times.end
  const seconds = (times.end - times.start) / 1000;
  assert.ok(seconds > 1, `the run took ${seconds.toFixed(2)} s: too short to say anything`);

  const inRun = (t) => t >= times.start && t <= times.end;
  const frames = probe.frames.filter(inRun);
  const gaps = frames.slice(1).map((t, i) => t - frames[i]);
  const maxGap = Math.max(...gaps);
  const lateness = probe.timers.filter(([t]) => inRun(t)).map(([, late]) => late);
  const maxLate = Math.max(...lateness);
  const long = probe.longtasks.filter((e) => inRun(e.start) || inRun(e.start + e.duration));
  const slow = await page.evaluate(() => window.__lab.slow || []);
  const summary = `${seconds.toFixed(2)} s run: ${frames.length} frames (max gap ${maxGap.toFixed(0)} ms), ` +
    `timer max late ${maxLate.toFixed(0)} ms, long tasks ${probe.supported ? JSON.stringify(long) : 'not reported'}, slow handlers ${JSON.stringify(slow)}`;
  t.diagnostic('responsiveness: ' + summary);

  // Training on the main thread would stall it for whole epochs (seconds): never allowed.
  assert.ok(frames.length >= 5 * seconds, summary);
  assert.ok(maxGap < 1000, summary);
  assert.deepEqual(problems, []);
  await page.close();
  // The strict bounds (20 frames a second, no stall of a quarter second, no task over 50 ms)
  // are wall-clock times: on a machine with more runnable processes than cores every task
  // of the page stretches, so there they are reported, not asserted.
  const load = loadavg()[0] / cpus().length;
  if (load > 1.5) return t.diagnostic(`load ${load.toFixed(1)} per core: the strict timing bounds are not checked`);
  assert.ok(frames.length >= 20 * seconds, summary);
  assert.ok(maxGap < 250, summary);
  assert.ok(maxLate < 250, summary);
  if (probe.supported) assert.deepEqual(long, [], summary);
});

test('?scalar=1 loads and trains on the scalar core', async () => {
  const { page, problems } = await openPage(browser, site.url + '?scalar=1#dataset=synth&train=256&test=128&epochs=1&model=cnn4&mult=0.25&tsne=0');
  await waitForState(page, ['ready']);
  assert.match(await text(page, '#engine'), /^WASM scalar/);
  const { result } = await runAndWait(page);
  assert.equal(result.engine, 'wasm-scalar');
  assert.equal(result.status, 'finished');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a site without the SIMD build falls back to the scalar core', async () => {
  const root = mkdtempSync(join(tmpdir(), 'noisylab-site-'));
  buildSite({ out: root });
  rmSync(join(root, 'wasm', 'noisylab-simd.wasm'));
  const server = await startServer({ root, port: 0 });
  try {
    const { page, problems } = await openPage(browser, server.url + '#dataset=synth&train=256&test=128&epochs=1&model=cnn4&mult=0.25&tsne=0');
    await waitForState(page, ['ready']);
    assert.match(await text(page, '#engine'), /^WASM scalar/);
    await page.waitForFunction(() => /SIMD core failed to load.*using the scalar core/.test(document.getElementById('notice').textContent));
    const { result } = await runAndWait(page);
    assert.equal(result.engine, 'wasm-scalar');
    // the only problem is the missing file itself
    assert.deepEqual(problems.filter((p) => !/noisylab-simd\.wasm|404/.test(p)), []);
    await page.close();
  } finally {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('Pause holds the run, Stop ends it; the UI recovers and the run is saved as stopped', async () => {
  const { page, problems } = await openPage(browser, site.url + '#dataset=synth&model=cnn4&mult=0.25&epochs=50&train=2000');
  await waitForState(page, ['ready']);
  await page.click('#run');
  await page.waitForFunction(() => /step [1-9]/.test(document.getElementById('progress-text').textContent));

  await page.click('#pause');
  assert.equal(await waitForState(page, ['paused'], 5000), 'paused');
  assert.equal(await text(page, '#pause'), 'Resume');
  const held = await text(page, '#progress-text');
  assert.match(await text(page, '#live-text'), /^this epoch so far: train loss \d+\.\d{4} · acc \d+\.\d\d% on the given labels, \d+\.\d\d% on the clean ones$/);
  await page.waitForTimeout(400);
  assert.equal(await text(page, '#progress-text'), held, 'no progress while paused');
  await page.click('#pause');
  assert.equal(await waitForState(page, ['running'], 5000), 'running');
  await page.waitForFunction((h) => document.getElementById('progress-text').textContent !== h, held);

  const t0 = Date.now();
  await page.click('#stop');
  assert.equal(await waitForState(page, ['stopped', 'finished', 'error'], 5000), 'stopped');
  assert.ok(Date.now() - t0 < 2000, `Stop took ${Date.now() - t0} ms`);
  assert.equal(await page.evaluate(() => window.__lab.result), null);
  assert.equal(await page.locator('#run').isEnabled(), true);
  assert.equal(await page.locator('#stop').isEnabled(), false);
  assert.equal(await page.locator('#cfg-lr').isEnabled(), true, 'the controls are editable again');
  const id = await page.evaluate(() => window.__lab.runId);
  await page.waitForFunction(async (id) => (await window.__lab.storedRun(id))?.status === 'stopped', id);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a graph link (Cora GCN) trains in the page and gives the CLI\'s metrics bit for bit', async (t) => {
  const dir = join(repoRoot, 'build', 'site', 'graphs', 'cora');
  try { readFileSync(join(dir, 'ind.cora.graph')); } catch { return t.skip('Cora is not on the site (no ../shared/datasets/cora)'); }
  const config = 'dataset=cora&model=gcn&opt=adam&lr=0.01&wd=0.0005&dropout=0.5&hidden=16&epochs=50&noise=0.2&tsne=0&seed=3';
  const cli = JSON.parse(execFileSync(process.execPath, [join(repoRoot, 'bin', 'noisylab.js'), 'train', config, '--json'],
    { encoding: 'utf8', env: { ...process.env, NODE_PATH: '/usr/share/nodejs' } }));
  const { page, problems } = await openPage(browser, site.url + '#' + config + '&run=1');
  assert.equal(await waitForState(page, ['finished', 'error', 'invalid'], 60000), 'finished');
  const result = await page.evaluate(() => window.__lab.result);
  assert.equal(result.config, cli.config);
  for (const k of ['epochs', 'final', 'noise', 'best_test_acc', 'last_test_acc', 'params'])
    assert.equal(JSON.stringify(result[k]), JSON.stringify(cli[k]), `result.${k}`);
  assert.ok(cli.last_test_acc > 0.5, `Cora GCN learns in 50 epochs with 20% noise (test acc ${cli.last_test_acc})`);
  assert.deepEqual(problems, []);
  await page.close();
});
