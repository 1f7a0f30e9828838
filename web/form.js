// form.js: the experiment's controls, generated from the core's config schema.
//
// Every key of nl.configSchema() gets a control (choice -> select, numbers -> text fields
// that keep exactly what was typed, matrix -> a K x K editor), so the page never drifts
// from the core: a new key shows up by itself (in 'Other'). The core stays the only
// parser: the form produces a key=value string and main.js normalises it with the core.
import { GROUPS, LOSS_TEXT, SHOWN_WHEN } from './text.js';

const h = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids.filter((k) => k !== null && k !== undefined));
  return e;
};
export { h };

// the parameters of the Loss group: each is shown when nl.lossParams() says the loss uses it
const LOSS_PARAMS = GROUPS.find((g) => g.name === 'Loss').keys.filter((k) => k !== 'loss');

// "a number from 0 to 100, default 0.01" from a schema entry
function rangeText(s) {
  if (s.type === 'choice') return `default ${s.default}`;
  if (s.type === 'preset') return 'choosing one sets every control to its settings, which you can then change';
  if (s.type === 'matrix') return 'rows of P(given | true), each summing to 1';
  const kind = s.type === 'int' ? 'whole number' : 'number';
  const lo = s.min_exclusive ? `above ${s.min}` : `${s.min}`;
  return `${kind} ${lo} to ${s.max}${s.type === 'number-or-auto' ? ' or auto' : ''}; default ${s.default}`;
}

// The K x K editor of noise_matrix: one field per cell, row sums beside each row.
// Its value is the core's format: rows joined by ';', cells by ','.
class MatrixEditor {
  constructor(onInput) {
    this.onInput = onInput;
    this.el = h('div', { className: 'matrix' });
    this.K = 0;
    this.cells = [];
  }
  resize(K, names = []) {
    if (K === this.K && names.join('\n') === (this.names ?? []).join('\n')) return;
    this.names = names;
    const old = this.value;
    this.K = K;
    const table = h('table', { className: 'matrix-table' });
    const head = h('tr', {}, h('th', { textContent: 'true \\ given' }));
    for (let j = 0; j < K; j++) head.append(h('th', { textContent: names[j] ?? String(j), title: names[j] ?? '' }));
    head.append(h('th', { textContent: 'sum' }));
    table.append(h('thead', {}, head));
    const body = h('tbody');
    this.cells = [];
    this.sums = [];
    for (let i = 0; i < K; i++) {
      const tr = h('tr', {}, h('th', { textContent: names[i] ?? String(i) }));
      const row = [];
      for (let j = 0; j < K; j++) {
        const f = h('input', { type: 'text', inputMode: 'decimal', value: i === j ? '1' : '0', 'aria-label': `P(given ${j} | true ${i})` });
        f.addEventListener('input', () => { this.updateSums(); this.onInput(); });
        row.push(f);
        tr.append(h('td', {}, f));
      }
      const sum = h('td', { className: 'sum' });
      this.sums.push(sum);
      tr.append(sum);
      this.cells.push(row);
      body.append(tr);
    }
    table.append(body);
    this.el.replaceChildren(table);
    if (old) this.value = old;
    this.updateSums();
  }
  updateSums() {
    this.cells.forEach((row, i) => {
      const s = row.reduce((a, f) => a + Number(f.value || 0), 0);
      this.sums[i].textContent = Number.isFinite(s) ? s.toFixed(3) : '?';
      this.sums[i].classList.toggle('bad', !(Math.abs(s - 1) < 1e-6));
    });
  }
  get value() {
    return this.cells.map((row) => row.map((f) => f.value.trim() || '0').join(',')).join(';');
  }
  set value(v) {
    const rows = v ? v.split(';').map((r) => r.split(',')) : [];
    this.cells.forEach((row, i) => row.forEach((f, j) => { f.value = rows[i]?.[j] ?? (rows.length ? '0' : i === j ? '1' : '0'); }));
    this.updateSums();
  }
}

