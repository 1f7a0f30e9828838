// main.js: the lab's page. The main thread only renders and keeps records: the core trains
// in worker.js, which posts progress, per-epoch metrics, checkpoints and the result.
//
// The config lives in three places that always agree: the controls (form.js, built from the
// core's schema), the config string field and the URL hash, all holding the canonical
// string of nl.normalizeConfig. A small copy of the core runs on this thread for that
// (parsing is quick; training never happens here). ?scalar=1 makes runs use the scalar core.
//
// For tests: #status carries data-state (loading, ready, invalid, running, paused, stopping,
// finished, stopped, diverged, error); window.__lab has the current run's id, result,
// epochs and times.
import { loadEngine } from './wasm/noisylab.js';
import { ConfigForm, h } from './form.js';
import * as store from './store.js';
import { DATASET_NOTES } from './text.js';
import { Curves, drawImage, fmtTime, galleryCard, gradcheckTable, heatmap, metricsTable, num, pct, perClassChart, savePNG, shortName, tsneChart } from './views.js';
import { History } from './history.js';
import { Sweep } from './sweep.js';
import { GraphPanel } from './graph.js';

// The first experiment: three quick epochs of a small CNN on the built-in shapes, with 20%
// symmetric label noise and a robust loss, so every view has something to show.
export const START_CONFIG = 'dataset=synth&train=3000&test=500&model=cnn4&mult=0.25&loss=nce+rce&noise=0.2&opt=adam&lr=0.003&batch=32&epochs=3';
const MAX_HASH = 4096;          // the core's canonical config is at most 4 kB; a longer link is refused unread
// Checkpoints kept in IndexedDB, all runs together: a cap in MB the user sets on the History
// tab, kept in localStorage (default 200 MB)
const CAP_KEY = 'noisylab-checkpoint-cap-mb';
const DEFAULT_CAP_MB = 200;
const capBytes = () => {
  if (capOverride) return capOverride;
  let mb = NaN;
  try { mb = Number(localStorage.getItem(CAP_KEY)); } catch { /* storage off: the default */ }
  return (mb > 0 ? mb : DEFAULT_CAP_MB) * 2 ** 20;
};

const $ = (id) => document.getElementById(id);
const el = {
  engine: $('engine'), status: $('status'), notice: $('notice'), config: $('config'), form: $('form'),
  run: $('run'), pause: $('pause'), stop: $('stop'), copy: $('copy-link'), reset: $('reset'),
  bar: $('bar'), progressText: $('progress-text'), liveText: $('live-text'), epochs: $('epochs').tBodies[0], card: $('dataset-card'),
  results: $('results'), summary: $('summary'), gradcheck: $('gradcheck'), gradcheckOut: $('gradcheck-out'),
};

const scalar = new URLSearchParams(location.search).get('scalar') === '1';
// the config this tab last wrote to its hash, from before this load (see openLink)
const ownHash = (() => { try { return sessionStorage.getItem('noisylab-hash'); } catch { return null; } })();
const lab = (window.__lab = {
  state: 'loading', runId: null, result: null, epochs: [], times: null, engine: null, canonical: '',
  curvePoints: () => curves.points, storedRuns: () => store.allRuns(), storedRun: (id) => store.getRun(id),
  storedCheckpoint: (id) => store.getCheckpoint(id),
  storedCheckpoints: (id) => store.checkpointsOf(id),
});
let nl = null;           // the config parser: a copy of the core on this thread
let form = null;
let canonical = '';      // the current valid config
let ready = false;       // the run worker has loaded its core
let pendingRun = false;  // a link with run=1 came before the worker was ready
let pendingSweep = false; // the same for a sweep link
let manifest = null;     // datasets/manifest.json, or null when no dataset is prepared
const datasetInfo = new Map(); // name -> card facts
let record = null;       // the run being trained, as stored in IndexedDB
let saving = Promise.resolve(); // IndexedDB writes of the run, in order

// ---- status and notices ----------------------------------------------------------------

function setState(s, text) {
  lab.state = s;
  el.status.dataset.state = s;
  el.status.textContent = text || s;
  const busy = s === 'running' || s === 'paused' || s === 'stopping';
  el.run.disabled = !ready || busy || s === 'invalid' || sweep?.busy;
  el.pause.disabled = !(s === 'running' || s === 'paused');
  el.pause.textContent = s === 'paused' ? 'Resume' : 'Pause';
  el.stop.disabled = !(s === 'running' || s === 'paused');
  el.gradcheck.disabled = !ready || busy || s === 'invalid';
  // the controls stay editable during a run: they prepare the next one (the run keeps its
  // own config), and locking a hundred controls costs the page a long style recalculation
  sweep?.setLabBusy(busy || !ready);
}

// kind: error (red), warn (yellow), info (neutral); `key` names the config key it is about.
// Text only: messages can carry pieces of a link, and never become HTML.
function notice(text, kind = 'error', { key = null, action = null } = {}) {
  const t = text.length > 600 ? text.slice(0, 600) + '… (cut)' : text;
  (lab.notices ??= []).push(t); // for the tests: notices replace each other
  el.notice.replaceChildren(h('span', { textContent: t }));
  if (action) {
    const b = h('button', { type: 'button', className: 'small secondary', textContent: action.label });
    b.addEventListener('click', action.run);
    el.notice.append(' ', b);
  }
  el.notice.dataset.kind = kind;
  if (key !== null) el.notice.dataset.key = key; else delete el.notice.dataset.key;
  el.notice.hidden = false;
}
function clearNotice(kind) {
  if (kind && el.notice.dataset.kind !== kind) return;
  el.notice.hidden = true;
  el.notice.replaceChildren();
  delete el.notice.dataset.kind;
  delete el.notice.dataset.key;
}
const keyOf = (message) => /config key '([^']*)'/.exec(message)?.[1] ?? null;

// ---- the config: controls, string field, hash ---------------------------------------

// keeps an encoded '&' or '=' encoded, or the decoded string would split differently
function decodeHash(s) {
  try { return s.replace(/%(?!26|3d)[0-9a-f]{2}/gi, (m) => decodeURIComponent(m)); } catch { return s; }
}

