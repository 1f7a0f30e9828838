// graph-subset: the k-hop subgraph of a knowledge graph around its labelled nodes
// (core/subgraph.h), written as one bundle file (core/bundle.h) that the page's file picker
// and `noisylab eda` read. Same graph, hops, max-nodes and seed: the same bytes.
import { writeFileSync } from 'node:fs';
import { loadEngine } from '../../wasm/noisylab.js';
import { UsageError, parseArgs } from '../lib.mjs';
import { loadGraph, resolveGraph } from '../graphs.mjs';

export const usage = ['graph-subset <dataset|folder|bundle> --out FILE [--hops 2] [--max-nodes 5000] [--seed 0] [--json]   k-hop subgraph as one bundle file'];

function int(a, flag, def, min, max, what) {
  const v = a[flag] ?? String(def);
  if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(`--${flag} '${v}' must be ${what}.`);
  return Number(v);
}

const fmt = (n) => Number(n).toLocaleString('en');

export async function run(argv) {
  const a = parseArgs(argv, { hops: 'value', 'max-nodes': 'value', seed: 'value', out: 'value', json: 'bool' });
  if (a._.length !== 1) throw new UsageError('graph-subset takes one dataset (aifb, mutag, aifb-kgbench, ...), a folder or a bundle, e.g. noisylab graph-subset aifb --hops 2 --max-nodes 5000 --out aifb-2hop.nlkg.');
  if (!a.out) throw new UsageError('graph-subset needs --out FILE, the bundle to write (e.g. --out aifb-2hop.nlkg).');
  const hops = int(a, 'hops', 2, 0, 1000, 'a whole number of hops from 0 to 1000 (0 keeps the labelled nodes and the random fill)');
  const maxNodes = int(a, 'max-nodes', 5000, 1, 100000000, 'a whole number of nodes from 1 to 100,000,000');
  const seed = int(a, 'seed', 0, 0, 4294967295, 'a whole number from 0 to 4294967295');
  const target = resolveGraph(a._[0]);
  if (target.format === 'planetoid')
    throw new UsageError(`${target.name} is a Planetoid citation graph; graph-subset takes a knowledge graph (aifb, mutag, a kgbench folder or a bundle).`);
  const nl = await loadEngine();
  const g = await loadGraph(nl, target);
  let sub, eda;
  try {
    try {
      sub = g.subset({ hops, maxNodes, seed });
    } catch (e) {
      if (/smaller than the \d+ labelled nodes/.test(e.message)) e.exitCode = 2; // bad input, not a failure
      throw e;
    }
  } finally { g.free(); }
  writeFileSync(a.out, sub.bytes);
  // read the bundle back, as the page will: its statistics are the report
  const back = nl.graph([[a.out, sub.bytes]], 'bundle', target.name);
  try { eda = back.eda(); } finally { back.free(); }
  const m = sub.manifest;
  if (a.json) {
    process.stdout.write(JSON.stringify({ file: a.out, bytes: sub.bytes.length, manifest: m, eda }) + '\n');
    return;
  }
  const l = eda.labels, sum = (xs) => xs.reduce((x, y) => x + y, 0);
  const capped = m.capped_hop ? `; hop ${m.capped_hop} was sampled to fit` : '';
  process.stdout.write([
    `graph-subset: ${target.name}, ${hops} hop${hops === 1 ? '' : 's'}, at most ${fmt(maxNodes)} nodes, seed ${seed}`,
    `  nodes    ${fmt(m.nodes)} of ${fmt(m.source_nodes)}: ${fmt(m.from_labelled)} labelled + ${fmt(m.from_hops)} by hops (last hop ${m.last_hop}${capped}) + ${fmt(m.from_fill)} random fill`,
    `  edges    ${fmt(m.triples)} of ${fmt(m.source_triples)} triples, ${fmt(eda.relations_used)} of ${fmt(m.relations)} relations used`,
    `  labelled ${fmt(l.labelled)}: training ${fmt(sum(l.training))}, validation ${fmt(sum(l.validation))}, test ${fmt(sum(l.test))}`,
    `  kinds    IRI ${fmt(eda.node_kinds.iri)}, blank ${fmt(eda.node_kinds.blank)}, literal ${fmt(eda.node_kinds.literal)}`,
    `  literals ${Object.entries(eda.literal_modalities).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`,
    `  wrote ${a.out} (${fmt(sub.bytes.length)} bytes): a kgbench-layout bundle; its mapping.int.csv maps each node to its id in ${target.name}`,
    `  explore: npx noisylab eda ${a.out}  (or load it in the page's "Explore graph" panel)`,
  ].join('\n') + '\n');
}
