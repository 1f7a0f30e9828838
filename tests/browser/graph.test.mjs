// graph.test.mjs: the "Explore graph" panel in headless Chromium. Its numbers are the CLI's
// (`noisylab eda --json`) for a graph of the site and for a graph-subset bundle picked as a
// file; a corrupt bundle is an error notice, never a broken page. The EDA runs in a Worker.
//
//   node --test --test-concurrency=1 tests/browser/graph.test.mjs
//
// Needs build/wasm/*.wasm and /usr/bin/chromium, and cora + aifb in ../shared/datasets (or
// $NOISYLAB_DATA_DIR); without them the test is skipped with that message. Leaves
// build/screenshots/graph-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, openPage, repoRoot, screenshot, startSite, waitForState } from './browser.mjs';

const source = process.env.NOISYLAB_DATA_DIR || join(repoRoot, '..', 'shared', 'datasets');
const skip = ['cora/ind.cora.graph', 'aifb/aifb_stripped.nt.gz'].every((f) => existsSync(join(source, f))) ? false
  : `cora or aifb is absent from ${source}: graph panel test skipped`;
const cli = (args) => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'noisylab.js'), ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};
let site, browser, tmp;

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(join(tmpdir(), 'noisylab-graph-'));
  site = await startSite();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const waitGraph = (page, states) => page.waitForFunction((s) => s.includes(window.__lab.graphState) && window.__lab.graphState, states, { timeout: 30000 }).then((h) => h.jsonValue());

test('Explore graph: the CLI\'s numbers for Cora, AIFB and a bundle; a corrupt bundle is a notice', { skip }, async () => {
  const { page, problems } = await openPage(browser, site.url + '#dataset=cora&model=gcn&opt=adam&epochs=5');
  await waitForState(page, ['ready']);
  assert.equal(await page.inputValue('#graph-select'), 'cora', 'the experiment\'s graph is preselected');
  await page.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(Math.round(e.duration)); }).observe({ type: 'longtask' });
  });
  await page.click('#graph-explore');
  assert.equal(await waitGraph(page, ['done', 'error']), 'done', await page.locator('#graph-status').textContent());
  assert.deepEqual(await page.evaluate(() => window.__lab.graphEda), JSON.parse(cli(['eda', 'dataset=cora', '--json'])));
  assert.match(await page.locator('#graph-facts').textContent(), /edge homophily0\.810 over 5,278 labelled pairs/);
  assert.equal(await page.locator('#graph-labels tbody tr').count(), 7);
  await screenshot(page, 'graph-cora');

  await page.selectOption('#graph-select', 'aifb');
  await page.click('#graph-explore');
  await page.waitForFunction(() => window.__lab.graphEda?.name === 'aifb' && window.__lab.graphState === 'done', null, { timeout: 30000 });
  assert.deepEqual(await page.evaluate(() => window.__lab.graphEda), JSON.parse(cli(['eda', 'dataset=aifb', '--json'])));
  assert.match(await page.locator('#graph-facts').textContent(), /edge homophilyn\/a: no edge joins two labelled nodes/);
  assert.equal(await page.locator('#graph-modalities tbody tr').count(), 5);

  // a bundle, picked as a file: the page reads it with the same core
  const bundle = join(tmp, 'aifb-2hop.nlkg');
  cli(['graph-subset', 'aifb', '--hops', '2', '--max-nodes', '3000', '--seed', '1', '--out', bundle]);
  await page.setInputFiles('#graph-bundle', bundle);
  await page.waitForFunction(() => window.__lab.graphEda?.name === 'aifb-2hop.nlkg' && window.__lab.graphState === 'done', null, { timeout: 30000 });
  assert.deepEqual(await page.evaluate(() => window.__lab.graphEda), JSON.parse(cli(['eda', bundle, '--json'])));
  const manifest = await page.evaluate(() => window.__lab.graphManifest);
  assert.deepEqual([manifest.source, manifest.hops, manifest.max_nodes, manifest.seed, manifest.nodes], ['aifb', 2, 3000, 1, 3000]);
  assert.match(await page.locator('#graph-facts').textContent(), /bundleaifb, 2 hops, at most 3,000 nodes, seed 1/);
  await screenshot(page, 'graph-bundle');

  // a bundle cut short: an error notice that says so, and the page goes on
  const cut = join(tmp, 'cut.nlkg');
  writeFileSync(cut, readFileSync(bundle).subarray(0, 5000));
  await page.setInputFiles('#graph-bundle', cut);
  assert.equal(await waitGraph(page, ['error']), 'error');
  assert.equal(await page.locator('#notice').isVisible(), true);
  assert.equal(await page.locator('#graph-out').isVisible(), false, 'the last graph\'s numbers are not left standing');
  assert.match(await page.locator('#notice').textContent(), /Explore graph: cut\.nlkg: member .* it was cut short\. Hint: make the bundle again/);
  await screenshot(page, 'graph-error');
  assert.equal(await page.locator('#status').getAttribute('data-state'), 'ready', 'the lab is still ready');
  const long = await page.evaluate(() => window.__long);
  if (long.length) console.log(`# note: long tasks on the main thread (ms): ${long.join(', ')}`);
  assert.deepEqual(problems, []);
  await page.close();
});
