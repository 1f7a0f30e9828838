// graph.js: the "Explore graph" panel. It shows the statistics of a graph (core/eda.h, the
// numbers `npx noisylab eda` prints): counts, node kinds and literal modalities, a log-log
// degree histogram, the 20 most frequent relations, labels per split, components and
// homophily. The graphs of this site are listed in graphs/index.json (scripts/build-site.mjs);
// a graph-subset bundle (`npx noisylab graph-subset`) can be loaded from a file.
//
// The subset builder runs nl_graph_subset (`npx noisylab graph-subset`) on a knowledge graph of
// the site, shows its report and the subset's EDA, and offers the bundle's bytes as a download:
// the same file the CLI writes for the same graph, hops, MAX_NODES and seed.
//
// The EDA and the subsets run in graph-worker.js, never on this thread; the page only draws,
// with the DOM and one small canvas (no Chart.js here: creating a Chart.js chart measures its
// labels and lays itself out in one task of 60-300 ms on a slow machine). Every label is text
// (textContent, canvas text), never HTML: relation and class names come from files.
// For tests: lab.graphState (idle, loading, done, error), lab.graphEda, lab.graphManifest,
// lab.graphSubset ({ file, size, manifest } of the last subset), lab.graphDrawn (draws done).
import { h } from './form.js';
import { colour, shortName } from './views.js';

const fmt = (n) => (n === null || n === undefined ? 'n/a' : Number(n).toLocaleString('en'));
const f3 = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(3));
const short = shortName;
const KG_FORMATS = new Set(['rgcn', 'kgbench', 'bundle']);
const nextFrame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))); // after the paint

export class GraphPanel {
  // root: the panel element; notice(text, kind): the page's notice; lab: window.__lab;
  // onTrainSubset({ file, bytes, manifest }): trains on a subset (set by main.js when the
  // training worker takes bundle bytes; without it the "Train on this subset" button is hidden)
  constructor(root, { notice, lab, onTrainSubset = null }) {
    this.root = root;
    this.notice = notice;
    this.lab = lab;
    this.lab.graphState = 'idle';
    this.lab.graphDrawn = 0;
    this.onTrainSubset = onTrainSubset;
    this.worker = null;
    this.seq = 0;      // the id of every request
    this.current = 0;  // the panel's latest request: older answers are dropped
    this.pending = new Map();
    this.summaries = new Map();
    this.subset = null; // { file, bytes, manifest, url }
    this.index = [];
    this.select = h('select', { id: 'graph-select', 'aria-label': 'graph' });
    this.explore = h('button', { type: 'button', id: 'graph-explore', textContent: 'Explore' });
    this.file = h('input', { type: 'file', id: 'graph-bundle', accept: '.nlkg,application/octet-stream' });
    this.status = h('p', { id: 'graph-status', className: 'mono', role: 'status' });
    const num = (id, value, label, help) => {
      const input = h('input', { type: 'number', id, value: String(value), step: '1', inputMode: 'numeric' });
      return [input, h('label', { className: 'field' }, h('span', { textContent: label }), input, h('small', { className: 'hint', textContent: help }))];
    };
    let l1, l2, l3;
    [this.hops, l1] = num('graph-hops', 2, 'hops', 'neighbours of the labelled nodes, hop by hop (0 or more)');
    [this.maxNodes, l2] = num('graph-max-nodes', 5000, 'MAX_NODES', 'at most this many nodes; at least the labelled ones');
    [this.seed, l3] = num('graph-seed', 0, 'seed', 'which nodes a capped hop and the random fill take');
    this.hops.min = '0';
    this.maxNodes.min = '1';
    this.seed.min = '0';
    this.make = h('button', { type: 'button', id: 'graph-subset', textContent: 'Make subset' });
    this.download = h('a', { id: 'graph-download', className: 'button secondary', textContent: 'Download bundle', hidden: true });
    this.train = h('button', { type: 'button', id: 'graph-train-subset', className: 'secondary', textContent: 'Train on this subset', hidden: true });
    this.train.addEventListener('click', () => this.trainOnSubset());
    this.report = h('dl', { className: 'facts', id: 'graph-subset-report', hidden: true });
    this.subsetHint = h('p', { className: 'hint', id: 'graph-subset-hint' });
    this.out = this.skeleton();
    this.explore.addEventListener('click', () => this.run({ type: 'eda', name: this.select.value }, `computing the statistics of ${this.select.value}…`));
    this.make.addEventListener('click', () => this.makeSubset());
    this.select.addEventListener('change', () => this.refreshSubsetControls());
    this.file.addEventListener('change', () => { const f = this.file.files[0]; this.file.value = ''; if (f) this.loadBundle(f); });
    root.replaceChildren(
      h('h2', { textContent: 'Explore graph' }),
      h('p', { className: 'hint', textContent: 'Statistics of a graph, computed by the core in a Worker: the numbers of `npx noisylab eda`. ' +
        'Pick a graph of this site, or load a bundle written by `npx noisylab graph-subset`.' }),
      h('div', { className: 'row' }, this.select, this.explore,
        h('label', { className: 'file-button secondary' }, 'Load a graph-subset bundle', this.file)),
      h('details', { id: 'graph-subset-builder', className: 'subset-builder' },
        h('summary', { textContent: 'Subset builder: a k-hop subgraph as a bundle file' }),
        h('p', { className: 'hint', textContent: 'Keeps every labelled node, then their neighbours hop by hop up to MAX_NODES, then fills ' +
          'with random nodes: `npx noisylab graph-subset <graph> --hops H --max-nodes N --seed S` gives the same file.' }),
        h('div', { className: 'subset-fields' }, l1, l2, l3),
        h('div', { className: 'row' }, this.make, this.download, this.train),
        this.subsetHint, this.report),
      this.status, this.out);
    this.setStatus('idle', '');
  }

