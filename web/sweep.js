// sweep.js: the Sweep tab. A grid over config keys, on top of the experiment on the left, run
// across a pool of Workers (one per core by default), each cell saved in the history like any
// run. The chart: test accuracy vs noise rate, one line per loss, ±1 std bands over the rest
// (usually the seeds).
import * as store from './store.js';
import { configPairs, h } from './form.js';
import { colour, pct } from './views.js';

const $ = (id) => document.getElementById(id);
const MAX_CELLS = 200;

const join = (m) => [...m].map(([k, v]) => `${k}=${v}`).join('&');

export class Sweep {
  constructor({ nl, scalar, getBase, notice, onCellSaved, onBusy }) {
    Object.assign(this, { nl, scalar, getBase, notice, onCellSaved, onBusy });
    this.busy = false;
    this.labBusy = true;
    this.cells = [];
    this.group = null; // the sweep (or import) the chart shows
    this.chart = null;
    $('sweep-workers').value = String(Math.max(1, navigator.hardwareConcurrency || 1));
    $('sweep-run').addEventListener('click', () => this.start());
    $('sweep-stop').addEventListener('click', () => this.stop());
    $('sweep-grid').addEventListener('input', () => this.plan(true));
    this.plan(true);
  }

  setLabBusy(b) {
    this.labBusy = b;
    $('sweep-run').disabled = b || this.busy;
  }

  setStatus(state, text) {
    const s = $('sweep-status');
    s.dataset.state = state;
    s.textContent = text;
  }

  // the grid's cells as canonical configs, or null with a notice naming the bad line
  plan(quiet = false) {
    const grid = [];
    const lines = $('sweep-grid').value.split('\n').map((l) => l.trim()).filter(Boolean);
    for (const line of lines) {
      const i = line.indexOf('=');
      const key = i > 0 ? line.slice(0, i).trim() : '';
      const values = i > 0 ? line.slice(i + 1).split(',').map((v) => v.trim()).filter(Boolean) : [];
      if (!key || !values.length) {
        if (!quiet) this.notice(`Sweep: the line '${line.slice(0, 80)}' is not key=value1,value2,... Hint: e.g. noise=0,0.2,0.4.`, 'config');
        return null;
      }
      grid.push([key, values]);
    }
    let combos = [[]];
    for (const [key, values] of grid) combos = combos.flatMap((c) => values.map((v) => [...c, [key, v]]));
    if (combos.length > MAX_CELLS) {
      $('sweep-count').textContent = `${combos.length} cells: more than ${MAX_CELLS}`;
      if (!quiet) this.notice(`Sweep: the grid has ${combos.length} cells; at most ${MAX_CELLS} run in one sweep. Hint: fewer values.`, 'config');
      return null;
    }
    const cells = [];
    for (const combo of combos) {
      const m = configPairs(this.getBase?.() || 'v=1');
      // a value holding a comma (classes, noise_matrix) is written %2C in the grid, as for the CLI
      for (const [k, v] of combo) m.set(k, encodeURIComponent(v.replace(/%2C/gi, ',')));
      try {
        cells.push({ config: this.nl.normalizeConfig(join(m)), label: combo.map(([k, v]) => `${k}=${v}`).join(' '), state: 'waiting' });
      } catch (e) {
        if (!quiet) this.notice(`Sweep: ${e.message}`, 'config');
        $('sweep-count').textContent = 'the grid has a bad key or value';
        return null;
      }
    }
    $('sweep-count').textContent = `${cells.length} cell(s)`;
    return cells;
  }