function setCanonical(c, { hash = true } = {}) {
  const key = (x) => { const j = nl.configJSON(x); return `${j.dataset} ${j.classes}`; };
  const datasetChanged = !canonical || key(c) !== key(canonical); // the card shows both
  canonical = lab.canonical = c;
  el.config.value = c;
  if (hash && decodeHash(location.hash.slice(1)) !== c) history.replaceState(null, '', '#' + c);
  try { sessionStorage.setItem('noisylab-hash', c); } catch { /* storage off: a reload greets it as a link */ }
  form.mark(null);
  refreshForm();
  if (datasetChanged) showDatasetCard();
  if (lab.state === 'invalid') setState(ready && lab.booted ? 'ready' : 'loading', ready && lab.booted ? 'ready' : 'loading the core');
}

function refreshForm() {
  const name = nl.configJSON(canonical).dataset, info = datasetInfo.get(name);
  const classNames = info?.class_names ?? nl.classNames(name);
  form.refresh(canonical, { classes: info?.classes ?? (classNames.length || 10), classNames });
}

// from the controls or the string field: normalise with the core, or say what is wrong
function tryConfig(raw, { fromForm }) {
  try {
    const c = nl.normalizeConfig(raw);
    clearNotice('config');
    if (!fromForm) form.write(c);
    setCanonical(c);
    return true;
  } catch (e) {
    const key = keyOf(e.message);
    form.mark(key);
    notice(`Bad config: ${e.message}`, 'config', { key });
    if (!['running', 'paused', 'stopping'].includes(lab.state)) setState('invalid', 'bad config');
    return false;
  }
}

// A link: the hash. Bad links change nothing but the notice.
function openLink() {
  let raw = location.hash.slice(1);
  if (!raw.trim()) return false;
  if (raw.length > MAX_HASH) {
    notice(`This link was not applied: its config is ${(raw.length / 1024).toFixed(0)} kB long, and a config is at most ${MAX_HASH / 1024} kB. ` +
      'Nothing was changed. Hint: ask for a fresh link with the "Copy link" button.', 'config', { key: '' });
    return false;
  }
  raw = decodeHash(raw);
  const parts = raw.split('&');
  const runNow = parts.includes('run=1');
  // a sweep link: the experiment, then sweep=<the grid's lines joined by ';', encoded>
  const sweepItem = parts.find((p) => p.startsWith('sweep='));
  raw = parts.filter((p) => p !== 'run=1' && p !== sweepItem).join('&');
  let c;
  try {
    c = nl.normalizeConfig(raw);
  } catch (e) {
    const key = keyOf(e.message) ?? /key '([^']*)'/.exec(e.message)?.[1] ?? '';
    notice(`This link was not applied: ${e.message} Nothing was changed.`, 'config', { key });
    form.mark(key);
    return false;
  }
  const own = c === ownHash; // a reload of this tab opens the hash it wrote itself: no shared link
  form.write(c);
  setCanonical(c);
  if (sweepItem) return openSweepLink(sweepItem.slice(6), runNow);
  if (runNow) {
    if (ready) startRun(); else pendingRun = true;
  } else {
    if (!own) notice('Opened a shared experiment: every control is set from the link.', 'info', { action: { label: 'Run it', run: () => startRun() } });
  }
  return true;
}

// The grid goes into the Sweep tab as text (never HTML); the sweep checks it line by line
// and names a bad key or value, as it does for a typed grid.
function openSweepLink(encoded, runNow) {
  let lines;
  try { lines = decodeURIComponent(encoded).split(';'); } catch { lines = null; }
  if (!lines) {
    notice('This sweep link was not applied: its grid is not valid %-encoding. The experiment was set from the link. Hint: ask for a fresh link with "Copy sweep link".', 'config', { key: 'sweep' });
    return false;
  }
  $('sweep-grid').value = lines.map((l) => l.trim()).filter(Boolean).join('\n');
  tabs.show('sweep');
  const cells = sweep.plan(false);
  if (!cells) return false; // the sweep's own notice names the bad line
  if (runNow) {
    if (ready) sweep.start(); else pendingSweep = true;
  } else notice(`Opened a shared sweep of ${cells.length} cells: the experiment and the grid are set from the link.`, 'info', { action: { label: 'Run sweep', run: () => sweep.start() } });
  return true;
}

// the link of the experiment and the grid, as openSweepLink reads it
const sweepLink = () => location.href.split('#')[0] + '#' + canonical + '&sweep=' +
  encodeURIComponent($('sweep-grid').value.split('\n').map((l) => l.trim()).filter(Boolean).join(';'));

window.addEventListener('hashchange', () => {
  if (['running', 'paused', 'stopping'].includes(lab.state)) return;
  if (decodeHash(location.hash.slice(1)) === canonical) return;
  openLink();
});

// ---- the dataset card -------------------------------------------------------------

async function loadManifest() {
  try {
    const res = await fetch('datasets/manifest.json');
    manifest = res.ok ? await res.json() : null;
  } catch { manifest = null; }
  for (const d of manifest?.datasets ?? []) if (d.available) datasetInfo.set(d.name, d);
}