// The class subset (config key classes): a row of checkboxes named by the dataset's classes,
// beside the text of the list. The text is the value (the core's format: "all" or ids joined
// by ','), since its order is the order of the new labels: ticking boxes writes the ticked ids
// in ascending order, and a link's own order (classes=9,0) stays as long as the ticked set
// is the same. Every box ticked, or none, is "all".
class ClassPicker {
  constructor(onInput) {
    this.onInput = onInput;
    this.text = h('input', { id: 'cfg-classes', name: 'classes', type: 'text', spellcheck: false, placeholder: 'all', autocomplete: 'off' });
    this.boxes = h('div', { className: 'class-boxes', role: 'group', 'aria-label': 'classes to keep' });
    this.el = h('div', { className: 'class-picker' }, this.boxes, this.text);
    this.K = 0;
    this.names = [];
    this.text.addEventListener('input', () => { this.sync(); onInput(false); });
    this.text.addEventListener('change', () => { this.text.value = this.text.value.replace(/\s+/g, ''); this.sync(); onInput(true); });
  }
  // the ids of the text, or null for all (or a list the core will refuse: then no box is sure)
  ids() {
    const v = this.text.value.trim();
    if (v === '' || v === 'all') return null;
    return v.split(',').map((x) => Number(x)).filter((x) => Number.isInteger(x) && x >= 0);
  }
  resize(K, names) {
    if (K === this.K && names.join('\n') === this.names.join('\n')) return this.sync();
    this.K = K;
    this.names = names;
    this.boxes.replaceChildren(...Array.from({ length: K }, (_, i) => {
      const box = h('input', { type: 'checkbox', value: String(i), dataset: { class: String(i) } });
      box.addEventListener('change', () => this.ticked());
      return h('label', { className: 'class-box', title: `class ${i}` }, box, ` ${names[i] ?? i}`);
    }));
    this.sync();
  }
  // boxes <- text
  sync() {
    const ids = this.ids(), set = ids && new Set(ids);
    for (const box of this.boxes.querySelectorAll('input')) box.checked = !set || set.has(Number(box.value));
  }
  // text <- boxes
  ticked() {
    const on = [...this.boxes.querySelectorAll('input')].filter((b) => b.checked).map((b) => Number(b.value));
    const ids = this.ids();
    const same = ids && ids.length === on.length && on.every((i) => ids.includes(i));
    if (!same) this.text.value = on.length === 0 || on.length === this.K ? 'all' : on.join(',');
    this.sync();
    this.onInput(true);
  }
}

export class ConfigForm {
  // schema: nl.configSchema(); lossParams(config) -> the keys the loss uses; onChange() on any edit
  constructor(root, schema, { lossParams, onChange, onPreset }) {
    this.schema = new Map(schema.map((s) => [s.key, s]));
    this.lossParams = lossParams;
    this.onChange = onChange;
    this.onPreset = onPreset;
    this.fields = new Map(); // key -> { s, control, wrap }
    this.root = root;
    this.build();
  }

  build() {
    const grouped = new Set(GROUPS.flatMap((g) => g.keys));
    const groups = GROUPS.map((g) => ({ ...g, keys: g.keys.filter((k) => this.schema.has(k)) }));
    const other = groups.find((g) => g.name === 'Other');
    for (const k of this.schema.keys()) if (k !== 'v' && !grouped.has(k)) other.keys.push(k);
    let timer = 0;
    const changed = (now) => { clearTimeout(timer); timer = setTimeout(() => this.onChange(), now ? 0 : 250); };
    for (const g of groups) {
      if (!g.keys.length) continue;
      const fs = h('fieldset', {}, h('legend', { textContent: g.name }));
      for (const key of g.keys) fs.append(this.field(this.schema.get(key), changed));
      if (g.name === 'Loss') {
        this.lossText = h('p', { className: 'explain', id: 'loss-text' });
        fs.insertBefore(this.lossText, fs.children[2] || null);
      }
      this.root.append(fs);
    }
  }

