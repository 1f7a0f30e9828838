// eda: exploratory statistics of a graph, from the core (core/eda.h), the same numbers the
// page's "Explore graph" panel shows. The argument is a config (only its dataset matters), a
// dataset folder, or a bundle file written by graph-subset.
import { loadEngine } from '../../wasm/noisylab.js';
import { UsageError, parseArgs } from '../lib.mjs';
import { GRAPH_SOURCES, loadGraph, resolveGraph } from '../graphs.mjs';

export const usage = ['eda "dataset=NAME" | <folder> | <bundle file> [--json]   statistics of a graph (cora, citeseer, aifb, mutag, kgbench)'];

export function edaTarget(arg) {
  // a config string: only its dataset matters (the other keys are a run's, not the graph's)
  if (arg.includes('=') && !arg.includes('/')) {
    const d = new URLSearchParams(arg).get('dataset');
    if (!d) throw new UsageError(`the config '${arg}' names no dataset; write e.g. "dataset=aifb".`);
    if (d === 'bundle') throw new UsageError('dataset=bundle is a file: give its path, e.g. noisylab eda aifb-2hop.nlkg.');
    if (!(d in GRAPH_SOURCES)) throw new UsageError(`dataset '${d}' is not a graph; eda takes ${Object.keys(GRAPH_SOURCES).join(', ')}, a folder or a bundle.`);
    return resolveGraph(d);
  }
  return resolveGraph(arg);
}

const fmt = (n) => (n === null || n === undefined ? 'n/a' : Number(n).toLocaleString('en'));
const f3 = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(3));

// a plain-text table: columns of numbers right-aligned, text left-aligned
function table(head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const numeric = head.map((_, i) => rows.every((r) => /^[\d,.]*$/.test(String(r[i]))));
  const line = (r) => '  ' + r.map((c, i) => (numeric[i] ? String(c).padStart(w[i]) : String(c).padEnd(w[i]))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export function edaText(e) {
  const out = [];
  out.push(`${e.name}: ${e.kind === 'kg' ? 'knowledge graph' : 'citation graph (Planetoid)'}`);
  out.push(`  nodes ${fmt(e.nodes)}   edges ${fmt(e.edges)}${e.kind === 'kg' ? ' (triples)' : ' (undirected)'}   relations ${e.relations} (${e.relations_used} used)   self loops ${fmt(e.self_loops)}`);
  if (e.node_kinds) out.push(`  node kinds: IRI ${fmt(e.node_kinds.iri)} · blank ${fmt(e.node_kinds.blank)} · literal ${fmt(e.node_kinds.literal)}`);
  if (e.literal_modalities) out.push(`  literal modalities: ${Object.entries(e.literal_modalities).map(([k, v]) => `${k} ${fmt(v)}`).join(' · ')}`);
  if (e.features) out.push(`  features: ${fmt(e.features)} per node`);
  const d = e.degree;
  out.push('', `degree (edge ends per node): min ${d.min}, median ${d.median}, mean ${d.mean.toFixed(2)}, max ${fmt(d.max)}; isolated ${fmt(d.isolated)}`);
  const maxc = Math.max(1, ...d.log2_bins.map((b) => b.count));
  out.push(table(['degree', 'nodes', ''], d.log2_bins.map((b) => [b.lo === b.hi ? String(b.lo) : `${b.lo}-${b.hi}`, fmt(b.count), '#'.repeat(Math.ceil((30 * Math.log1p(b.count)) / Math.log1p(maxc)))])));
  out.push('', `top relations (${e.top_relations.length} of ${e.relations_used})`);
  out.push(table(['count', 'relation'], e.top_relations.map((r) => [fmt(r.count), r.name])));
  out.push('', `labels: ${fmt(e.labels.labelled)} labelled, ${fmt(e.labels.unlabelled)} unlabelled`);
  const splits = ['training', 'validation', 'test', 'other'].filter((s) => e.labels[s].some((x) => x));
  out.push(table(['class', ...splits], e.classes.map((c, i) => [c.length > 60 ? '…' + c.slice(-59) : c, ...splits.map((s) => fmt(e.labels[s][i]))])));
  const c = e.components;
  out.push('', `components (direction ignored): ${fmt(c.count)}; the largest has ${fmt(c.largest)} nodes and ${fmt(c.labelled_in_largest)} of the ${fmt(e.labels.labelled)} labelled; ${fmt(c.singletons)} isolated`);
  const h = e.homophily;
  out.push(`homophily: edge ${h.edge === null ? 'n/a (no edge joins two labelled nodes)' : `${f3(h.edge)} over ${fmt(h.labelled_pairs)} labelled pairs`}; ` +
    `2-hop ${h.two_hop === null ? 'n/a (no two labelled nodes share a neighbour)' : `${f3(h.two_hop)} over ${fmt(h.two_hop_paths)} paths u-v-w`}; chance ${f3(h.chance)}`);
  return out.join('\n') + '\n';
}

export async function run(argv) {
  const a = parseArgs(argv, { json: 'bool' });
  if (a._.length !== 1) throw new UsageError('eda takes one dataset, e.g. noisylab eda "dataset=aifb", a folder or a bundle file.');
  const nl = await loadEngine();
  const target = edaTarget(a._[0]);
  const g = await loadGraph(nl, target);
  try {
    const e = g.eda();
    process.stdout.write(a.json ? JSON.stringify(e) + '\n' : edaText(e));
  } finally { g.free(); }
}