let cardFor = '', cardSeq = 0;
function showDatasetCard() {
  const name = nl.configJSON(canonical).dataset;
  cardFor = name;
  cardSeq++;
  graphPanel.setDataset(name);
  const d = datasetInfo.get(name);
  if (!d && name === 'synth' && ready) worker.postMessage({ type: 'dataset', id: 'card', dataset: 'synth' });
  const cfg = nl.configJSON(canonical);
  const rows = [];
  const fmt = (n) => Number(n).toLocaleString('en');
  if (d) {
    rows.push(['images', `${fmt(d.train)} train · ${fmt(d.test)} test · ${d.shape.join('×')}`]);
    rows.push(['this run uses', `${cfg.train ? fmt(Math.min(cfg.train, d.train)) : 'all'} train${cfg.val ? ` (${fmt(cfg.val)} held out for validation)` : ''} · ${cfg.test ? fmt(Math.min(cfg.test, d.test)) : 'all'} test`]);
    rows.push(['classes', (d.class_names || []).map((n, i) => `${n} (${fmt(d.class_counts?.train?.[i] ?? '?')})`).join(', ')]);
    if (cfg.classes !== 'all') {
      const ids = String(cfg.classes).split(',').map(Number);
      rows.push(['kept classes', `${ids.map((i, j) => `${d.class_names?.[i] ?? i} (class ${i} → label ${j})`).join(', ')}; ` +
        `train and test count only these (${fmt(ids.reduce((a, i) => a + (d.class_counts?.train?.[i] ?? 0), 0))} training images)`]);
    }
    if (d.source) rows.push(['source', d.source.description], ['cite', d.source.citation], ['license', d.source.license]);
    if (d.shards) rows.push(['download', `${((d.shards.train.bytes + d.shards.test.bytes) / 2 ** 20).toFixed(1)} MB on first use, then cached in this browser`]);
  } else if (graphPanel.has(name)) {
    graphCard(name, rows);
  } else if (GRAPHS.includes(name)) {
    rows.push(['not here', `the graph '${name}' is not on this site. Hint: put its files in ../shared/datasets/${name}/ (or $NOISYLAB_DATA_DIR) and rebuild the site with npm start.`]);
  } else if (name !== 'synth') {
    rows.push(['not here', `'${name}' is not prepared on this site. Hint: run \`npm run prepare-data\` and rebuild the site, or pick synth.`]);
  }
  const dl = h('dl', { className: 'facts' });
  for (const [k, v] of rows) dl.append(h('dt', { textContent: k }), h('dd', { textContent: v }));
  el.card.replaceChildren(h('h2', { textContent: `Dataset: ${name}` }), h('p', { className: 'explain', textContent: DATASET_NOTES[name] || '' }), dl);
  const counts = d?.class_counts?.train;
  const kept = cfg.classes === 'all' ? null : new Set(String(cfg.classes).split(',').map(Number));
  if (counts) el.card.append(classHistogram(counts, d.class_names || [], kept));
  if (d?.shape && !d.nodes) {
    // sample images come from the training shard: a download for a dataset not yet cached
    const grid = h('div', { className: 'samples', id: 'samples' });
    const size = d.shards ? ` (loads the ${(d.shards.train.bytes / 2 ** 20).toFixed(1)} MB training shard once)` : '';
    const button = h('button', { type: 'button', className: 'secondary', textContent: `Show sample images${size}` });
    button.addEventListener('click', () => {
      button.disabled = true;
      samplesFor = { id: `samples-${name}-${Date.now()}`, name, grid, classNames: d.class_names || [] };
      worker.postMessage({ type: 'images', id: samplesFor.id, split: 0, dataset: name, idx: Array.from({ length: 40 }, (_, i) => i) });
    });
    el.card.append(button, grid);
  }
}

// A graph of the site: its files are fetched on the first run; its counts come from the EDA
// of the graph worker (the numbers of `npx noisylab eda`), filled in when it answers.
const GRAPHS = ['cora', 'citeseer', 'pubmed', 'aifb', 'mutag', 'aifb-kgbench', 'mmlkg-synthetic'];
function graphCard(name, rows) {
  const entry = graphPanel.entry(name);
  rows.push(['graph', `${entry.format === 'planetoid' ? 'citation graph (Planetoid files)' : `knowledge graph (${entry.format} files)`}, fetched from graphs/${name}/ on the first run`]);
  rows.push(['counts', 'computing the statistics in the graph worker…']);
  lab.cardGraph = null;
  const seq = cardSeq; // this card, not one drawn since
  graphPanel.summary(name).then((e) => {
    if (seq !== cardSeq) return;
    const dl = el.card.querySelector('dl.facts');
    const kg = e.kind === 'kg';
    const sum = (a) => a.reduce((x, y) => x + y, 0);
    const split = ['training', 'validation', 'test'].filter((sp) => e.labels[sp].some((x) => x))
      .map((sp) => `${Number(sum(e.labels[sp])).toLocaleString('en')} ${sp}`).join(' · ');
    const facts = [
      ['nodes', `${e.nodes.toLocaleString('en')}${kg ? ` (IRI ${e.node_kinds.iri.toLocaleString('en')} · blank ${e.node_kinds.blank.toLocaleString('en')} · literal ${e.node_kinds.literal.toLocaleString('en')})` : `, ${e.features.toLocaleString('en')} features each`}`],
      ['edges', `${e.edges.toLocaleString('en')} ${kg ? `triples over ${e.relations} relations` : 'undirected'}`],
      ['labelled', `${split} (${e.labels.labelled.toLocaleString('en')} of ${e.nodes.toLocaleString('en')} nodes)`],
      ['classes', e.classes.map((c, i) => `${shortName(c)} (${e.labels.training[i]})`).join(', ')],
    ];
    const counts = dl.querySelectorAll('dd');
    const at = [...dl.querySelectorAll('dt')].findIndex((dt) => dt.textContent === 'counts');
    const nodes = facts.flatMap(([k, v]) => [h('dt', { textContent: k }), h('dd', { textContent: v })]);
    if (at >= 0) { dl.children[2 * at].replaceWith(...nodes.slice(0, 2)); counts[at].replaceWith(...nodes.slice(2)); } else dl.append(...nodes);
    const hist = classHistogram(e.labels.training, e.classes.map(shortName));
    hist.setAttribute('aria-label', 'training nodes per class');
    [...hist.children].forEach((row, i) => { if (shortName(e.classes[i]) !== e.classes[i]) row.title = e.classes[i]; });
    el.card.append(hist);
    lab.cardGraph = name;
  }, (err) => {
    if (seq !== cardSeq) return;
    const dd = [...el.card.querySelectorAll('dl.facts dd')].find((x) => x.textContent.startsWith('computing'));
    if (dd) dd.textContent = `not available: ${err.message}`;
  });
}

