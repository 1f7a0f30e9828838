// views.js: what a run looks like. Chart.js draws the curves, bars and scatter plots; the
// heatmaps and image gallery are plain canvases. Every label comes from data and is set as
// text (Chart.js draws on a canvas; the DOM gets textContent only).
import { h } from './form.js';

// ten distinguishable colours, one per class (Tableau 10)
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
export const colour = (i) => PALETTE[i % PALETTE.length];
// how a class or relation name is shown: an IRI by its local name (what follows its last '#'
// or '/', at most 40 characters), anything else as it is. Where there is room for it, the full
// name is the element's title.
export function shortName(s) {
  s = String(s);
  if (!/^[a-z][a-z0-9+.-]*:/i.test(s) || !/[#/]/.test(s)) return s;
  const t = s.replace(/[#/]+$/, '');
  const k = Math.max(t.lastIndexOf('#'), t.lastIndexOf('/'));
  const n = k >= 0 ? t.slice(k + 1) : t;
  return !n ? s : n.length > 40 ? n.slice(0, 39) + '…' : n;
}

export const pct = (x) => (x === undefined || x === null || Number.isNaN(x) ? '-' : (100 * x).toFixed(2) + '%');
export const num = (x, d = 4) => (x === undefined || x === null ? '-' : Number(x).toFixed(d));
export function fmtTime(s) {
  if (!Number.isFinite(s)) return '--:--';
  s = Math.round(s);
  const hr = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (hr ? hr + ':' + String(m).padStart(2, '0') : m) + ':' + String(sec).padStart(2, '0');
}

const hasChart = () => typeof window.Chart === 'function';
const baseOptions = () => ({
  animation: false, responsive: true, maintainAspectRatio: false,
  plugins: { legend: { labels: { boxWidth: 12 } } },
});

// ---- live curves -------------------------------------------------------------------

const CURVES = [
  // [label, field, colour, axis, dash]
  ['train loss', 'train_loss', '#c2410c', 'y', []],
  ['test loss', 'test_loss', '#7c3aed', 'y', []],
  ['train acc (given labels)', 'train_acc', '#2563eb', 'y1', [6, 3]],
  ['train acc (clean labels)', 'train_acc_clean', '#16a34a', 'y1', [6, 3]],
  ['val acc', 'val_acc', '#a16207', 'y1', [2, 2]],
  ['test acc', 'test_acc', '#0f766e', 'y1', []],
];

export function lineOptions(xTitle = 'epoch') {
  return {
    ...baseOptions(),
    interaction: { mode: 'index', intersect: false },
    scales: {
      x: { type: 'linear', title: { display: true, text: xTitle }, ticks: { precision: 0 } },
      y: { title: { display: true, text: 'loss' }, beginAtZero: true },
      y1: { position: 'right', min: 0, max: 1, title: { display: true, text: 'accuracy' }, grid: { drawOnChartArea: false } },
    },
  };
}

export class Curves {
  constructor(canvas) {
    this.chart = hasChart() ? new window.Chart(canvas, {
      type: 'line',
      data: { datasets: CURVES.map(([label, , c, axis, dash]) => ({ label, data: [], borderColor: c, backgroundColor: c, yAxisID: axis, borderDash: dash, pointRadius: 3, borderWidth: 2 })) },
      options: lineOptions(),
    }) : null;
  }
  reset() { this.set([]); }
  // epochs: the finished ones; tip: the running training metrics of the epoch in progress
  // ({ x: fractional epoch, train_loss, train_acc, train_acc_clean }), drawn as a last point
  set(epochs, tip = null) {
    this.epochs = epochs;
    if (!this.chart || (!epochs.length && !tip && !this.points)) return; // nothing to redraw: spare the page a layout
    CURVES.forEach(([, field], i) => {
      const data = epochs.filter((e) => e[field] !== undefined).map((e) => ({ x: e.epoch, y: e[field] }));
      if (tip && tip[field] !== undefined) data.push({ x: tip.x, y: tip[field] });
      this.chart.data.datasets[i].data = data;
    });
    this.chart.update('none');
  }
  // a progress message with the running metrics (the core sends them from the first step)
  live(p) {
    if (p.train_loss === undefined) return;
    this.set(this.epochs || [], { x: p.epoch + p.step / p.steps_per_epoch, train_loss: p.train_loss, train_acc: p.train_acc, train_acc_clean: p.train_acc_clean });
  }
  get points() { return this.chart ? this.chart.data.datasets.reduce((a, d) => a + d.data.length, 0) : 0; }
}

// ---- end-of-run views -------------------------------------------------------------

const charts = new Map(); // canvas id -> Chart; a new result replaces the data only
function chartOn(id, config) {
  if (!hasChart()) return null;
  const old = charts.get(id);
  if (old) { // cheaper than building a new chart, which is what makes a long task
    old.data = config.data;
    old.update('none');
    return old;
  }
  const c = new window.Chart(document.getElementById(id), config);
  charts.set(id, c);
  return c;
}

// A K x K matrix as coloured cells with counts; rows are normalised for the colour.
export function heatmap(canvas, matrix, names, { rowLabel, colLabel }) {
  const ctx = canvas.getContext('2d');
  const K = matrix.length;
  const W = canvas.width, H = canvas.height;
  const left = 90, top = 20, bottom = 70;
  const cell = Math.floor(Math.min((W - left - 10) / K, (H - top - bottom) / K));
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  ctx.clearRect(0, 0, W, H);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = dark ? '#ddd' : '#222';
  for (let i = 0; i < K; i++) {
    const sum = matrix[i].reduce((a, b) => a + b, 0) || 1;
    for (let j = 0; j < K; j++) {
      const v = matrix[i][j], f = v / sum;
      // diagonal in teal, off-diagonal in red: where the mass sits off the diagonal is the story
      ctx.fillStyle = i === j ? `rgba(15,118,110,${0.08 + 0.92 * f})` : `rgba(220,38,38,${v ? 0.08 + 0.92 * f : 0.03})`;
      ctx.fillRect(left + j * cell, top + i * cell, cell - 1, cell - 1);
      ctx.fillStyle = f > 0.55 ? '#fff' : dark ? '#ddd' : '#222';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      if (cell >= 18) ctx.fillText(String(v), left + j * cell + cell / 2, top + i * cell + cell / 2);
    }
  }
  ctx.fillStyle = dark ? '#ddd' : '#222';
  ctx.textAlign = 'right';
  const short = (s) => (s.length > 12 ? s.slice(0, 11) + '…' : s);
  for (let i = 0; i < K; i++) ctx.fillText(short(names[i] ?? String(i)), left - 6, top + i * cell + cell / 2);
  for (let j = 0; j < K; j++) {
    ctx.save();
    ctx.translate(left + j * cell + cell / 2, top + K * cell + 6);
    ctx.rotate(-Math.PI / 4);
    ctx.fillText(short(names[j] ?? String(j)), 0, 0);
    ctx.restore();
  }
  ctx.textAlign = 'left';
  ctx.fillText(`rows: ${rowLabel} · columns: ${colLabel}`, 4, H - 6);
}

// full: the names in full (IRIs), the class cell's title when it differs from names[i]
export function metricsTable(table, final, names, full = names) {
  const cols = ['class', 'accuracy', 'precision', 'recall', 'F1', 'ROC-AUC', 'PR-AUC'];
  const keys = ['per_class_acc', 'precision', 'recall', 'f1', 'roc_auc', 'pr_auc'];
  const head = h('tr', {}, ...cols.map((c) => h('th', { textContent: c })));
  const rows = final.per_class_acc.map((_, i) =>
    h('tr', {}, h('td', { textContent: names[i] ?? String(i), title: full[i] && full[i] !== names[i] ? full[i] : '' }), ...keys.map((k) => h('td', { textContent: num(final[k]?.[i], 3) }))));
  const m = final.macro || {};
  rows.push(h('tr', { className: 'total' }, h('td', { textContent: 'macro mean' }), h('td', { textContent: num(final.test_acc, 3) + ' (overall)' }),
    ...['precision', 'recall', 'f1', 'roc_auc', 'pr_auc'].map((k) => h('td', { textContent: num(m[k], 3) }))));
  table.replaceChildren(h('thead', {}, head), h('tbody', {}, ...rows));
}

export function perClassChart(final, names) {
  return chartOn('per-class', {
    type: 'bar',
    data: { labels: final.per_class_acc.map((_, i) => names[i] ?? String(i)), datasets: [{ label: 'test accuracy', data: final.per_class_acc, backgroundColor: final.per_class_acc.map((_, i) => colour(i)) }] },
    options: { ...baseOptions(), plugins: { legend: { display: false } }, scales: { y: { min: 0, max: 1 } } },
  });
}

export function tsneChart(emb, names) {
  if (!emb || !emb.xy) return chartOn('tsne', { type: 'scatter', data: { datasets: [] }, options: baseOptions() });
  const K = Math.max(names.length, ...emb.label.map((l) => l + 1));
  const datasets = [];
  for (let k = 0; k < K; k++) {
    const data = [];
    emb.xy.forEach(([x, y], i) => { if (emb.label[i] === k) data.push({ x, y }); });
    datasets.push({ label: names[k] ?? String(k), data, backgroundColor: colour(k), pointRadius: 2.5 });
  }
  return chartOn('tsne', { type: 'scatter', data: { datasets }, options: { ...baseOptions(), scales: { x: { display: false }, y: { display: false } } } });
}

// Draws uint8 NCHW pixels (1 or 3 channels) onto a canvas, scaled up without smoothing.
export function drawImage(canvas, { c, h: H, w: W }, data, scale = 2) {
  canvas.width = W * scale;
  canvas.height = H * scale;
  const img = new ImageData(W, H);
  for (let p = 0; p < W * H; p++) {
    const r = data[p], g = c === 3 ? data[W * H + p] : r, b = c === 3 ? data[2 * W * H + p] : r;
    img.data.set([r, g, b, 255], 4 * p);
  }
  const tmp = new OffscreenCanvas(W, H);
  tmp.getContext('2d').putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, W * scale, H * scale);
}

// one card per item: image (when its pixels came), then text lines
export function galleryCard(lines, canvas) {
  const card = h('figure', { className: 'card' });
  if (canvas) card.append(canvas);
  card.append(h('figcaption', {}, ...lines.map((t, i) => h('div', { className: i ? 'top3' : 'main', textContent: t }))));
  return card;
}

export function gradcheckTable(out, gc) {
  // finite differences in float32: the median relative error is what agreement looks like
  // (under 5%, the bound of the core's own test); the max also catches ReLU and max-pool
  // kinks, where a difference straddles the kink, so it says little on its own
  const verdict = (med) => (med < 0.05 ? 'ok' : 'disagrees');
  const rows = gc.layers.map((l) => h('tr', {},
    ...[l.layer, l.kind, l.params, l.checked, l.max_rel_err.toExponential(2), (l.median_rel_err ?? NaN).toExponential(2), l.max_abs_err.toExponential(2), verdict(l.median_rel_err ?? l.max_rel_err)]
      .map((v) => h('td', { textContent: String(v) }))));
  out.replaceChildren(
    h('p', { textContent: `batch of ${gc.batch}, eps ${gc.eps}: worst median relative error of a layer ${(gc.median_rel_err ?? NaN).toExponential(2)}, ` +
      `largest single error ${gc.max_rel_err.toExponential(2)}. A layer is ok when its median is under 5%; single large errors sit at ReLU and max-pool kinks.` }),
    h('table', { className: 'num' },
      h('thead', {}, h('tr', {}, ...['layer', 'kind', 'params', 'checked', 'max rel err', 'median rel err', 'max abs err', 'verdict'].map((t) => h('th', { textContent: t })))),
      h('tbody', {}, ...rows)));
}

// a PNG of a canvas, as a download
export function savePNG(canvas, name) {
  const a = h('a', { href: canvas.toDataURL('image/png'), download: `${name}.png` });
  document.body.append(a);
  a.click();
  a.remove();
}
