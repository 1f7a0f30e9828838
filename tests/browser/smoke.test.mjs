// smoke.test.mjs: the web page loads the core in a Web Worker and trains, in headless Chromium.
//
//   node --test tests/browser/
//
// Needs build/wasm/*.wasm (make wasm) and /usr/bin/chromium; builds build/site itself
// (a copy, no bundler), serves it on a free port and needs no network.
// Leaves a screenshot of a finished run in build/screenshots/smoke.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEngine } from '../../wasm/noisylab.js';
import { buildSite } from '../../scripts/build-site.mjs';
import { startServer } from '../../scripts/serve.mjs';
import { launchBrowser, openPage, repoRoot, startSite, waitForState } from './browser.mjs';

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

async function runAndWait(page, timeout = 30000) {
  await waitForState(page, ['ready']);
  await page.click('#run');
  const state = await waitForState(page, ['finished', 'diverged', 'stopped', 'error', 'invalid'], timeout);
  if (state !== 'finished') assert.fail(`run ended '${state}': ${await text(page, '#notice')}`);
  return await page.evaluate(() => ({ result: window.__lastResult, epochs: window.__lastEpochs, times: window.__runTimes }));
}

test('the default experiment trains one epoch in a module Worker', async () => {
  const { page, problems } = await openPage(browser, site.url);
  await waitForState(page, ['ready']);
  assert.equal(await text(page, '#engine'), 'wasm-simd');
  assert.equal(await text(page, '#isa'), 'wasm-simd128');
  const config = await page.inputValue('#config');
  assert.match(config, /dataset=synth/);
  assert.match(config, /epochs=1\b/);

  const { result, epochs } = await runAndWait(page);
  assert.equal(result.status, 'finished');
  assert.equal(result.engine, 'wasm-simd');
  assert.equal(result.dataset.name, 'synth');
  assert.equal(result.epochs.length, 1);
  assert.deepEqual(epochs, result.epochs, 'the per-epoch messages match the result');
  // 10 balanced classes: chance is 10%
  assert.ok(result.last_test_acc > 0.15, `test accuracy ${result.last_test_acc} is not above chance`);
  assert.ok(result.img_per_s > 0);

  // what the user sees
  assert.equal(await page.locator('#epochs tbody tr').count(), 1);
  assert.match(await text(page, '#progress-text'), /epoch 1\/1 · step (\d+)\/\1 · \d+ img\/s/);
  assert.equal(await page.locator('#bar').evaluate((b) => b.value), 1);
  assert.equal(JSON.parse(await text(page, '#result')).last_test_acc, result.last_test_acc);
  assert.equal(await page.locator('#notice').isVisible(), false);
  // the hash now holds the run's config: the link reproduces it
  assert.equal(decodeURIComponent(new URL(page.url()).hash.slice(1)), result.config);

  const dir = join(repoRoot, 'build', 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, 'smoke.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('Node and Chromium give bit-identical metrics for the same config', async () => {
  // small, but exercises the val split, augmentation, dropout and Adam streams
  const config = 'dataset=synth&train=512&test=256&val=64&epochs=2&model=cnn4&mult=0.25&batch=32' +
    '&opt=adam&lr=0.003&aug=crop+flip&dropout=0.1&seed=7';

  // the very bytes the page fetches (build/wasm may be rebuilt while the tests run)
  const nl = await loadEngine({ wasmBinary: readFileSync(join(site.root, 'wasm', 'noisylab-simd.wasm')) });
  assert.equal(nl.engine, 'wasm-simd');
  const run = nl.newRun(config);
  let node;
  try {
    run.start();
    while (!run.finished) run.step(50);
    node = run.result();
  } finally { run.free(); }
  assert.equal(node.status, 'finished');
  assert.equal(node.epochs.length, 2);

  const { page, problems } = await openPage(browser, site.url + '#' + config);
  assert.equal(await page.inputValue('#config'), config);
  const { result, epochs } = await runAndWait(page);
  assert.equal(result.engine, 'wasm-simd');
  assert.equal(result.config, node.config);
  assert.equal(result.params, node.params);
  // JSON floats have 9 significant digits: equal JSON means equal float bits
  assert.equal(JSON.stringify(result.epochs), JSON.stringify(node.epochs));
  assert.equal(JSON.stringify(epochs), JSON.stringify(node.epochs));
  assert.ok('val_acc' in result.epochs[0]);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a bad config shows a notice naming the key, and the page keeps working', async () => {
  const { page, problems } = await openPage(browser, site.url + '#dataset=synth&foo=1&epochs=1');
  assert.equal(await waitForState(page, ['invalid', 'ready']), 'invalid');
  const notice = page.locator('#notice');
  assert.ok(await notice.isVisible());
  assert.match(await notice.textContent(), /unknown config key 'foo'.*Hint:/);

  // Run anyway: the worker refuses it with the same message; nothing crashes
  await page.click('#run');
  assert.equal(await waitForState(page, ['invalid', 'error', 'finished']), 'invalid');
  assert.match(await notice.textContent(), /'foo'/);

  // a bad value through the hash
  await page.evaluate(() => { location.hash = 'dataset=synth&lr=abc'; });
  await page.waitForFunction(() => /'lr'/.test(document.getElementById('notice').textContent));
  assert.match(await notice.textContent(), /config key 'lr': 'abc' is not a number/);
  assert.equal(await page.getAttribute('#status', 'data-state'), 'invalid');

  // typing a good config clears the notice
  await page.fill('#config', 'dataset=synth&epochs=1&train=256&test=128');
  assert.equal(await waitForState(page, ['ready']), 'ready');
  assert.equal(await notice.isVisible(), false);
  assert.equal(await page.locator('#run').isEnabled(), true);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the main thread stays responsive while the worker trains', async (t) => {
  const config = 'dataset=synth&model=cnn4&mult=0.25&train=2000&test=500&epochs=2&batch=32&opt=adam&lr=0.003';
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
  const { result, times } = await runAndWait(page);
  assert.equal(result.epochs.length, 2);
  const probe = await page.evaluate(() => window.__probe);
  const seconds = (times.end - times.start) / 1000;
  assert.ok(seconds > 1, `the run took ${seconds.toFixed(2)} s: too short to say anything`);

  const inRun = (t) => t >= times.start && t <= times.end;
  const frames = probe.frames.filter(inRun);
  const gaps = frames.slice(1).map((t, i) => t - frames[i]);
  const maxGap = Math.max(...gaps);
  const lateness = probe.timers.filter(([t]) => inRun(t)).map(([, late]) => late);
  const maxLate = Math.max(...lateness);
  const long = probe.longtasks.filter((e) => inRun(e.start) || inRun(e.start + e.duration));
  const summary = `${seconds.toFixed(2)} s run: ${frames.length} frames (max gap ${maxGap.toFixed(0)} ms), ` +
    `timer max late ${maxLate.toFixed(0)} ms, long tasks ${probe.supported ? JSON.stringify(long) : 'not reported'}`;
  t.diagnostic('responsiveness: ' + summary);

  // the page keeps painting: at least 20 frames a second, no stall of a quarter second
  assert.ok(frames.length >= 20 * seconds, summary);
  assert.ok(maxGap < 250, summary);
  assert.ok(maxLate < 250, summary);
  // no task on the main thread over 50 ms while training
  if (probe.supported) assert.deepEqual(long, [], summary);
  assert.deepEqual(problems, []);
  await page.close();
});

test('?scalar=1 loads and trains on the scalar core', async () => {
  const { page, problems } = await openPage(browser, site.url + '?scalar=1#dataset=synth&train=256&test=128&epochs=1&model=cnn4&mult=0.25');
  await waitForState(page, ['ready']);
  assert.equal(await text(page, '#engine'), 'wasm-scalar');
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
    const { page, problems } = await openPage(browser, server.url + '#dataset=synth&train=256&test=128&epochs=1&model=cnn4&mult=0.25');
    await waitForState(page, ['ready']);
    assert.equal(await text(page, '#engine'), 'wasm-scalar');
    assert.match(await text(page, '#notice'), /SIMD core failed to load.*using the scalar core/);
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

test('Stop cancels a run between chunks', async () => {
  const { page, problems } = await openPage(browser, site.url + '#dataset=synth&model=cnn4&mult=0.25&epochs=50');
  await waitForState(page, ['ready']);
  await page.click('#run');
  await page.waitForFunction(() => /step [1-9]/.test(document.getElementById('progress-text').textContent));
  const t0 = Date.now();
  await page.click('#stop');
  assert.equal(await waitForState(page, ['stopped', 'finished', 'error'], 5000), 'stopped');
  assert.ok(Date.now() - t0 < 2000, `Stop took ${Date.now() - t0} ms`);
  assert.equal(await page.evaluate(() => window.__lastResult), null);
  assert.equal(await page.locator('#run').isEnabled(), true);
  assert.deepEqual(problems, []);
  await page.close();
});