// training images per class, as bars: what imbalance and noise start from
// (kept: the classes of a class subset, or null; the others are dimmed)
function classHistogram(counts, names, kept = null) {
  const max = Math.max(1, ...counts);
  const box = h('div', { className: 'histogram', role: 'img', 'aria-label': 'training images per class' });
  counts.forEach((n, i) => {
    const bar = h('span', { className: 'hbar' });
    bar.style.width = `${(100 * n / max).toFixed(1)}%`; // CSSOM, which the CSP allows (a style attribute it would not)
    box.append(h('div', { className: kept && !kept.has(i) ? 'hrow dropped' : 'hrow', title: kept && !kept.has(i) ? 'not in this run (classes)' : '' },
      h('span', { className: 'hname', textContent: names[i] ?? String(i) }),
      h('span', { className: 'htrack' }, bar), h('span', { className: 'hcount', textContent: Number(n).toLocaleString('en') })));
  });
  return box;
}

// Ready = the worker has its core and the page has built its controls, in either order.
function whenReady() {
  if (!ready || !lab.booted) return;
  if (lab.state === 'loading') setState('ready', 'ready');
  else setState(lab.state, el.status.textContent); // refreshes the buttons
  showDatasetCard();
  if (pendingRun) { pendingRun = false; startRun(); }
  if (pendingSweep) { pendingSweep = false; sweep.start(); }
}

let samplesFor = null;
function drawSamples(m) {
  const s = samplesFor;
  s.grid.replaceChildren(...m.pixels.map(({ idx, data, label }) => {
    const canvas = h('canvas', { width: 56, height: 56 });
    drawImage(canvas, m, data, 2);
    return galleryCard([`#${idx}: ${s.classNames[label] ?? label}`], canvas);
  }));
  lab.samplesDrawn = m.pixels.length;
}

// ---- the run worker -------------------------------------------------------------------

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
worker.onerror = (e) => {
  e.preventDefault();
  ready = false;
  notice(`The worker failed: ${e.message || 'it could not load its module'}. Hint: rebuild the site (node scripts/build-site.mjs) and reload.`);
  if (record?.status === 'running') {
    record.status = 'failed';
    record.message = `the worker failed: ${e.message || 'no reason given'}`;
    save(record);
  }
  setState('error', 'worker failed');
};

// Saves a run record, after the writes before it. Metrics come before checkpoints: when the
// storage is full, the checkpoints of other runs are deleted and the save is tried again.
const save = (rec) => {
  const snapshot = structuredClone(rec);
  const put = async () => {
    try {
      return await store.putRun(snapshot);
    } catch (e) {
      if (!store.isQuotaError(e)) throw e;
      const freed = await dropCheckpoints(snapshot.id);
      await store.putRun(snapshot);
      notice(`The browser's storage was full: ${freed} checkpoint(s) of other runs and of this run's older epochs were deleted to keep this run's metrics.`, 'warn');
    }
  };
  saving = saving.then(put).catch((e) => {
    notice(store.isQuotaError(e)
      ? 'The browser\'s storage is full, even without checkpoints: this run\'s metrics could not be saved. Hint: delete old runs in History.'
      : `The run could not be saved in the browser (${e.message}). It goes on, but will not be in History.`, 'warn');
  });
  return saving;
};

// deletes every checkpoint but the latest of run `keep`; returns how many went. Used only when
// the storage is full: metrics come before the resumability of other runs
async function dropCheckpoints(keep) {
  const index = await store.checkpointIndex();
  const latest = Math.max(0, ...index.filter((c) => c.id === keep).map((c) => c.epoch));
  const drop = index.filter((c) => c.id !== keep || c.epoch !== latest);
  for (const id of new Set(drop.map((c) => c.id)))
    await store.deleteCheckpoints(id, { epochs: drop.filter((c) => c.id === id).map((c) => c.epoch) });
  return drop.length;
}

// The checkpoint of every epoch is kept (key run id + epoch), then the cap is enforced: the
// oldest go first, never the latest of a run that can be resumed (store.enforceCap).
async function saveCheckpoint(id, epoch, bytes) {
  const cap = capBytes(), MBs = (b) => `${(b / 2 ** 20).toFixed(1)} MB`;
  try {
    if (bytes.byteLength > cap) throw Object.assign(new Error('too big'), { tooBig: true });
    // make room first (a full disk then has room too), write, then evict what the new
    // checkpoint makes evictable: this run's previous latest
    const before = await store.enforceCap(cap - bytes.byteLength);
    await store.putCheckpoint({ id, epoch, bytes, size: bytes.byteLength });
    const after = await store.enforceCap(cap);
    const evicted = [...before.evicted, ...after.evicted], { over, total } = after;
    if (evicted.length) {
      lab.evicted = (lab.evicted ?? 0) + evicted.length;
      historyView.lastEviction = `The cap evicted ${evicted.length} old checkpoint(s) (${MBs(evicted.reduce((a, c) => a + c.size, 0))}), ` +
        `the oldest first: ${evicted.map((c) => `epoch ${c.epoch} of ${historyView.nameOf(c.id)}`).join(', ')}.`;
    }
    if (over) historyView.lastEviction = `Checkpoints use ${MBs(total)}, over the ${MBs(cap)} cap: only the latest checkpoint of each ` +
      'resumable run is left, and those are never evicted. Hint: raise the cap, or delete old runs.';
  } catch (e) {
    if (e.tooBig) notice(`The checkpoint of epoch ${epoch} is ${MBs(bytes.byteLength)}, over the ${MBs(cap)} cap, so it was not kept; the metrics are saved. Hint: raise the checkpoint cap on the History tab.`, 'warn');
    else if (store.isQuotaError(e)) notice(`The browser's storage is full: the checkpoint of epoch ${epoch} was not saved (the metrics are). Hint: delete old checkpoints.`, 'warn', { action: { label: 'Delete old checkpoints', run: deleteOldCheckpoints } });
    else notice(`The checkpoint of epoch ${epoch} could not be saved (${e.message}); the metrics are.`, 'warn');
  }
  historyView.refresh();
}