  async start() {
    if (this.busy || this.labBusy) return;
    const cells = this.plan(false);
    if (!cells) return;
    this.busy = true;
    this.onBusy();
    this.stopping = false;
    this.cells = cells;
    this.group = `sweep-${store.newRunId()}`;
    const n = Math.max(1, Math.min(Number($('sweep-workers').value) || 1, 16, cells.length));
    $('sweep-run').disabled = true;
    $('sweep-stop').disabled = false;
    this.setStatus('running', `running ${cells.length} cells on ${n} worker(s)`);
    this.drawTable();
    this.t0 = performance.now();
    this.workers = [];
    let next = 0;
    const slot = async () => {
      const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
      this.workers.push(w);
      try {
        const engine = await new Promise((resolve) => {
          w.onmessage = ({ data: m }) => resolve(m.type === 'ready' ? m : null);
          w.onerror = (e) => { e.preventDefault(); resolve(null); };
          w.postMessage({ type: 'init', scalar: this.scalar });
        });
        if (!engine) return this.notice('Sweep: a worker could not load the core. Hint: rebuild the site and reload.');
        while (!this.stopping && next < cells.length) await this.runCell(w, engine, cells[next++]);
      } finally { w.terminate(); }
    };
    await Promise.all(Array.from({ length: n }, slot));
    for (const c of cells) if (c.state === 'waiting') c.state = 'skipped';
    this.drawTable();
    this.busy = false;
    this.onBusy();
    $('sweep-stop').disabled = true;
    const done = cells.filter((c) => c.state === 'finished').length;
    this.setStatus(this.stopping ? 'stopped' : 'finished', `${this.stopping ? 'stopped' : 'finished'}: ${done} of ${cells.length} cells finished in ${((performance.now() - this.t0) / 1000).toFixed(1)} s`);
    await this.redraw();
  }

  stop() {
    if (!this.busy) return;
    this.stopping = true;
    for (const w of this.workers) w.postMessage({ type: 'stop' });
    this.setStatus('stopping', 'stopping...');
  }

  // one cell on one worker; resolves when the cell ends (any way)
  runCell(w, engine, cell) {
    const rec = { id: store.newRunId(), name: `sweep: ${cell.label}`, config: cell.config, engine: engine.engine, isa: engine.isa, status: 'running', created: Date.now(), epochs: [], result: null, sweep: this.group };
    cell.id = rec.id;
    cell.state = 'running';
    let saving = store.putRun(rec).catch(() => {});
    const save = () => { const snap = structuredClone(rec); saving = saving.then(() => store.putRun(snap)).catch(() => {}); return saving; };
    this.drawRow(cell);
    return new Promise((resolve) => {
      const end = (state, message = '') => {
        cell.state = state;
        rec.status = state;
        rec.message = message;
        save().then(() => { this.onCellSaved(); resolve(); });
        this.drawRow(cell);
      };
      w.onmessage = ({ data: m }) => {
        if (m.type === 'progress') {
          const p = m.progress;
          cell.frac = (p.epoch * p.steps_per_epoch + p.step) / (p.epochs * p.steps_per_epoch);
          this.drawRow(cell);
        } else if (m.type === 'epoch') { rec.epochs.push(m.epoch); save(); }
        else if (m.type === 'done') { rec.result = m.result; rec.epochs = m.result.epochs; cell.acc = m.result.last_test_acc; cell.frac = 1; end(m.result.status); }
        else if (m.type === 'stopped') end('stopped', 'the sweep was stopped');
        else if (m.type === 'error') { cell.message = m.message; end('failed', m.message); }
      };
      // a worker that dies (out of memory, say) ends its cell instead of hanging the sweep
      w.onerror = (e) => { e.preventDefault(); cell.message = `the worker failed: ${e.message || 'no reason given'}`; end('failed', cell.message); };
      w.postMessage({ type: 'run', config: cell.config });
    });
  }

  drawTable() {
    const t = $('sweep-cells');
    t.replaceChildren(h('thead', {}, h('tr', {}, ...['cell', 'status', 'progress', 'test acc'].map((x) => h('th', { textContent: x })))), h('tbody'));
    this.rows = new Map();
    for (const c of this.cells) {
      const bar = h('progress', { max: 1, value: c.frac || 0 });
      const tr = h('tr', { dataset: { state: c.state } }, h('td', { className: 'left', textContent: c.label }), h('td', { className: 'status', textContent: c.state }), h('td', {}, bar), h('td', { textContent: pct(c.acc) }));
      this.rows.set(c, tr);
      t.tBodies[0].append(tr);
    }
  }

