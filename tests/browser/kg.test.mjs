// kg.test.mjs: a knowledge graph trains in the page (R-GCN on AIFB, whose files the training
// worker fetches from graphs/aifb/) and gives the CLI's metrics bit for bit; the views name the
// classes by their IRIs' local names, with the full IRI as the title; the dataset card shows the
// graph's counts (the EDA of the graph worker), not "not prepared". Cora GCN is in smoke.test.mjs.
//
//   node --test --test-concurrency=1 tests/browser/kg.test.mjs
//
// Needs build/wasm/*.wasm, /usr/bin/chromium and aifb in ../shared/datasets (or
// $NOISYLAB_DATA_DIR); without aifb the test is skipped with that message. Leaves
// build/screenshots/graph-kg-train.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, openPage, repoRoot, runAndWait, screenshot, startSite, waitForState } from './browser.mjs';

const source = process.env.NOISYLAB_DATA_DIR || join(repoRoot, '..', 'shared', 'datasets');
const skip = existsSync(join(source, 'aifb', 'aifb_stripped.nt.gz')) ? false : `aifb is absent from ${source}: KG training test skipped`;
let site, browser;

before(async () => {
  if (skip) return;
  site = await startSite();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
});

test('AIFB R-GCN trains in the page: the CLI\'s metrics bit for bit, classes named readably', { skip }, async () => {
  const config = 'preset=aifb-rgcn&epochs=5&seed=1';
  const cli = JSON.parse(execFileSync(process.execPath, [join(repoRoot, 'bin', 'noisylab.js'), 'train', config, '--json'],
    { encoding: 'utf8', env: { ...process.env, NODE_PATH: '/usr/share/nodejs' } }));
  const iri = 'http://www.aifb.uni-karlsruhe.de/Forschungsgruppen/viewForschungsgruppeOWL/id1instance';
  assert.equal(cli.class_names[0], iri);

  const { page, problems } = await openPage(browser, site.url + '#' + config);
  await waitForState(page, ['ready']);
  // the dataset card: the graph's counts from the EDA, not "not prepared on this site"
  await page.waitForFunction(() => window.__lab.cardGraph === 'aifb', null, { timeout: 30000 });
  const card = await page.locator('#dataset-card').textContent();
  assert.doesNotMatch(card, /not prepared/);
  assert.match(card, /nodes8,285 \(IRI/);
  assert.match(card, /labelled140 training · 36 test/);
  assert.match(card, /classesid1instance \(58\), id2instance \(22\)/);
  assert.equal(await page.locator('#dataset-card .hrow').count(), 4, 'training nodes per class, one bar each');
  assert.equal(await page.locator('#dataset-card .hrow').first().getAttribute('title'), iri);

  const { result, epochs } = await runAndWait(page, 120000);
  assert.equal(result.config, cli.config);
  // JSON floats have 9 significant digits: equal JSON means equal float bits
  for (const k of ['epochs', 'final', 'noise', 'class_counts', 'embedding', 'mistakes', 'relabelled', 'best_test_acc', 'last_test_acc', 'params', 'dataset', 'class_names'])
    assert.equal(JSON.stringify(result[k]), JSON.stringify(cli[k]), `result.${k}`);
  // the curves gained a point per epoch, the table a row
  assert.equal(epochs.length, 5);
  assert.equal(await page.locator('#epochs tbody tr').count(), 5);
  assert.equal(await page.evaluate(() => window.Chart.getChart('curves').data.datasets[0].data.length), 5);

  // the end-of-run views: local names of the IRIs, the full IRI as the title
  await page.waitForFunction(() => window.__lab.rendered, null, { timeout: 30000 });
  const short = ['id1instance', 'id2instance', 'id3instance', 'id4instance'];
  assert.deepEqual(await page.evaluate(() => window.Chart.getChart('per-class').data.labels), short);
  assert.deepEqual(await page.evaluate(() => window.Chart.getChart('tsne').data.datasets.map((d) => d.label)), short);
  assert.deepEqual(await page.locator('#metrics tbody tr td:first-child').allTextContents(), [...short, 'macro mean']);
  assert.equal(await page.locator('#metrics tbody tr td:first-child').first().getAttribute('title'), iri);
  assert.match(await page.locator('#tsne-note').textContent(), /^36 test nodes/);
  const mistakes = await page.locator('#gallery figure').allTextContents();
  assert.equal(mistakes.length, Math.min(30, cli.mistakes.length));
  for (const m of mistakes) assert.doesNotMatch(m, /http:/, 'a mistake card shows local names');
  if (mistakes.length) assert.match(await page.locator('#gallery figure').first().getAttribute('title'), /label http:\/\/www\.aifb/);
  assert.equal(await page.locator('#gallery canvas').count(), 0, 'graph nodes have no pixels');
  await screenshot(page, 'graph-kg-train');
  assert.deepEqual(problems, []);
  await page.close();
});