// keeps only the latest checkpoint of each resumable run (runId: of that run only)
async function deleteOldCheckpoints(runId = null) {
  try {
    const one = typeof runId === 'string' ? runId : null;
    const { count, size } = await store.deleteOldCheckpoints(one);
    if (count || one) notice(`Deleted ${count} old checkpoint(s), ${(size / 2 ** 20).toFixed(1)} MB; the latest checkpoint of each resumable run and every run's metrics are kept.`, 'info');
    // nothing old is left: what remains are the latest checkpoints, which only the user may drop
    else notice('No old checkpoints are left: each resumable run keeps only its latest. Deleting those too frees more, but those runs can then no longer be resumed (their metrics stay).', 'warn',
      { action: { label: 'Delete the checkpoints of other runs', run: async () => { const n = await dropCheckpoints(record?.id); notice(`Deleted ${n} checkpoint(s) of other runs (and this run's older ones); every run's metrics are kept.`, 'info'); historyView.refresh(); } } });
  } catch (e) {
    notice(`Cannot delete checkpoints: ${e.message}`, 'warn');
  }
  historyView.refresh();
}

// the cap field of the History tab: shown, changed, kept, and enforced at once
async function setCap(mb) {
  if (!(mb > 0)) return notice(`The checkpoint cap must be a number of MB above 0, not '${String(mb).slice(0, 20)}'. Hint: the default is ${DEFAULT_CAP_MB}.`, 'warn');
  try { localStorage.setItem(CAP_KEY, String(mb)); } catch { notice('The cap cannot be kept (localStorage is off); it holds until the page closes.', 'warn'); }
  capOverride = mb * 2 ** 20;
  const { evicted } = await store.enforceCap(capBytes()).catch(() => ({ evicted: [] }));
  historyView.lastEviction = evicted.length ? `The new cap evicted ${evicted.length} old checkpoint(s).` : '';
  historyView.refresh();
}
let capOverride = null;

const handlers = {
  ready(m) {
    ready = true;
    lab.engine = m;
    el.engine.textContent = `${m.engine === 'wasm-simd' ? 'WASM SIMD' : 'WASM scalar'} (${m.isa})`;
    el.engine.dataset.engine = m.engine;
    el.engine.title = m.version;
    if (m.fallback) notice(m.fallback, 'warn');
    whenReady();
  },
  dataset(m) {
    datasetInfo.set(m.info.name, m.info);
    if (cardFor === m.info.name) { showDatasetCard(); refreshForm(); }
  },
  loading(m) {
    if (m.loaded === m.total) (lab.loads ??= []).push({ file: m.file, cached: m.cached });
    el.progressText.textContent = m.cached ? `${m.file}: from the browser's cache` :
      `downloading ${m.file}: ${(m.loaded / 2 ** 20).toFixed(1)} of ${(m.total / 2 ** 20).toFixed(1)} MB`;
    el.bar.value = m.total ? m.loaded / m.total : 0;
  },
  started(m) {
    if (m.resumed) notice(`Resumed from the checkpoint after epoch ${m.progress.epoch}.`, 'info');
    firstEpoch = m.progress.epoch;
    progress(m.progress, 0);
  },
  progress(m) { progress(m.progress, m.seconds); },
  epoch(m) {
    lab.epochs.push(m.epoch);
    record.epochs = record.epochs.filter((e) => e.epoch < m.epoch.epoch).concat(m.epoch);
    addEpochRow(m.epoch, m.seconds);
    save(record);
    // the chart in a task of its own: two short tasks, not one long one
    const epochs = record.epochs;
    setTimeout(() => timed('curves', () => curves.set(epochs)), 0);
    if (m.checkpoint) { const id = record.id; saving = saving.then(() => saveCheckpoint(id, m.epoch.epoch, m.checkpoint)); }
  },
  paused(m) { setState('paused', `paused in epoch ${Math.min(m.progress.epoch + 1, m.progress.epochs)}`); },
  resumed() { setState('running', 'running'); },
  done(m) {
    lab.times.end = performance.now();
    const r = m.result;
    lab.result = r;
    record.status = r.status;
    record.result = r;
    record.epochs = r.epochs;
    record.message = r.message || '';
    const id = record.id; // a finished run needs no checkpoint: all of its epochs go
    save(record).then(() => store.deleteCheckpoints(id)).catch(() => {}).then(() => historyView.refresh());
    el.bar.value = 1;
    renderResult(r, record.config); // in steps of their own tasks, after this one
    if (r.status === 'diverged') {
      notice(r.message, 'warn');
      setState('diverged', 'diverged');
    } else {
      setState('finished', `finished in ${fmtTime(r.wall_seconds)}: test acc ${pct(r.last_test_acc)}`);
    }
  },
  stopped(m) {
    lab.times.end = performance.now();
    const p = m.progress;
    record.status = 'stopped';
    record.message = `stopped by the user in epoch ${Math.min(p.epoch + 1, p.epochs)}, step ${p.step}`;
    save(record).then(() => historyView.refresh());
    setState('stopped', `stopped in epoch ${Math.min(p.epoch + 1, p.epochs)}, step ${p.step}`);
  },
  gradcheck(m) {
    gradcheckTable(el.gradcheckOut, m.result);
    setState('ready', 'ready');
  },
  images(m) { if (samplesFor && m.id === samplesFor.id) drawSamples(m); else drawGallery(m); },
  warn(m) { notice(m.message, 'warn'); },
  error(m) {
    if (lab.times) lab.times.end = performance.now();
    if (m.where === 'load') {
      ready = false;
      notice(`Cannot load the core: ${m.message}`);
      setState('error', 'no core');
      return;
    }
    if (m.where === 'images' || m.where === 'dataset') return notice(`The images could not be read: ${m.message}`, 'warn');
    if (m.where === 'gradcheck') { notice(`Gradient check failed: ${m.message}`); return setState('ready', 'ready'); }
    if (record && record.status === 'running') {
      record.status = 'failed';
      record.message = m.message;
      save(record).then(() => historyView.refresh());
    }
    if (m.where === 'config') { notice(`Bad config: ${m.message}`, 'config', { key: keyOf(m.message) }); setState('invalid', 'bad config'); }
    else { notice(m.message); setState('error', 'failed'); }
  },
};
// runs fn and notes it when it takes long: the tests read lab.slow, since a slow piece of
// work on this thread is what makes the page stutter
function timed(type, fn) {
  const t = performance.now();
  fn();
  const ms = performance.now() - t;
  if (ms > 30) (lab.slow ??= []).push({ type, ms: Math.round(ms), at: Math.round(t) });
}
worker.onmessage = ({ data }) => timed(data.type, () => handlers[data.type]?.(data));

