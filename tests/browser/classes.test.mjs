// classes.test.mjs: the class subset (config key classes) in the page, in headless Chromium.
//
//   node --test tests/browser/classes.test.mjs
//
// A link with classes= ticks its boxes (named by the dataset's classes) and trains a run
// with k outputs, bit for bit as the CLI; ticking boxes writes the link. Screenshots go to
// build/screenshots/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, openPage, repoRoot, screenshot, startSite, waitForState } from './browser.mjs';

let site, browser;

before(async () => {
  site = await startSite();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
});

const boxes = (page) => page.locator('.field[data-key="classes"] .class-box').evaluateAll((labels) =>
  labels.map((l) => ({ name: l.textContent.trim(), id: l.querySelector('input').value, checked: l.querySelector('input').checked })));

test('a link with classes= ticks its boxes and trains k outputs, bit for bit as the CLI', async () => {
  const config = 'dataset=synth&classes=9,0,4&train=300&test=90&epochs=2&model=cnn4&mult=0.25&opt=adam&lr=0.003&noise=0.2&tsne=0';
  const cli = JSON.parse(execFileSync(process.execPath, [join(repoRoot, 'bin', 'noisylab.js'), 'train', config, '--json'], { encoding: 'utf8' }));
  const { page, problems } = await openPage(browser, site.url + '#' + config);
  await waitForState(page, ['ready']);
  assert.equal(await page.inputValue('#cfg-classes'), '9,0,4', 'the listed order is kept');
  await page.waitForFunction(() => document.querySelector('.class-box')?.textContent.includes('disc'));
  const b = await boxes(page);
  assert.equal(b.length, 10);
  assert.deepEqual(b.filter((x) => x.checked).map((x) => x.name), ['disc', 'ring', 'dots']);
  await page.waitForFunction(() => /kept classes/.test(document.getElementById('dataset-card').textContent));
  assert.match(await page.locator('#dataset-card').textContent(), /kept classesdots \(class 9 → label 0\), disc \(class 0 → label 1\), ring \(class 4 → label 2\)/);
  await page.locator('.field[data-key="classes"]').screenshot({ path: join(repoRoot, 'build', 'screenshots', 'classes-control.png') });

  await page.click('#run');
  assert.equal(await waitForState(page, ['finished', 'error', 'invalid'], 60000), 'finished', await page.locator('#notice').textContent());
  const result = await page.evaluate(() => window.__lab.result);
  assert.equal(result.config, cli.config);
  assert.deepEqual(result.class_names, ['dots', 'disc', 'ring']);
  assert.equal(result.dataset.classes, 3);
  assert.equal(result.final.confusion.length, 3, 'k outputs: a 3 x 3 confusion matrix');
  for (const k of ['epochs', 'final', 'noise', 'class_counts', 'class_names', 'class_ids'])
    assert.equal(JSON.stringify(result[k]), JSON.stringify(cli[k]), `result.${k}`);
  await page.waitForFunction(() => window.__lab.rendered);
  const rows = await page.locator('#metrics tbody tr td:first-child').allTextContents();
  assert.deepEqual(rows, ['dots', 'disc', 'ring', 'macro mean']);
  await screenshot(page, 'classes-run');

  // ticking a box writes the ticked classes in ascending order; all ticked is classes=all
  await page.locator('.class-box input[value="1"]').check();
  await page.waitForFunction(() => window.__lab.canonical.includes('classes=0,1,4,9'));
  assert.match(decodeURIComponent(new URL(page.url()).hash), /classes=0,1,4,9/);
  for (const i of [2, 3, 5, 6, 7, 8]) await page.locator(`.class-box input[value="${i}"]`).check();
  await page.waitForFunction(() => !window.__lab.canonical.includes('classes='));
  assert.equal(await page.inputValue('#cfg-classes'), 'all');
  // one class is refused by the core, naming the key
  await page.fill('#cfg-classes', '3');
  await page.locator('#cfg-classes').dispatchEvent('change');
  await page.waitForFunction(() => document.getElementById('notice').dataset.key === 'classes');
  assert.match(await page.locator('#notice').textContent(), /config key 'classes': '3' keeps 1 class/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('Fashion-MNIST classes=0,9 shows T-shirt/top and Ankle boot', async (t) => {
  const manifest = JSON.parse(readFileSync(join(site.root, 'datasets', 'manifest.json'), 'utf8'));
  if (!manifest.datasets.some((d) => d.name === 'fashion-mnist' && d.available)) return t.skip('fashion-mnist is not prepared');
  const config = 'dataset=fashion-mnist&classes=0,9&train=400&test=200&epochs=1&model=linear&tsne=0';
  const { page, problems } = await openPage(browser, site.url + '#' + config + '&run=1');
  assert.equal(await waitForState(page, ['finished', 'error', 'invalid'], 90000), 'finished');
  const b = await boxes(page);
  assert.deepEqual(b.filter((x) => x.checked).map((x) => x.name), ['T-shirt/top', 'Ankle boot']);
  const result = await page.evaluate(() => window.__lab.result);
  assert.deepEqual(result.class_names, ['T-shirt/top', 'Ankle boot']);
  await page.waitForFunction(() => window.__lab.rendered);
  assert.deepEqual(await page.locator('#metrics tbody tr td:first-child').allTextContents(), ['T-shirt/top', 'Ankle boot', 'macro mean']);
  await screenshot(page, 'classes-fashion-mnist');
  assert.deepEqual(problems, []);
  await page.close();
});
