// graph.js: the "Explore graph" panel. It shows the statistics of a graph (core/eda.h, the
// numbers `npx noisylab eda` prints): counts, node kinds and literal modalities, a log-log
// degree histogram, the 20 most frequent relations, labels per split, components and
// homophily. The graphs of this site are listed in graphs/index.json (scripts/build-site.mjs);
// a graph-subset bundle (`npx noisylab graph-subset`) can be loaded from a file.
//
// The EDA runs in graph-worker.js, never on this thread; the page only draws. Every label is
// text (textContent, Chart.js canvases), never HTML: relation and class names come from files.
// For tests: lab.graphState (idle, loading, done, error), lab.graphEda, lab.graphManifest.
import { h } from './form.js';
import { colour } from './views.js';

const fmt = (n) => (n === null || n === undefined ? 'n/a' : Number(n).toLocaleString('en'));
const f3 = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(3));
// the local name of an IRI: what follows its last '#' or '/'
const short = (s) => { const t = s.replace(/[#/]+$/, ''); const k = Math.max(t.lastIndexOf('#'), t.lastIndexOf('/')); const n = k >= 0 ? t.slice(k + 1) : t; return n.length > 40 ? n.slice(0, 39) + '…' : n || s; };

export class GraphPanel {
  // root: the panel element; notice(text, kind): the page's notice; lab: window.__lab
  constructor(root, { notice, lab }) {
    this.root = root;
    this.notice = notice;
    this.lab = lab;
    this.lab.graphState = 'idle';
    this.worker = null;
    this.seq = 0;
    this.charts = new Map();
    this.index = [];
    this.select = h('select', { id: 'graph-select', 'aria-label': 'graph' });
    this.explore = h('button', { type: 'button', id: 'graph-explore', textContent: 'Explore' });
    this.file = h('input', { type: 'file', id: 'graph-bundle', accept: '.nlkg,application/octet-stream' });
    this.status = h('p', { id: 'graph-status', className: 'mono', role: 'status' });
    this.out = this.skeleton();
    this.explore.addEventListener('click', () => this.run({ type: 'eda', name: this.select.value }, this.select.value));
    this.file.addEventListener('change', () => { const f = this.file.files[0]; this.file.value = ''; if (f) this.loadBundle(f); });
    root.replaceChildren(
      h('h2', { textContent: 'Explore graph' }),
      h('p', { className: 'hint', textContent: 'Statistics of a graph, computed by the core in a Worker: the numbers of `npx noisylab eda`. ' +
        'Pick a graph of this site, or load a bundle written by `npx noisylab graph-subset`.' }),
      h('div', { className: 'row' }, this.select, this.explore,
        h('label', { className: 'file-button secondary' }, 'Load a graph-subset bundle', this.file)),
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
  }

  // the experiment's dataset: preselected when it is a graph of this site
  setDataset(name) {
    if (this.index.some((g) => g.name === name)) this.select.value = name;
  }

  setStatus(state, text) {
    this.lab.graphState = state;
    this.status.dataset.state = state;
    this.status.textContent = text;
  }

  async loadBundle(file) {
    let bytes;
    try { bytes = await file.arrayBuffer(); } catch (e) {
      return this.fail(`cannot read ${file.name}: ${e.message}. Hint: pick the file again.`);
    }
    this.run({ type: 'eda-bundle', file: file.name, bytes }, file.name, [bytes]);
  }

  run(msg, what, transfer = []) {
    this.worker ??= this.startWorker();
    msg.id = ++this.seq;
    this.setStatus('loading', `computing the statistics of ${what}…`);
    this.explore.disabled = true;
    this.worker.postMessage(msg, transfer);
  }

  startWorker() {
    const w = new Worker(new URL('graph-worker.js', import.meta.url), { type: 'module' });
    w.onmessage = ({ data: m }) => {
      if (m.id !== this.seq) return; // an answer to an earlier request
      this.explore.disabled = !this.index.length;
      if (m.type === 'error') return this.fail(m.message);
      this.render(m.eda, m.manifest).then(() => {
        if (m.id !== this.seq) return;
        this.lab.graphEda = m.eda;
        this.lab.graphManifest = m.manifest;
        this.setStatus('done', `${m.eda.name}: ${fmt(m.eda.nodes)} nodes, ${fmt(m.eda.edges)} edges`);
      });
    };
    w.onerror = (e) => this.fail(`the graph worker failed: ${e.message || 'unknown error'}. Hint: reload the page.`);
    return w;
  }

  fail(message) {
    this.explore.disabled = !this.index.length;
    this.out.hidden = true; // the last graph's numbers would pass for this one's
    this.lab.graphEda = this.lab.graphManifest = null;
    this.setStatus('error', message);
    this.notice(`Explore graph: ${message}`, 'error');
  }

  // the views, built once: a new graph replaces their text and the charts' data only (a new
  // Chart.js chart costs the main thread far more than an update)
  skeleton() {
    const box = (id) => h('div', { className: 'chart-box' }, h('canvas', { id }));
    this.v = {
      title: h('h3'), facts: h('dl', { className: 'facts', id: 'graph-facts' }),
      degreeNote: h('p', { className: 'hint' }), relTitle: h('h3'), relBox: box('graph-relations'),
      modTitle: h('h3', { textContent: 'Literals per modality' }), modalities: h('table', { className: 'num', id: 'graph-modalities' }),
      labTitle: h('h3'), labels: h('table', { className: 'num', id: 'graph-labels' }),
    };
    const v = this.v;
    return h('div', { id: 'graph-out', hidden: true }, v.title, v.facts,
      h('div', { className: 'grid2' },
        h('div', {}, h('h3', { textContent: 'Degree distribution (log-log, log2 bins)' }), box('graph-degree'), v.degreeNote),
        h('div', {}, v.relTitle, v.relBox)),
      v.modTitle, v.modalities, v.labTitle, v.labels);
  }

  // creates the chart on first use, then swaps its data; at most one chart per frame
  async chart(id, config) {
    if (typeof window.Chart !== 'function') return;
    await new Promise((r) => requestAnimationFrame(() => r()));
    const old = this.charts.get(id);
    if (old) {
      old.data = config.data;
      old.options = config.options;
      old.update('none');
    } else {
      this.charts.set(id, new window.Chart(document.getElementById(id), config));
    }
  }

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
    v.labTitle.textContent = `Labels per split (${fmt(e.labels.labelled)} labelled, ${fmt(e.labels.unlabelled)} not)`;
    v.modTitle.hidden = v.modalities.hidden = !kg;
    if (kg) rows(v.modalities, ['modality', 'literals'], Object.entries(e.literal_modalities).map(([k, n]) => [k, fmt(n)]));
    v.degreeNote.textContent = `Each point is a bin [2^(b-1), 2^b - 1] of total degree (in + out). ${fmt(d.isolated)} isolated nodes are not on the log axis.`;
    v.relTitle.textContent = `Top ${e.top_relations.length} relations`;
    v.relBox.style.height = `${Math.max(160, 22 * e.top_relations.length + 40)}px`; // CSSOM, which the CSP allows
    this.out.hidden = false;

    const points = d.log2_bins.filter((b) => b.lo >= 1 && b.count > 0).map((b) => ({ x: b.lo, y: b.count, hi: b.hi }));
    // 1, 2, 5, 10, 20, 50, ...: the other ticks of a log axis crowd it
    const tick = (x) => { const m = x / 10 ** Math.floor(Math.log10(x) + 1e-9); return [1, 2, 5].some((k) => Math.abs(m - k) < 1e-6) ? fmt(x) : ''; };
    await this.chart('graph-degree', {
      type: 'line',
      data: { datasets: [{ label: 'nodes', data: points, borderColor: colour(0), backgroundColor: colour(0), pointRadius: 4 }] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false },
          tooltip: { callbacks: { label: (ctx) => `degree ${ctx.raw.x}–${ctx.raw.hi}: ${fmt(ctx.raw.y)} nodes` } } },
        scales: { x: { type: 'logarithmic', title: { display: true, text: 'degree' }, ticks: { callback: tick } },
          y: { type: 'logarithmic', title: { display: true, text: 'nodes' }, ticks: { callback: tick } } },
      },
    });
    await this.chart('graph-relations', {
      type: 'bar',
      data: { labels: e.top_relations.map((r) => short(r.name)), datasets: [{ label: 'triples', data: e.top_relations.map((r) => r.count), backgroundColor: colour(1) }] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, indexAxis: 'y',
        plugins: { legend: { display: false }, tooltip: { callbacks: { title: (items) => e.top_relations[items[0].dataIndex].name } } },
        scales: { x: { title: { display: true, text: kg ? 'triples' : 'edges' } }, y: { ticks: { autoSkip: false } } },
      },
    });
  }
}