// ---- running ------------------------------------------------------------------------------

async function startRun({ resume = null } = {}) {
  if (!ready || ['running', 'paused', 'stopping'].includes(lab.state) || sweep.busy) return;
  // the string field may hold an edit not yet taken (its input is debounced)
  if (el.config.value !== canonical && !tryConfig(el.config.value, { fromForm: false })) return;
  const t0 = performance.now();
  clearNotice();
  resetRun();
  let checkpoint;
  if (resume) {
    record = resume.record;
    checkpoint = resume.checkpoint.bytes;
    record.epochs = record.epochs.filter((e) => e.epoch <= resume.checkpoint.epoch);
    record.status = 'running';
    record.engine = lab.engine.engine;
    for (const e of record.epochs) addEpochRow(e, NaN);
    curves.set(record.epochs);
  } else {
    const cfg = nl.configJSON(canonical);
    record = {
      id: store.newRunId(), name: `${cfg.loss} · ${cfg.noise_type} ${cfg.noise} · ${cfg.dataset}`, config: canonical,
      engine: lab.engine.engine, isa: lab.engine.isa, status: 'running', created: Date.now(), epochs: [], result: null,
    };
  }
  lab.runId = record.id;
  lab.times = { start: performance.now(), end: null };
  lastTip = lab.times.start;
  setState('running', 'running');
  save(record).then(() => historyView.refresh());
  worker.postMessage({ type: 'run', config: canonical, checkpoint }, checkpoint ? [checkpoint.buffer] : []);
  const ms = performance.now() - t0;
  if (ms > 30) (lab.slow ??= []).push({ type: 'start', ms: Math.round(ms), at: Math.round(t0) });
}

// the epoch a run started from: 0, or the checkpoint's epoch of a resumed run, whose speed and
// ETA count only what this session trains
let firstEpoch = 0;
function progress(p, seconds) {
  const total = p.epochs * p.steps_per_epoch, done = p.epoch * p.steps_per_epoch + p.step;
  const frac = total ? done / total : 0;
  const start = Math.min(firstEpoch, p.epoch) * p.steps_per_epoch;
  const fracNow = total > start ? (done - start) / (total - start) : 0; // of what this session trains
  const images = (p.epoch - Math.min(firstEpoch, p.epoch)) * p.train_size + Math.min(p.step * p.batch, p.train_size);
  const rate = seconds > 0 ? images / seconds : 0;
  const eta = fracNow > 0 && seconds > 0 ? seconds / fracNow - seconds : Infinity;
  el.bar.value = frac;
  // between epochs the core says (epoch n done, step 0): show that as epoch n, all steps done
  const between = p.step === 0 && p.epoch > 0;
  el.progressText.textContent =
    `epoch ${between ? p.epoch : p.epoch + 1}/${p.epochs} · step ${between ? p.steps_per_epoch : p.step}/${p.steps_per_epoch} · ` +
    `${rate ? rate.toFixed(0) : '-'} ${GRAPHS.includes(p.dataset ?? cardFor) ? 'nodes' : 'img'}/s · ${fmtTime(seconds)} elapsed · ETA ${fmtTime(eta)}`;
  el.liveText.textContent = p.train_loss === undefined ? '' :
    `this epoch so far: train loss ${num(p.train_loss)} · acc ${pct(p.train_acc)} on the given labels, ${pct(p.train_acc_clean)} on the clean ones`;
  // the curves' moving point, every five seconds: a Chart.js redraw can take tens of
  // milliseconds on a busy machine, too much for every progress message, and epochs
  // shorter than that get their points at their ends anyway
  const now = performance.now();
  if (p.train_loss !== undefined && now - lastTip > 5000) {
    lastTip = now;
    setTimeout(() => { if (lab.state === 'running') timed('curves-live', () => curves.live(p)); }, 0);
  }
}
let lastTip = 0;

function addEpochRow(e, seconds) {
  const tr = h('tr');
  for (const v of [e.epoch, e.lr.toPrecision(3), num(e.train_loss), pct(e.train_acc), pct(e.train_acc_clean), pct(e.val_acc),
    num(e.test_loss), pct(e.test_acc), fmtTime(seconds)]) tr.append(h('td', { textContent: v }));
  el.epochs.append(tr);
}

function resetRun() {
  renderId++; // drop a result still being drawn
  el.epochs.replaceChildren();
  lab.epochs = [];
  lab.result = null;
  curves.reset();
  el.results.hidden = true;
  el.bar.value = 0;
  el.progressText.textContent = '-';
  el.liveText.textContent = '';
}

// ---- results -----------------------------------------------------------------------------

let galleryFor = null;
const nextTask = () => new Promise((r) => setTimeout(r, 0));
let renderId = 0;

