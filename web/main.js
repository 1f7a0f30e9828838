// main.js: the smoke page. Proves the core loads in a Web Worker and trains.
//
// The main thread only renders: the core runs in worker.js, which posts progress,
// per-epoch metrics and the result. The config is the URL hash (the same string
// as `noisylab train`); ?scalar=1 forces the scalar core.
//
// For tests: #status carries data-state (loading, ready, invalid, running, finished,
// diverged, stopped, error); window.__lastResult is the final result,
// window.__engine the loaded core, window.__runTimes the start and end of the last run.

// One epoch of a small CNN on the embedded shapes dataset: a few seconds, well above chance.
export const DEFAULT_CONFIG = 'dataset=synth&model=cnn4&mult=0.25&train=3000&test=500&epochs=1&batch=32&opt=adam&lr=0.003';

const $ = (id) => document.getElementById(id);
const el = {
  engine: $('engine'), isa: $('isa'), version: $('version'), status: $('status'),
  form: $('form'), config: $('config'), run: $('run'), stop: $('stop'), notice: $('notice'),
  bar: $('bar'), progressText: $('progress-text'), epochs: $('epochs').tBodies[0], result: $('result'),
};

const scalar = new URLSearchParams(location.search).get('scalar') === '1';
let state = 'loading';
let ready = false;
let checkId = 0;
let chart = null;

function setState(s, text) {
  state = s;
  el.status.dataset.state = s;
  el.status.textContent = text || s;
  const busy = s === 'running' || s === 'stopping';
  el.run.disabled = !ready || busy;
  el.stop.disabled = !busy || s === 'stopping';
  el.config.readOnly = busy;
}

function showNotice(text, kind = 'error') {
  el.notice.textContent = text;
  el.notice.dataset.kind = kind;
  el.notice.hidden = false;
}
function clearNotice() {
  el.notice.hidden = true;
  el.notice.textContent = '';
  delete el.notice.dataset.kind;
}

function fmtTime(s) {
  if (!isFinite(s)) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? h + ':' + String(m).padStart(2, '0') : m) + ':' + String(sec).padStart(2, '0');
}
const pct = (x) => (x === undefined ? '-' : (100 * x).toFixed(2) + '%');
const num = (x, d = 4) => (x === undefined ? '-' : Number(x).toFixed(d));