  async init() {
    try {
      const res = await fetch('graphs/index.json');
      this.index = res.ok ? (await res.json()).graphs : [];
    } catch { this.index = []; }
    this.select.replaceChildren(...this.index.map((g) => h('option', { value: g.name, textContent: `${g.name} (${g.format})` })));
    this.explore.disabled = !this.index.length;
    if (!this.index.length) this.setStatus('idle', 'No graph is on this site; a bundle file still works.');
    this.refreshSubsetControls();
  }

  // is the dataset a graph of this site? (the dataset card asks)
  has(name) { return this.index.some((g) => g.name === name); }
  entry(name) { return this.index.find((g) => g.name === name) ?? null; }

  // the experiment's dataset: preselected when it is a graph of this site
  setDataset(name) {
    if (this.has(name)) { this.select.value = name; this.refreshSubsetControls(); }
  }

  refreshSubsetControls() {
    const g = this.entry(this.select.value);
    const kg = !!g && KG_FORMATS.has(g.format);
    this.make.disabled = !kg || this.lab.graphState === 'loading';
    this.subsetHint.textContent = !g ? 'No graph is selected.' : kg ? '' : `${g.name} is a citation graph: subsets are of knowledge graphs (aifb, mutag, kgbench).`;
  }

  setStatus(state, text) {
    this.lab.graphState = state;
    this.status.dataset.state = state;
    this.status.textContent = text;
  }