// Each view is drawn in a task of its own, so none makes a long task of the main thread.
async function renderResult(r, config) {
  const id = ++renderId;
  el.results.hidden = false;
  const fullNames = r.class_names || [];
  const names = fullNames.map(shortName); // a KG's classes are IRIs: shown by their local names
  const f = r.final;
  if (!r.model) { // an imported run: only its accuracies
    el.summary.textContent = `Imported run: last test accuracy ${pct(r.last_test_acc)}, best ${pct(r.best_test_acc)}.`;
    return;
  }
  el.summary.textContent = `${r.model}. Test accuracy ${pct(r.last_test_acc)} after ${r.epochs.length} epoch(s) (best ${pct(r.best_test_acc)} at epoch ${r.best_epoch})` +
    `${r.stopped_early ? `, stopped early at the best validation epoch ${r.best_val_epoch}` : ''}. ${r.engine ? `${r.engine}, ${fmtTime(r.wall_seconds)}, ${r.img_per_s} ${r.dataset?.nodes !== undefined ? 'nodes' : 'img'}/s.` : ''}` +
    `${r.dataset?.name === 'cifar10' ? ' CIFAR-10 test accuracy is on the 1,000 available test images.' : ''}`;
  if (!f) return;
  const graph = r.dataset?.nodes !== undefined; // graph nodes have no pixels
  for (const w of el.results.querySelectorAll('.what')) w.textContent = graph ? 'nodes' : 'images';
  const name = (i) => names[i] ?? String(i);
  const fullName = (i) => fullNames[i] ?? String(i);
  const top3 = (t) => t.map(([k, p]) => `${name(k)}: ${(100 * p).toFixed(0)}%`).join(' · ');
  const steps = [
    () => perClassChart(f, names),
    () => {
      tsneChart(r.embedding, names);
      $('tsne-note').textContent = r.embedding?.xy ? `${r.embedding.xy.length} test ${graph ? 'nodes' : 'images'}, coloured by true class.` : 'No t-SNE in this run (tsne=0).';
    },
    () => heatmap($('confusion'), f.confusion, names, { rowLabel: 'true class', colLabel: 'predicted' }),
    () => {
      if (r.noise?.matrix) heatmap($('noise-matrix'), r.noise.matrix, names, { rowLabel: 'true class', colLabel: 'given label' });
      $('noise-text').textContent = r.noise ? `${r.noise.type} noise at rate ${r.noise.rate}: ${pct(r.noise.realised_rate)} of the training labels are wrong. ` +
        `Training images per class: ${(r.class_counts || []).join(', ')}${r.imbalance && r.imbalance !== 'none' ? ` (${r.imbalance} imbalance)` : ''}.` : '';
      metricsTable($('metrics'), f, names, fullNames);
    },
    () => {
      // the galleries: cards now, pixels when the worker sends them (test and training shards)
      const stamp = `${Date.now()}`;
      galleryFor = { test: { id: `${stamp}-test`, split: 1, cards: new Map() }, train: { id: `${stamp}-train`, split: 0, cards: new Map() } };
      const gallery = $('gallery');
      gallery.replaceChildren();
      for (const m of (r.mistakes || []).slice(0, 30)) {
        const canvas = graph ? null : h('canvas', { width: 56, height: 56 });
        if (canvas) galleryFor.test.cards.set(m.idx, canvas);
        const card = galleryCard([`#${m.idx}: label ${name(m.label)}, predicted ${name(m.pred)}`, top3(m.top3)], canvas);
        if (graph) card.title = `node ${m.idx}\nlabel ${fullName(m.label)}\npredicted ${fullName(m.pred)}`;
        gallery.append(card);
      }
      const relabelled = (r.relabelled || []).slice(0, 15);
      $('relabelled').replaceChildren(...relabelled.map((m) => {
        const canvas = graph ? null : h('canvas', { width: 56, height: 56 });
        if (canvas) galleryFor.train.cards.set(m.idx, canvas);
        const card = galleryCard([`#${m.idx}: given ${name(m.given)}, true ${name(m.true)}, predicted ${name(m.pred)}`, top3(m.top3)], canvas);
        if (graph) card.title = `node ${m.idx}\ngiven ${fullName(m.given)}\ntrue ${fullName(m.true)}\npredicted ${fullName(m.pred)}`;
        return card;
      }));
      if (!relabelled.length) $('relabelled').append(h('p', { className: 'hint', textContent: 'None: no training label was changed.' }));
      if (!(r.mistakes || []).length) gallery.append(h('p', { className: 'hint', textContent: `None: every test ${graph ? 'node' : 'image'} is classified right.` }));
      for (const g of [galleryFor.test, galleryFor.train])
        if (g.cards.size && ready)
          worker.postMessage({ type: 'images', id: g.id, split: g.split, dataset: nl.configJSON(config).dataset, idx: [...g.cards.keys()] });
    },
  ];
  for (const [i, step] of steps.entries()) {
    await nextTask();
    if (id !== renderId) return; // a newer result is being drawn
    timed(`view ${i}`, step);
  }
  lab.rendered = id;
}

// ten images a task: thirty at once make a long task on a slow machine
async function drawGallery(m) {
  const mine = [galleryFor?.test, galleryFor?.train].find((g) => g?.id === m.id);
  if (!mine) return;
  for (let i = 0; i < m.pixels.length; i += 10) {
    if (i) await nextTask();
    if (galleryFor?.test !== mine && galleryFor?.train !== mine) return; // a newer result
    for (const { idx, data } of m.pixels.slice(i, i + 10)) {
      const canvas = mine.cards.get(idx);
      if (canvas) drawImage(canvas, m, data, 2);
    }
  }
  lab[mine.split ? 'galleryDrawn' : 'relabelledDrawn'] = m.pixels.length;
}

// shows a stored run: its config in the controls, its curves, its end-of-run views
async function showRun(light) {
  if (['running', 'paused', 'stopping'].includes(lab.state)) return notice('A run is in progress: open stored runs when it is done.', 'warn');
  const rec = (await store.getRun(light.id).catch(() => null)) ?? light;
  tryConfig(rec.config, { fromForm: false });
  resetRun();
  for (const e of rec.epochs || []) addEpochRow(e, NaN);
  curves.set(rec.epochs || []);
  if (rec.result) renderResult(rec.result, rec.config);
  tabs.show('run');
}

// resumes run rec from its checkpoint after `epoch` (default: the latest). The epochs after it
// are dropped from the record and their checkpoints deleted: the run trains them again, to the
// same bits, since a checkpoint holds the whole state of the run.
async function resumeRun(rec, epoch) {
  const ck = await store.getCheckpoint(rec.id, epoch).catch(() => null);
  if (!ck) return notice(`Run '${rec.name}' has no checkpoint${epoch ? ` after epoch ${epoch}` : ''} to resume from (it was deleted or never saved).`, 'warn');
  await store.deleteCheckpoints(rec.id, { from: ck.epoch + 1 }).catch(() => {});
  form.write(rec.config);
  setCanonical(rec.config);
  tabs.show('run');
  startRun({ resume: { record: rec, checkpoint: ck } });
}