function configFromHash() {
  const h = decodeURIComponentSafe(location.hash.replace(/^#/, ''));
  return h.trim() ? h : DEFAULT_CONFIG;
}
// the field shows the hash readably; the core accepts %XX-encoded values too
function decodeURIComponentSafe(s) {
  // keep an encoded '&' or '=' encoded, or the decoded string would split differently
  try { return s.replace(/%(?!26|3d)[0-9a-f]{2}/gi, (m) => decodeURIComponent(m)); } catch { return s; }
}

// ---- the worker ----------------------------------------------------------

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
worker.onerror = (e) => {
  e.preventDefault();
  ready = false;
  showNotice(`the worker failed: ${e.message || 'it could not load its module'}. Hint: rebuild the site (node scripts/build-site.mjs) and reload.`);
  setState('error', 'worker failed');
};
worker.onmessageerror = () => showNotice('a message from the worker could not be read. Hint: reload the page.');

function check() {
  if (!ready || state === 'running' || state === 'stopping') return;
  worker.postMessage({ type: 'check', id: ++checkId, config: el.config.value });
}

const handlers = {
  ready(m) {
    ready = true;
    window.__engine = { engine: m.engine, isa: m.isa, version: m.version };
    el.engine.textContent = m.engine;
    el.isa.textContent = m.isa;
    el.version.textContent = m.version;
    if (m.fallback) showNotice(m.fallback, 'warn');
    setState('ready', 'ready');
    check();
  },
  checked(m) {
    if (m.id !== checkId || state === 'running' || state === 'stopping') return; // stale
    if (m.ok) {
      if (el.notice.dataset.kind === 'config') clearNotice();
      if (state === 'invalid' || state === 'loading') setState('ready', 'ready');
    } else {
      showNotice(`Bad config: ${m.message}`, 'config');
      setState('invalid', 'bad config');
    }
  },
  started(m) {
    history.replaceState(null, '', location.pathname + location.search + '#' + m.config);
    el.result.textContent = '-';
    progress(m.progress, 0);
  },
  progress(m) { progress(m.progress, m.seconds); },
  epoch(m) { addEpoch(m.epoch, m.seconds); },
  done(m) {
    window.__runTimes.end = performance.now();
    const r = m.result;
    window.__lastResult = r;
    el.result.textContent = JSON.stringify(r, null, 2);
    el.bar.value = 1;
    if (r.status === 'diverged') {
      showNotice(r.message, 'warn');
      setState('diverged', 'diverged');
    } else {
      setState('finished', `finished in ${r.wall_seconds.toFixed(1)} s: test acc ${pct(r.last_test_acc)}`);
    }
  },
  stopped(m) {
    window.__runTimes.end = performance.now();
    const p = m.progress;
    setState('stopped', `stopped in epoch ${Math.min(p.epoch + 1, p.epochs)}, step ${p.step}`);
  },
  error(m) {
    if (window.__runTimes) window.__runTimes.end = performance.now();
    if (m.where === 'load') {
      ready = false;
      showNotice(`Cannot load the core: ${m.message}`);
      setState('error', 'no core');
    } else if (m.where === 'config') {
      showNotice(`Bad config: ${m.message}`, 'config');
      setState('invalid', 'bad config');
    } else {
      showNotice(m.message);
      setState('error', 'error');
    }
  },
};

worker.onmessage = ({ data }) => {
  const h = handlers[data.type];
  if (h) h(data);
};

// ---- rendering -----------------------------------------------------------

function progress(p, seconds) {
  const total = p.epochs * p.steps_per_epoch, done = p.epoch * p.steps_per_epoch + p.step;
  const frac = total ? done / total : 0;
  const images = p.epoch * p.train_size + Math.min(p.step * p.batch, p.train_size);
  const rate = seconds > 0 ? images / seconds : 0;
  const eta = frac > 0 ? seconds / frac - seconds : Infinity;
  el.bar.value = frac;
  // between epochs the core says (epoch n done, step 0): show that as epoch n, all steps done
  const between = p.step === 0 && p.epoch > 0;
  el.progressText.textContent =
    `epoch ${between ? p.epoch : p.epoch + 1}/${p.epochs} · step ${between ? p.steps_per_epoch : p.step}/${p.steps_per_epoch} · ` +
    `${rate ? rate.toFixed(0) : '-'} img/s · ${fmtTime(seconds)} elapsed · ETA ${fmtTime(eta)}`;
}

function addEpoch(e, seconds) {
  const tr = document.createElement('tr');
  for (const v of [e.epoch, e.lr.toPrecision(3), num(e.train_loss), pct(e.train_acc), pct(e.val_acc),
    num(e.test_loss), pct(e.test_acc), num(e.grad_norm, 3), fmtTime(seconds)]) {
    const td = document.createElement('td');
    td.textContent = v;
    tr.append(td);
  }
  el.epochs.append(tr);
  window.__lastEpochs.push(e);
  if (chart) {
    chart.data.labels.push(e.epoch);
    chart.data.datasets[0].data.push(e.train_loss);
    chart.data.datasets[1].data.push(e.test_loss);
    chart.data.datasets[2].data.push(e.test_acc);
    chart.update('none');
  }
}

function makeChart() {
  if (!window.Chart) return null; // the page works without it
  const line = (label, color, axis) => ({ label, data: [], borderColor: color, backgroundColor: color, yAxisID: axis, pointRadius: 3, borderWidth: 2 });
  return new window.Chart($('chart'), {
    type: 'line',
    data: { labels: [], datasets: [line('train loss', '#c2410c', 'y'), line('test loss', '#7c3aed', 'y'), line('test acc', '#0f766e', 'y1')] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { title: { display: true, text: 'epoch' } },
        y: { title: { display: true, text: 'loss' }, beginAtZero: true },
        y1: { position: 'right', min: 0, max: 1, title: { display: true, text: 'accuracy' }, grid: { drawOnChartArea: false } },
      },
      plugins: { legend: { labels: { boxWidth: 12 } } },
    },
  });
}

function resetRun() {
  el.epochs.replaceChildren();
  window.__lastEpochs = [];
  window.__lastResult = null;
  if (chart) {
    chart.data.labels = [];
    chart.data.datasets.forEach((d) => (d.data = []));
    chart.update('none');
  }
  el.bar.value = 0;
  el.progressText.textContent = '-';
}

// ---- controls ------------------------------------------------------------

el.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!ready || state === 'running' || state === 'stopping') return;
  clearNotice();
  resetRun();
  window.__runTimes = { start: performance.now(), end: null };
  setState('running', 'running');
  worker.postMessage({ type: 'run', config: el.config.value });
});

el.stop.addEventListener('click', () => {
  if (state !== 'running') return;
  worker.postMessage({ type: 'stop' });
  setState('stopping', 'stopping...');
});

let debounce = 0;
el.config.addEventListener('input', () => {
  clearTimeout(debounce);
  debounce = setTimeout(check, 250);
});

window.addEventListener('hashchange', () => {
  if (state === 'running' || state === 'stopping') return;
  const c = configFromHash();
  if (c === el.config.value) return;
  el.config.value = c;
  check();
});

el.config.value = configFromHash();
window.__lastEpochs = [];
window.__lastResult = null;
try { chart = makeChart(); } catch (e) { console.warn('chart disabled:', e.message); }
setState('loading', scalar ? 'loading the scalar core' : 'loading the core');
worker.postMessage({ type: 'init', scalar });
