// browser.mjs: test helpers that build and serve the site and drive Debian's Chromium.
//
//   const site = await startSite();          // builds build/site (a no-op when current), serves it on a free port
//   const browser = await launchBrowser();   // headless Chromium with a fresh profile
//   const { page, problems } = await openPage(browser, site.url + '#dataset=synth');
//   ...
//   await browser.close(); await site.close();
//
// Chromium is /usr/bin/chromium (Debian package chromium; override with CHROMIUM),
// driven by playwright-core: never `npx playwright install`, and no network is needed.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { buildSite, repoRoot } from '../../scripts/build-site.mjs';
import { startServer } from '../../scripts/serve.mjs';

export { repoRoot };
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function startSite() {
  const { out } = buildSite();
  return await startServer({ root: out, port: 0 });
}

// Returns { context, newPage(), close() }; close() also removes the temporary profile.
export async function launchBrowser() {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium is not at ${CHROMIUM}. Hint: sudo apt-get install chromium (or set CHROMIUM=/path/to/chrome).`);
  const profile = mkdtempSync(join(tmpdir(), 'noisylab-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1000, height: 900 },
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Opens url in a new page and collects every page error, console error and failed
// request of the page and its workers in `problems`.
export async function openPage(browser, url) {
  const page = await browser.context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // includes the console of the page's workers
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${m.worker() ? 'worker ' : ''}console.error: ${m.text()}`); });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  await page.goto(url);
  return { page, problems };
}

// waits until #status has one of the given data-state values; returns the state
export async function waitForState(page, states, timeout = 30000) {
  const handle = await page.waitForFunction(
    (s) => { const st = document.getElementById('status')?.dataset.state; return s.includes(st) && st; },
    states, { timeout, polling: 50 });
  return await handle.jsonValue();
}

const text = (page, sel) => page.locator(sel).textContent();

// presses Run and waits for the end; fails with the page's notice unless the run finished.
// Returns { result, epochs, times } of window.__lab.
export async function runAndWait(page, timeout = 30000) {
  await waitForState(page, ['ready', 'finished', 'stopped', 'diverged']); // idle
  await page.click('#run');
  await waitForState(page, ['running', 'finished', 'error', 'invalid']); // this run, not the last one
  const state = await waitForState(page, ['finished', 'diverged', 'stopped', 'error', 'invalid'], timeout);
  if (state !== 'finished') throw new Error(`run ended '${state}': ${await text(page, '#notice')}`);
  return await page.evaluate(() => ({ result: window.__lab.result, epochs: window.__lab.epochs, times: window.__lab.times }));
}

// sets the control of a config key (not to its default) and waits until the config has it
export async function setControl(page, key, value) {
  const c = page.locator(`#cfg-${key}`);
  if (await c.evaluate((e) => e.tagName) === 'SELECT') await c.selectOption(value);
  else { await c.fill(value); await c.dispatchEvent('change'); }
  await page.waitForFunction(([k, v]) => window.__lab.canonical?.split('&').includes(`${k}=${v}`), [key, value]);
}

export const storedRuns = (page) => page.evaluate(() => window.__lab.storedRuns());

export async function screenshot(page, name) {
  const dir = join(repoRoot, 'build', 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