// ---- tabs and buttons ----------------------------------------------------------------------

const tabs = {
  show(name) {
    for (const t of ['run', 'history', 'sweep']) {
      $(`tab-${t}`).setAttribute('aria-selected', String(t === name));
      $(`view-${t}`).hidden = t !== name;
    }
    if (name === 'history') historyView.refresh();
    if (name === 'sweep') sweep.redraw();
  },
};
for (const t of ['run', 'history', 'sweep']) $(`tab-${t}`).addEventListener('click', () => tabs.show(t));

el.run.addEventListener('click', () => startRun());
el.pause.addEventListener('click', () => {
  if (lab.state === 'running') worker.postMessage({ type: 'pause' });
  else if (lab.state === 'paused') worker.postMessage({ type: 'resume' });
});
el.stop.addEventListener('click', () => {
  if (lab.state !== 'running' && lab.state !== 'paused') return;
  worker.postMessage({ type: 'stop' });
  setState('stopping', 'stopping...');
});
async function copyLink(url, what) {
  try {
    await navigator.clipboard.writeText(url);
    notice(`The link is copied: it opens ${what}.`, 'info');
  } catch {
    // no clipboard permission (an insecure origin, a denied prompt): show it to copy by hand
    notice(`Copy this link by hand (the clipboard is not available here): ${url}`, 'info');
  }
  lab.copied = url;
}
el.copy.addEventListener('click', () => copyLink(location.href.split('#')[0] + '#' + canonical, 'this experiment with every control as it is now'));
$('sweep-copy').addEventListener('click', () => copyLink(sweepLink(), 'this sweep: the experiment on the left and the grid'));
el.reset.addEventListener('click', () => { form.write(nl.normalizeConfig(START_CONFIG)); setCanonical(nl.normalizeConfig(START_CONFIG)); clearNotice('config'); });
el.gradcheck.addEventListener('click', () => {
  if (!ready || lab.state === 'invalid') return;
  el.gradcheckOut.replaceChildren(h('p', { textContent: 'checking...' }));
  setState('running', 'checking gradients');
  el.stop.disabled = true;
  el.pause.disabled = true;
  worker.postMessage({ type: 'gradcheck', config: canonical });
});
let configTimer = 0;
el.config.addEventListener('input', () => {
  clearTimeout(configTimer);
  configTimer = setTimeout(() => tryConfig(el.config.value, { fromForm: false }), 300);
});
document.addEventListener('click', (ev) => {
  const b = ev.target.closest?.('button[data-png]');
  if (b) savePNG($(b.dataset.png), b.dataset.png);
});

// ---- start -----------------------------------------------------------------------------------

const curves = new Curves($('curves'));
const historyView = new History({
  onOpen: showRun, onResume: resumeRun, notice, capBytes, setCap, deleteOldCheckpoints,
  normalize: (c) => nl.normalizeConfig(c), configJSON: (c) => nl.configJSON(c), onImported: (group) => { tabs.show('sweep'); sweep.showGroup(group); },
  isBusy: (id) => record?.id === id && ['running', 'paused', 'stopping'].includes(lab.state),
});
let sweep = null;
// "Train on this subset": the training worker keeps the bundle's bytes, and the experiment
// becomes dataset=bundle with the form's R-GCN settings (or the aifb-rgcn preset's when the
// form holds no knowledge-graph model). The bundle is a file, so a link to this run needs it too.
function trainOnBundle({ file, bytes }) {
  if (!ready || ['running', 'paused', 'stopping'].includes(lab.state) || sweep.busy) return;
  const cfg = nl.configJSON(canonical);
  const kept = canonical.split('&').filter((kv) => !/^(v|preset|dataset|hops|max_nodes)=/.test(kv));
  const base = ['rgcn', 'mrgcn'].includes(cfg.model) ? kept : ['preset=aifb-rgcn'];
  if (!tryConfig([...base, 'dataset=bundle'].join('&'), { fromForm: false })) return;
  worker.postMessage({ type: 'graph-file', name: file, bytes: bytes.slice() }); // a copy: the panel keeps its own
  tabs.show('run');
  startRun();
  notice(`Training on the subset ${file}. A link to this run needs that file: keep the downloaded bundle with it.`, 'info');
}
const graphPanel = new GraphPanel($('graph-panel'), { notice, lab, onTrainSubset: trainOnBundle }); // EDA in its own Worker (graph.js)

async function boot() {
  setState('loading', scalar ? 'loading the scalar core' : 'loading the core');
  worker.postMessage({ type: 'init', scalar });
  const [engine] = await Promise.all([loadEngine({ scalar: true }), loadManifest(), graphPanel.init()]);
  nl = engine;
  form = new ConfigForm(el.form, nl.configSchema(), {
    lossParams: (c) => nl.lossParams(c), onChange: () => tryConfig(form.read(), { fromForm: true }),
    onPreset: (name) => tryConfig(`preset=${name}`, { fromForm: false }),
  });
  sweep = new Sweep({ nl, scalar, getBase: () => canonical, notice, onCellSaved: () => historyView.refresh(), onBusy: () => setState(lab.state, el.status.textContent) });
  lab.sweep = sweep;
  // the start experiment first, so a bad link leaves a working page
  const linked = !!location.hash.slice(1).trim();
  const start = nl.normalizeConfig(START_CONFIG);
  form.write(start);
  setCanonical(start, { hash: !linked });
  if (linked) openLink();
  try {
    await store.markOrphansStopped();
  } catch (e) {
    notice(`History is off: ${e.message}`, 'warn');
  }
  historyView.refresh();
  lab.booted = true;
  whenReady();
}
boot().catch((e) => {
  notice(`The lab could not start: ${e.message}. Hint: rebuild the site (node scripts/build-site.mjs) and reload.`);
  setState('error', 'failed to start');
});
