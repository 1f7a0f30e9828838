// history.js: the History tab. Every run is in IndexedDB (store.js); this lists them with a
// filter, opens, resumes, renames and deletes them, overlays the curves of selected runs with
// a table of how their configs differ, exports JSON or CSV and imports JSONL.
//
// Checkpoints: a run keeps one per finished epoch (until it finishes), under a cap in MB that
// the storage line shows and lets the user change. Each row says how many checkpoints the run
// holds and their size; Resume continues from the latest, or from the epoch picked beside it;
// "Delete old" keeps only the latest.
import * as store from './store.js';
import { configPairs, h } from './form.js';
import { colour, lineOptions, pct } from './views.js';

const $ = (id) => document.getElementById(id);
const MB = (b) => (b / 2 ** 20).toFixed(1);


// 2026-11-29 09:32: short, sortable, the same in every locale
const when = (t) => { const d = new Date(t), p = (n) => String(n).padStart(2, '0'); return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`; };
const lastAcc = (r) => r.result?.last_test_acc ?? r.epochs?.at(-1)?.test_acc;

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export class History {
  // onOpen(run), onResume(run), notice(text, kind), normalize(config) -> canonical or throws,
  // configJSON(config) -> every key's value
  constructor(opts) {
    Object.assign(this, opts);
    this.runs = [];
    this.selected = new Set();
    this.chart = null;
    $('history-filter').addEventListener('input', () => this.render());
    $('compare').addEventListener('click', () => this.compare());
    $('export-json').addEventListener('click', () => this.exportJSON());
    $('export-csv').addEventListener('click', () => this.exportCSV());
    $('import').addEventListener('change', (ev) => this.importFile(ev.target));
  }

  async refresh() {
    try {
      this.runs = await store.allRuns();
      this.ckpts = new Map(); // run id -> its checkpoints { epoch, size, saved }, by epoch
      for (const c of await store.checkpointIndex()) (this.ckpts.get(c.id) ?? this.ckpts.set(c.id, []).get(c.id)).push(c);
      for (const list of this.ckpts.values()) list.sort((a, b) => a.epoch - b.epoch);
    } catch (e) {
      this.runs = [];
      this.ckpts = new Map();
      this.capInput = null;
      $('storage').textContent = `History is not available: ${e.message}`;
      return;
    }
    this.render();
    await this.storageLine();
    lab().historyRendered = (lab().historyRendered ?? 0) + 1;
  }

  nameOf(id) {
    const r = this.runs.find((x) => x.id === id);
    return r ? `'${r.name}'` : 'a deleted run';
  }

  // The storage line: counts and sizes, the cap field and the clean-up. Built once and then
  // only updated, so the cap field keeps its focus and typing while the history refreshes.
  async storageLine() {
    const all = [...this.ckpts.values()].flat();
    const total = all.reduce((a, c) => a + c.size, 0);
    const line = $('storage');
    if (!this.capInput) {
      this.capInput = h('input', { id: 'ckpt-cap', type: 'number', min: '0.1', step: 'any', className: 'short', 'aria-label': 'checkpoint cap in MB', title: 'checkpoint cap in MB (kept in this browser)' });
      this.capInput.addEventListener('change', () => this.setCap(Number(this.capInput.value)));
      this.cleanButton = h('button', { type: 'button', className: 'small secondary', textContent: 'Delete old checkpoints', title: 'keep only the latest checkpoint of each resumable run' });
      this.cleanButton.addEventListener('click', () => this.deleteOldCheckpoints());
      this.storageText = h('span');
      this.storageTail = h('span');
      this.evictionText = h('span', { className: 'eviction', id: 'eviction' });
      line.replaceChildren(this.storageText, this.capInput, this.storageTail, ' ', this.cleanButton, this.evictionText);
    }
    if (document.activeElement !== this.capInput) this.capInput.value = String(+(this.capBytes() / 2 ** 20).toFixed(3));
    this.storageText.textContent = `${this.runs.length} run(s). Checkpoints (one per epoch of unfinished runs, for Resume): ${all.length}, ` +
      `${MB(total)} MB of the cap of `;
    let tail = ' MB; when they exceed it the oldest are evicted first, never the latest of a resumable run, never metrics.';
    const est = await navigator.storage?.estimate?.().catch(() => null);
    if (est?.quota) tail += ` The browser gives this site ${MB(est.usage)} MB used of ${MB(est.quota)} MB.`;
    this.storageTail.textContent = tail;
    this.cleanButton.hidden = all.length === 0;
    this.evictionText.textContent = this.lastEviction ? ` ${this.lastEviction}` : '';
  }

  visible() {
    const f = $('history-filter').value.trim().toLowerCase();
    return f ? this.runs.filter((r) => `${r.name} ${r.config} ${r.status} ${r.engine}`.toLowerCase().includes(f)) : this.runs;
  }

  render() {
    const body = $('history').tBodies[0];
    const runs = this.visible();
    $('history-empty').hidden = this.runs.length > 0;
    body.replaceChildren(...runs.map((r) => this.row(r)));
  }

  row(r) {
    const tr = h('tr', { dataset: { id: r.id, status: r.status } });
    const box = h('input', { type: 'checkbox', checked: this.selected.has(r.id), 'aria-label': `select ${r.name}` });
    box.addEventListener('change', () => (box.checked ? this.selected.add(r.id) : this.selected.delete(r.id)));
    const name = h('span', { className: 'name', textContent: r.name, title: r.config });
    let total = '?';
    try { total = this.configJSON(r.config).epochs; } catch { /* a config of another version */ }
    const actions = h('div', { className: 'actions' });
    const button = (label, fn, title = '') => {
      const b = h('button', { type: 'button', className: 'small secondary', textContent: label, title });
      b.addEventListener('click', fn);
      actions.append(b);
    };
    button('Open', () => this.onOpen(r), 'show its config, curves and results');
    const cks = this.ckpts.get(r.id) ?? [];
    if (cks.length && r.status !== 'finished' && !this.isBusy(r.id)) {
      // Resume from the latest checkpoint, or from the epoch picked beside it
      const pick = h('select', { className: 'small resume-epoch', 'aria-label': `resume ${r.name} from epoch`, title: 'the checkpoint to resume from' },
        ...cks.map((c) => h('option', { value: String(c.epoch), textContent: `after epoch ${c.epoch}`, selected: c === cks.at(-1) })));
      button('Resume', () => this.onResume(r, Number(pick.value)), 'continue the run from the picked checkpoint; the later epochs train again, to the same numbers');
      actions.append(pick);
    }
    if (cks.length > 1 && !this.isBusy(r.id))
      button('Delete old checkpoints', () => this.deleteOldCheckpoints(r.id), 'keep only the latest checkpoint of this run');
    button('Rename', () => this.rename(r, name));
    button('Delete', () => this.remove(r));
    const size = cks.reduce((a, c) => a + c.size, 0);
    tr.append(h('td', {}, box), h('td', { className: 'left' }, name, actions),
      h('td', { className: 'status', textContent: r.status, title: r.message || '' }),
      h('td', { textContent: `${r.epochs?.length ?? 0}/${total}` }),
      h('td', { className: 'ckpts', textContent: cks.length ? `${cks.length} · ${MB(size)} MB` : '-',
        title: cks.length ? `checkpoints after epoch ${cks.map((c) => c.epoch).join(', ')}` : 'no checkpoint' }),
      h('td', { textContent: pct(lastAcc(r)) }),
      h('td', { textContent: r.engine || '-' }),
      h('td', { textContent: when(r.created) }));
    return tr;
  }

  rename(r, span) {
    const input = h('input', { type: 'text', value: r.name, 'aria-label': 'new name' });
    const done = async (keep) => {
      if (keep && input.value.trim()) {
        r.name = input.value.trim().slice(0, 200);
        await store.putRun(r).catch((e) => this.notice(`Cannot rename: ${e.message}`));
      }
      this.refresh();
    };
    input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') done(true); if (ev.key === 'Escape') done(false); });
    input.addEventListener('blur', () => done(true));
    span.replaceWith(input);
    input.focus();
    input.select();
  }

  async remove(r) {
    if (this.isBusy(r.id)) return this.notice('This run is in progress: stop it before deleting it.', 'warn');
    await store.deleteRun(r.id).catch((e) => this.notice(`Cannot delete: ${e.message}`));
    this.selected.delete(r.id);
    this.refresh();
  }

  chosen() {
    const sel = this.runs.filter((r) => this.selected.has(r.id));
    return sel.length ? sel : this.visible();
  }

  compare() {
    const runs = this.runs.filter((r) => this.selected.has(r.id));
    if (runs.length < 2) return this.notice('Tick the boxes of two or more runs to compare them.', 'info');
    $('compare-panel').hidden = false;
    const datasets = [];
    runs.forEach((r, i) => {
      const c = colour(i);
      datasets.push({ label: `${r.name}: test acc`, data: (r.epochs || []).map((e) => ({ x: e.epoch, y: e.test_acc })), borderColor: c, backgroundColor: c, yAxisID: 'y1', pointRadius: 3 });
      datasets.push({ label: `${r.name}: train loss`, data: (r.epochs || []).map((e) => ({ x: e.epoch, y: e.train_loss })), borderColor: c, backgroundColor: c, yAxisID: 'y', borderDash: [5, 3], pointRadius: 2 });
    });
    this.chart?.destroy();
    if (window.Chart) this.chart = new window.Chart($('compare-chart'), { type: 'line', data: { datasets }, options: lineOptions() });
    // the keys on which the runs differ; a missing key is the default
    const maps = runs.map((r) => configPairs(r.config));
    const keys = [...new Set(maps.flatMap((m) => [...m.keys()]))].filter((k) => new Set(maps.map((m) => m.get(k) ?? '(default)')).size > 1);
    const table = $('diff');
    table.replaceChildren(
      h('thead', {}, h('tr', {}, h('th', { textContent: 'key' }), ...runs.map((r) => h('th', { textContent: r.name })))),
      h('tbody', {}, ...(keys.length ? keys : ['(none: same config)']).map((k) =>
        h('tr', {}, h('td', { textContent: k }), ...maps.map((m) => h('td', { textContent: keys.length ? m.get(k) ?? '(default)' : '' })))),
      h('tr', {}, h('td', { textContent: 'last test acc' }), ...runs.map((r) => h('td', { textContent: pct(lastAcc(r)) })))));
    lab().compared = runs.length;
  }

  async exportJSON() {
    const runs = await Promise.all(this.chosen().map((r) => store.getRun(r.id).then((full) => full ?? r)));
    download('noisylab-runs.json', 'application/json', JSON.stringify(runs, null, 1));
  }

  exportCSV() {
    const cols = ['epoch', 'lr', 'train_loss', 'train_acc', 'train_acc_clean', 'val_acc', 'test_loss', 'test_acc', 'grad_norm'];
    const q = (v) => (v === undefined || v === null ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
    const lines = [['id', 'name', 'status', 'config', ...cols].join(',')];
    for (const r of this.chosen())
      for (const e of r.epochs?.length ? r.epochs : [{}]) lines.push([r.id, r.name, r.status, r.config, ...cols.map((c) => e[c])].map(q).join(','));
    download('noisylab-runs.csv', 'text/csv', lines.join('\n') + '\n');
  }

  // JSONL: one run a line, at least {config, last_test_acc, best_test_acc, status, epochs}
  async importFile(input) {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    if (file.size > 50 * 2 ** 20) return this.notice(`${file.name} is ${MB(file.size)} MB; the import takes at most 50 MB.`);
    const text = await file.text();
    const sweep = `import-${Date.now().toString(36)}`;
    const problems = [];
    let added = 0;
    const lines = text.split(/\r?\n/);
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n].trim();
      if (!line) continue;
      try {
        await store.putRun(this.fromJSONL(JSON.parse(line), sweep, file.name, n + 1));
        added++;
      } catch (e) {
        problems.push(`line ${n + 1}: ${e instanceof SyntaxError ? 'not JSON' : e.message}`);
      }
    }
    await this.refresh();
    if (added) this.onImported?.(sweep);
    this.notice(`Imported ${added} run(s) from ${file.name}.` + (problems.length ? ` Skipped ${problems.length}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}` : ''),
      problems.length ? 'warn' : 'info');
  }

  fromJSONL(o, sweep, file, line) {
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error('not an object');
    if (typeof o.config !== 'string') throw new Error('no config string');
    const config = this.normalize(o.config); // throws with the core's message naming the key
    const acc = (k) => {
      if (typeof o[k] !== 'number' || !(o[k] >= 0 && o[k] <= 1)) throw new Error(`${k} must be a number from 0 to 1`);
      return o[k];
    };
    const status = String(o.status);
    if (!['finished', 'stopped', 'diverged', 'failed'].includes(status)) throw new Error(`status '${status.slice(0, 40)}' is not finished, stopped, diverged or failed`);
    const epochs = Array.isArray(o.epochs) ? o.epochs.filter((e) => e && typeof e.epoch === 'number').map((e) => {
      const out = { epoch: e.epoch };
      for (const k of ['lr', 'train_loss', 'train_acc', 'train_acc_clean', 'val_acc', 'test_loss', 'test_acc', 'grad_norm'])
        if (typeof e[k] === 'number') out[k] = e[k];
      return out;
    }) : [];
    if (!Array.isArray(o.epochs) && !(Number.isInteger(o.epochs) && o.epochs >= 0)) throw new Error('epochs must be a list or a count');
    return {
      id: store.newRunId(), name: `${typeof o.name === 'string' ? o.name.slice(0, 100) : config.replace(/^v=1&?/, '').slice(0, 80)} (imported)`,
      config, engine: typeof o.engine === 'string' ? o.engine.slice(0, 20) : 'imported', status, created: Date.now(), epochs,
      result: { last_test_acc: acc('last_test_acc'), best_test_acc: acc('best_test_acc'), epochs, status },
      sweep, imported: `${file}:${line}`,
    };
  }
}

const lab = () => (window.__lab ??= {});