  drawRow(c) {
    const tr = this.rows?.get(c);
    if (!tr) return;
    tr.dataset.state = c.state;
    tr.children[1].textContent = c.state;
    tr.children[1].title = c.message || '';
    tr.children[2].firstChild.value = c.frac || 0;
    tr.children[3].textContent = pct(c.acc);
  }

  showGroup(group) { this.group = group; this.redraw(); }

  // the chart's numbers: one row per loss, one column per noise rate, mean ± sd (n runs)
  summaryTable(lines) {
    const xs = [...new Set(lines.flatMap(([, pts]) => pts.map((p) => p.x)))].sort((a, b) => a - b);
    const cell = (p) => (p ? `${pct(p.mean)} ± ${(100 * p.sd).toFixed(2)} (${p.n})` : '-');
    $('sweep-summary').replaceChildren(
      h('thead', {}, h('tr', {}, h('th', { textContent: 'loss \\ noise' }), ...xs.map((x) => h('th', { textContent: String(x) })))),
      h('tbody', {}, ...lines.map(([loss, pts]) => h('tr', {}, h('td', { textContent: loss }), ...xs.map((x) => h('td', { textContent: cell(pts.find((p) => p.x === x)) }))))));
  }

  // the chart of the current group: x = noise rate, one line per loss, mean ± std of last test acc
  async redraw() {
    if (!window.Chart) return;
    const all = await store.allRuns().catch(() => []);
    this.group ??= all.find((r) => r.sweep)?.sweep; // after a reload: the latest sweep or import
    if (!this.group) return;
    const runs = all.filter((r) => r.sweep === this.group && r.result && typeof r.result.last_test_acc === 'number');
    const byLoss = new Map();
    for (const r of runs) {
      const cfg = this.nl.configJSON(r.config);
      const line = byLoss.get(cfg.loss) ?? new Map();
      byLoss.set(cfg.loss, line);
      line.set(cfg.noise, [...(line.get(cfg.noise) ?? []), r.result.last_test_acc]);
    }
    const datasets = [];
    const lines = [...byLoss].sort((a, b) => a[0].localeCompare(b[0])).map(([loss, line]) => [loss, [...line].sort((a, b) => a[0] - b[0]).map(([x, ys]) => {
      const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
      const sd = Math.sqrt(ys.reduce((a, y) => a + (y - mean) ** 2, 0) / Math.max(1, ys.length - 1));
      return { x, mean, sd: ys.length > 1 ? sd : 0, n: ys.length };
    })]);
    this.summaryTable(lines);
    lines.forEach(([loss, pts], i) => {
      const c = colour(i);
      const band = c + '33';
      // upper and lower edges first, filled between them; then the mean line over them
      datasets.push({ label: `${loss} +1 sd`, data: pts.map((p) => ({ x: p.x, y: p.mean + p.sd })), borderColor: 'transparent', backgroundColor: band, pointRadius: 0, fill: false, band: true });
      datasets.push({ label: `${loss} -1 sd`, data: pts.map((p) => ({ x: p.x, y: p.mean - p.sd })), borderColor: 'transparent', backgroundColor: band, pointRadius: 0, fill: '-1', band: true });
      datasets.push({ label: loss, data: pts.map((p) => ({ x: p.x, y: p.mean })), borderColor: c, backgroundColor: c, pointRadius: 4, borderWidth: 2, fill: false });
    });
    this.chart?.destroy();
    this.chart = new window.Chart($('sweep-chart'), {
      type: 'line',
      data: { datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: { x: { type: 'linear', title: { display: true, text: 'noise rate' } }, y: { min: 0, suggestedMax: 0.5, title: { display: true, text: 'test accuracy' } } },
        plugins: { legend: { labels: { boxWidth: 12, filter: (item, data) => !data.datasets[item.datasetIndex].band } } },
      },
    });
    window.__lab && (window.__lab.sweepChart = { lines: byLoss.size, points: runs.length });
  }
}