  // one request to the graph worker; resolves with its answer, rejects with its error
  request(msg, transfer = []) {
    this.worker ??= this.startWorker();
    msg.id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg, transfer);
    });
  }

  startWorker() {
    const w = new Worker(new URL('graph-worker.js', import.meta.url), { type: 'module' });
    w.onmessage = ({ data: m }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.type === 'error') p.reject(new Error(m.message)); else p.resolve(m);
    };
    w.onerror = (e) => {
      const err = new Error(`the graph worker failed: ${e.message || 'unknown error'}. Hint: reload the page.`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      this.worker?.terminate();
      this.worker = null;
    };
    return w;
  }

  // the EDA of a graph of the site for the dataset card: one request per graph and page
  summary(name) {
    if (!this.summaries.has(name)) {
      const p = this.request({ type: 'eda', name }).then((m) => m.eda);
      p.catch(() => this.summaries.delete(name));
      this.summaries.set(name, p);
    }
    return this.summaries.get(name);
  }

  async loadBundle(file) {
    let bytes;
    try { bytes = await file.arrayBuffer(); } catch (e) {
      return this.fail(`cannot read ${file.name}: ${e.message}. Hint: pick the file again.`);
    }
    this.run({ type: 'eda-bundle', file: file.name, bytes }, `computing the statistics of ${file.name}…`, [bytes]);
  }

  // a request of the panel: its answer is drawn unless a newer one was made meanwhile
  async run(msg, what, transfer = []) {
    this.setStatus('loading', what);
    this.explore.disabled = this.make.disabled = true;
    const p = this.request(msg, transfer);
    const id = this.current = msg.id;
    let m;
    try { m = await p; } catch (e) {
      if (id === this.current) this.fail(e.message);
      return null;
    }
    if (id !== this.current) return null;
    this.explore.disabled = !this.index.length;
    if (m.type === 'subset') this.showSubset(m);
    await this.render(m.eda, m.manifest);
    if (id !== this.current) return null;
    this.lab.graphEda = m.eda;
    this.lab.graphManifest = m.manifest;
    this.setStatus('done', `${m.eda.name}: ${fmt(m.eda.nodes)} nodes, ${fmt(m.eda.edges)} edges`);
    this.refreshSubsetControls();
    return m;
  }

  // reads the three numbers; a value that is not a whole number is refused here, the rest
  // (hops < 0, MAX_NODES below the labelled set) by the core, with its message
  makeSubset() {
    this.clearSubset(); // the last subset's report and download would pass for this one's
    const read = (input, what, example) => {
      const v = input.value.trim();
      if (!/^-?\d+$/.test(v)) throw new Error(`${what} '${v}' is not a whole number. Hint: type digits only, e.g. ${example}.`);
      return Number(v);
    };
    let hops, maxNodes, seed;
    try {
      hops = read(this.hops, 'hops', 2), maxNodes = read(this.maxNodes, 'MAX_NODES', 5000), seed = read(this.seed, 'seed', 0);
      if (seed < 0 || seed > 0xffffffff) throw new Error(`seed ${seed} is out of range. Hint: give 0 to 4294967295.`);
      if (Math.abs(hops) > 1e6 || Math.abs(maxNodes) > 2 ** 31 - 1) throw new Error('hops or MAX_NODES is far too large. Hint: hops up to 1000, MAX_NODES up to the graph\'s size.');
    } catch (e) { return this.fail(`subset: ${e.message}`); }
    const name = this.select.value;
    return this.run({ type: 'subset', name, hops, maxNodes, seed }, `making a ${hops}-hop subset of ${name} (at most ${fmt(maxNodes)} nodes, seed ${seed})…`);
  }

  clearSubset() {
    if (this.subset?.url) URL.revokeObjectURL(this.subset.url);
    this.subset = null;
    this.lab.graphSubset = null;
    this.download.hidden = this.train.hidden = this.report.hidden = true;
    this.download.removeAttribute('href');
  }

  showSubset(m) {
    const man = m.manifest, e = m.eda;
    const url = URL.createObjectURL(new Blob([m.bytes], { type: 'application/octet-stream' }));
    this.subset = { file: m.file, bytes: m.bytes, manifest: man, url };
    this.lab.graphSubset = { file: m.file, size: m.bytes.byteLength, manifest: man };
    this.download.href = url;
    this.download.download = m.file;
    this.download.textContent = `Download bundle (${m.file}, ${(m.bytes.byteLength / 1024).toFixed(0)} kB)`;
    this.download.hidden = false;
    this.train.hidden = !this.onTrainSubset;
    const mods = Object.entries(e.literal_modalities || {}).filter(([, n]) => n > 0);
    const rows = [
      ['nodes kept', `${fmt(man.nodes)} of ${fmt(man.source_nodes)}: ${fmt(man.from_labelled)} labelled + ${fmt(man.from_hops)} by hops + ${fmt(man.from_fill)} random fill`],
      ['triples kept', `${fmt(man.triples)} of ${fmt(man.source_triples)} (${fmt(man.relations)} relations)`],
      ['labelled kept', `${fmt(man.labelled)} (${fmt(e.labels.training.reduce((a, b) => a + b, 0))} training, ${fmt(e.labels.test.reduce((a, b) => a + b, 0))} test)`],
      ['hops', man.capped_hop > 0 ? `hop ${man.capped_hop} reached MAX_NODES and was sampled (seed ${man.seed})` : `${man.last_hop} of ${man.hops} hops added nodes; none was capped`],
      ['literals per modality', mods.length ? mods.map(([k, n]) => `${k} ${fmt(n)}`).join(' · ') : 'none'],
    ];
    this.report.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', { textContent: k }), h('dd', { textContent: v })]));
    this.report.hidden = false;
  }

  // For main.js: the last subset, { file, bytes (Uint8Array of the bundle), manifest }, or null
  subsetBundle() {
    return this.subset ? { file: this.subset.file, bytes: this.subset.bytes, manifest: this.subset.manifest } : null;
  }

  // "Train on this subset": hands the bundle to onTrainSubset (the training worker's side is
  // main.js's; the button is hidden until main.js passes the hook)
  trainOnSubset() {
    const b = this.subsetBundle();
    if (b && this.onTrainSubset) this.onTrainSubset(b);
  }

  fail(message) {
    this.explore.disabled = !this.index.length;
    this.out.hidden = true; // the last graph's numbers would pass for this one's
    this.lab.graphEda = this.lab.graphManifest = null;
    this.setStatus('error', message);
    this.refreshSubsetControls();
    this.notice(`Explore graph: ${message}`, 'error');
  }

  // the views, built once: a new graph replaces their text
  skeleton() {
    this.v = {
      title: h('h3'), facts: h('dl', { className: 'facts', id: 'graph-facts' }),
      degree: h('canvas', { id: 'graph-degree', role: 'img', width: 400, height: 240 }),
      degreeNote: h('p', { className: 'hint' }), relTitle: h('h3'),
      relations: h('div', { className: 'histogram relations', id: 'graph-relations', role: 'list' }),
      modTitle: h('h3', { textContent: 'Literals per modality' }), modalities: h('table', { className: 'num', id: 'graph-modalities' }),
      labTitle: h('h3'), labels: h('table', { className: 'num', id: 'graph-labels' }),
    };
    const v = this.v;
    return h('div', { id: 'graph-out', hidden: true }, v.title, v.facts,
      h('div', { className: 'grid2' },
        h('div', {}, h('h3', { textContent: 'Degree distribution (log-log, log2 bins)' }), h('div', { className: 'degree-box' }, v.degree), v.degreeNote),
        h('div', {}, v.relTitle, v.relations)),
      v.modTitle, v.modalities, v.labTitle, v.labels);
  }

  // text first (one task), then the canvas in a task of its own after the next paint
  async render(e, manifest) {
    const kg = e.kind === 'kg';
    const facts = [
      ['nodes', fmt(e.nodes)],
      ['edges', `${fmt(e.edges)} ${kg ? 'triples' : 'undirected'}${e.self_loops ? ` (${fmt(e.self_loops)} self loops)` : ''}`],
      ['relations', `${fmt(e.relations)} (${fmt(e.relations_used)} used)`],
    ];
    if (kg) facts.push(['node kinds', `IRI ${fmt(e.node_kinds.iri)} · blank ${fmt(e.node_kinds.blank)} · literal ${fmt(e.node_kinds.literal)}`]);
    else facts.push(['features', `${fmt(e.features)} per node`]);
    const d = e.degree, c = e.components, hm = e.homophily;
    facts.push(['degree', `min ${d.min} · median ${d.median} · mean ${d.mean.toFixed(2)} · max ${fmt(d.max)} · isolated ${fmt(d.isolated)}`]);
    facts.push(['components', `${fmt(c.count)}; the largest has ${fmt(c.largest)} nodes and ${fmt(c.labelled_in_largest)} of the ${fmt(e.labels.labelled)} labelled`]);
    facts.push(['edge homophily', hm.edge === null ? 'n/a: no edge joins two labelled nodes' : `${f3(hm.edge)} over ${fmt(hm.labelled_pairs)} labelled pairs`]);
    facts.push(['2-hop homophily', hm.two_hop === null ? 'n/a: no two labelled nodes share a neighbour' : `${f3(hm.two_hop)} over ${fmt(hm.two_hop_paths)} paths u–v–w (chance ${f3(hm.chance)})`]);
    if (manifest && manifest.source)
      facts.push(['bundle', `${manifest.source}, ${manifest.hops} hops, at most ${fmt(manifest.max_nodes)} nodes, seed ${manifest.seed}: ` +
        `${fmt(manifest.from_labelled)} labelled + ${fmt(manifest.from_hops)} by hops + ${fmt(manifest.from_fill)} random fill, of ${fmt(manifest.source_nodes)}`]);
    const v = this.v;
    v.title.textContent = `${e.name}: ${kg ? 'knowledge graph' : 'citation graph'}`;
    v.facts.replaceChildren(...facts.flatMap(([k, val]) => [h('dt', { textContent: k }), h('dd', { textContent: val })]));
    const rows = (table, head, body) => table.replaceChildren(
      h('thead', {}, h('tr', {}, ...head.map((t) => h('th', { textContent: t })))),
      h('tbody', {}, ...body.map((r) => h('tr', {}, ...r.map((t) => h('td', { textContent: String(t) }))))));
    const splits = ['training', 'validation', 'test', 'other'].filter((sp) => e.labels[sp].some((x) => x));
    rows(v.labels, ['class', ...splits], e.classes.map((name, i) => [short(name), ...splits.map((sp) => fmt(e.labels[sp][i]))]));
    e.classes.forEach((name, i) => { if (short(name) !== name) v.labels.tBodies[0].rows[i].cells[0].title = name; });
    v.labTitle.textContent = `Labels per split (${fmt(e.labels.labelled)} labelled, ${fmt(e.labels.unlabelled)} not)`;
    v.modTitle.hidden = v.modalities.hidden = !kg;
    if (kg) rows(v.modalities, ['modality', 'literals'], Object.entries(e.literal_modalities).map(([k, n]) => [k, fmt(n)]));
    v.degreeNote.textContent = `Each point is a bin [2^(b-1), 2^b - 1] of total degree (in + out). ${fmt(d.isolated)} isolated nodes are not on the log axis.`;
    // the top relations as bars of text: the full IRI is the row's title
    v.relTitle.textContent = `Top ${e.top_relations.length} relations (${kg ? 'triples' : 'edges'})`;
    const max = Math.max(1, ...e.top_relations.map((r) => r.count));
    v.relations.replaceChildren(...e.top_relations.map((r) => {
      const bar = h('span', { className: 'hbar' });
      bar.style.width = `${(100 * r.count / max).toFixed(1)}%`; // CSSOM, which the CSP allows
      return h('div', { className: 'hrow', role: 'listitem', title: `${r.name}: ${fmt(r.count)}` },
        h('span', { className: 'hname', textContent: short(r.name) }), h('span', { className: 'htrack' }, bar),
        h('span', { className: 'hcount', textContent: fmt(r.count) }));
    }));
    this.out.hidden = false;
    await nextFrame();
    this.drawDegree(d);
    this.lab.graphDrawn++;
  }

  // the log-log degree histogram on a plain canvas: a few hundred draw calls
  drawDegree(d) {
    const cv = this.v.degree;
    const points = d.log2_bins.filter((b) => b.lo >= 1 && b.count > 0);
    cv.setAttribute('aria-label', `degree distribution: ${points.map((b) => `degree ${b.lo}–${b.hi}: ${b.count} nodes`).join('; ')}`);
    cv.title = points.map((b) => `degree ${fmt(b.lo)}–${fmt(b.hi)}: ${fmt(b.count)} nodes`).join('\n');
    const W = 400, H = 240, dpr = Math.min(2, window.devicePixelRatio || 1);
    if (cv.width !== W * dpr) { cv.width = W * dpr; cv.height = H * dpr; }
    const ctx = cv.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    if (!points.length) return;
    const L = 52, R = 12, T = 10, B = 38;
    const decades = (lo, hi) => [Math.floor(Math.log10(lo)), Math.max(Math.floor(Math.log10(lo)) + 1, Math.ceil(Math.log10(hi)))];
    const [x0, x1] = decades(points[0].lo, points[points.length - 1].lo);
    const [y0, y1] = decades(Math.min(...points.map((p) => p.count)), Math.max(...points.map((p) => p.count)));
    const X = (x) => L + (Math.log10(x) - x0) / (x1 - x0) * (W - L - R);
    const Y = (y) => H - B - (Math.log10(y) - y0) / (y1 - y0) * (H - T - B);
    ctx.font = '11px system-ui, sans-serif';
    const css = getComputedStyle(cv); // the page's colours, light or dark
    ctx.strokeStyle = css.getPropertyValue('--line').trim() || '#ddd';
    ctx.fillStyle = css.getPropertyValue('--muted').trim() || '#666';
    ctx.lineWidth = 1;
    const label = (v) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : String(v));
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (let k = x0; k <= x1; k++) {
      const x = X(10 ** k);
      ctx.beginPath(); ctx.moveTo(x, T); ctx.lineTo(x, H - B); ctx.stroke();
      ctx.fillText(label(10 ** k), x, H - B + 4);
    }
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let k = y0; k <= y1; k++) {
      const y = Y(10 ** k);
      ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(W - R, y); ctx.stroke();
      ctx.fillText(label(10 ** k), L - 6, y);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText('degree', L + (W - L - R) / 2, H - 2);
    ctx.save();
    ctx.translate(12, T + (H - T - B) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'middle';
    ctx.fillText('nodes', 0, 0);
    ctx.restore();
    ctx.strokeStyle = ctx.fillStyle = colour(0);
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach((p, i) => (i ? ctx.lineTo(X(p.lo), Y(p.count)) : ctx.moveTo(X(p.lo), Y(p.count))));
    ctx.stroke();
    for (const p of points) { ctx.beginPath(); ctx.arc(X(p.lo), Y(p.count), 3.5, 0, 2 * Math.PI); ctx.fill(); }
  }
}