  field(s, changed) {
    const id = `cfg-${s.key}`;
    let control;
    if (s.key === 'noise_matrix') {
      this.matrix = new MatrixEditor(() => changed(false));
      this.matrix.resize(10);
      control = this.matrix.el;
    } else if (s.type === 'classes') {
      this.classes = new ClassPicker((now) => changed(now));
      control = this.classes.text;
      const wrap = h('div', { className: 'field', dataset: { key: s.key } },
        h('label', { htmlFor: id, textContent: s.key }), this.classes.el,
        h('small', { textContent: `${s.help}. Tick the classes to keep, or write their numbers in the order the labels should take.` }));
      this.fields.set(s.key, { s, control, wrap });
      return wrap;
    } else if (s.type === 'preset') {
      // not a setting of its own: the core expands a preset into its keys, so choosing one
      // replaces the whole config, and the canonical string (the link) never names it
      control = h('select', { id, name: s.key }, h('option', { value: '', textContent: '(none)' }),
        ...s.choices.map((c) => h('option', { value: c, textContent: c })));
      control.addEventListener('change', () => { if (control.value) this.onPreset(control.value); });
    } else if (s.type === 'choice' || (s.type === 'int' && s.min === 0 && s.max === 1)) {
      const choices = s.type === 'choice' ? s.choices : ['0', '1'];
      control = h('select', { id, name: s.key }, ...choices.map((c) => h('option', { value: c, textContent: c })));
      control.addEventListener('change', () => changed(true));
    } else {
      control = h('input', { id, name: s.key, type: 'text', inputMode: 'decimal', spellcheck: false, placeholder: s.default, autocomplete: 'off' });
      control.addEventListener('input', () => changed(false));
      control.addEventListener('change', () => changed(true));
    }
    const wrap = h('div', { className: 'field', dataset: { key: s.key } },
      h('label', { htmlFor: id, textContent: s.key }), control,
      h('small', { textContent: `${s.help}. ${rangeText(s)}.` }));
    this.fields.set(s.key, { s, control, wrap });
    return wrap;
  }

  // the raw config of the controls: every key that differs from its default
  read() {
    const parts = [];
    const custom = this.fields.get('noise_type')?.control.value === 'custom';
    for (const [key, { s, control }] of this.fields) {
      // the matrix belongs in the config only when it is the noise model
      if ((key === 'noise_matrix' && !custom) || key === 'preset') continue;
      const v = (key === 'noise_matrix' ? this.matrix.value : control.value).trim();
      if (v === '' || v === s.default) continue;
      parts.push(`${key}=${encodeURIComponent(v)}`);
    }
    return parts.join('&');
  }

  // sets every control from a canonical config string (keys absent = defaults)
  write(canonical) {
    const values = new Map([...configPairs(canonical)].map(([k, v]) => [k, safeDecode(v)]));
    for (const [key, { s, control }] of this.fields) {
      const v = values.has(key) ? values.get(key) : s.default;
      if (key === 'noise_matrix') this.matrix.value = v;
      else control.value = v;
    }
    this.refresh(canonical);
  }

  // shows the controls that matter for this config, the loss's explanation, the matrix size
  refresh(canonical, { classes = 10, classNames = [] } = {}) {
    const value = (k) => (k === 'noise_matrix' ? this.matrix.value : this.fields.get(k)?.control.value);
    let lossKeys = null;
    try { lossKeys = new Set(Object.keys(this.lossParams(canonical))); } catch { /* a bad config: show them all */ }
    for (const [key, { wrap }] of this.fields) {
      let shown = true;
      const when = SHOWN_WHEN[key];
      if (when) shown = Object.entries(when).every(([k, vals]) => vals.includes(value(k)));
      if (LOSS_PARAMS.includes(key)) shown = lossKeys ? lossKeys.has(key) : true;
      wrap.hidden = !shown;
    }
    // the class subset: boxes named by the dataset's classes; the matrix is k x k over the kept ones
    this.classes?.resize(classes, classNames);
    const kept = this.classes?.ids();
    if (kept && kept.length >= 2 && kept.every((i) => i < classes)) {
      classNames = kept.map((i) => classNames[i] ?? String(i));
      classes = kept.length;
    }
    if (this.matrix) this.matrix.resize(classes, classNames);
    const loss = value('loss');
    this.lossText.textContent = LOSS_TEXT[loss] || `No explanation is written for '${loss}' yet; see \`npx noisylab loss --help\`.`;
  }

  // marks the control of a key the core refused (null: none)
  mark(key) {
    for (const [k, { wrap }] of this.fields) wrap.classList.toggle('invalid', k === key);
  }
}

// "key=value&..." -> Map of key -> value as written (a canonical string has only non-defaults)
export function configPairs(config) {
  const m = new Map();
  for (const part of String(config).split('&')) {
    const i = part.indexOf('=');
    if (i > 0) m.set(part.slice(0, i), part.slice(i + 1));
  }
  return m;
}

export function safeDecode(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}
