// The graph tools through the CLI: `noisylab eda` (tables and --json) on every graph here,
// `noisylab graph-subset` (deterministic bundles that eda and the loader read back), and
// their bad inputs (a budget below the labelled set, negative hops, a truncated or foreign
// bundle, dangling ids, an empty graph). Datasets come from ../shared/datasets (or
// $NOISYLAB_DATA_DIR); a test whose dataset is absent is skipped with that message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine } from '../../wasm/noisylab.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const source = process.env.NOISYLAB_DATA_DIR || join(root, '..', 'shared', 'datasets');
const cli = (args) => spawnSync(process.execPath, [join(root, 'bin', 'noisylab.js'), ...args], { encoding: 'utf8' });
const absent = (name, file) => (existsSync(join(source, name, file)) ? false : `${join(source, name)} is absent: skipped`);
const tmp = mkdtempSync(join(tmpdir(), 'noisylab-eda-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const edaJson = (arg) => {
  const r = cli(['eda', arg, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
};

test('eda of Cora: the known statistics (PyG counts, 78 components, homophily 0.81)', { skip: absent('cora', 'ind.cora.graph') }, () => {
  const e = edaJson('dataset=cora');
  assert.equal(e.kind, 'planetoid');
  assert.deepEqual([e.nodes, e.edges, e.features, e.classes.length], [2708, 5278, 1433, 7]);
  assert.deepEqual(e.components, { count: 78, largest: 2485, singletons: 0, labelled_in_largest: 2485 });
  assert.equal(e.homophily.edge, 0.809966);
  assert.deepEqual(e.labels.training, [20, 20, 20, 20, 20, 20, 20]);
  assert.equal(e.labels.validation.reduce((a, b) => a + b), 500);
  assert.equal(e.labels.test.reduce((a, b) => a + b), 1000);
  assert.equal(e.degree.log2_bins.reduce((a, b) => a + b.count, 0), 2708);
  const text = cli(['eda', 'dataset=cora']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /nodes 2,708 {3}edges 5,278 \(undirected\)/);
  assert.match(text.stdout, /homophily: edge 0\.810 over 5,278 labelled pairs/);
});

test('eda of AIFB (N-Triples) and aifb-kgbench agree on the structure', { skip: absent('aifb', 'aifb_stripped.nt.gz') || absent('aifb-kgbench', 'nodes.int.csv') }, () => {
  const a = edaJson('dataset=aifb'), k = edaJson('aifb-kgbench');
  assert.deepEqual([a.nodes, a.edges, a.relations_used], [8285, 29043, 45]);
  assert.deepEqual(a.node_kinds, { iri: 2683, blank: 152, literal: 5450 });
  assert.equal(a.labels.labelled, 176);
  assert.equal(a.homophily.edge, null, 'no two labelled people share a triple');
  assert.ok(a.homophily.two_hop > a.homophily.chance, 'people of one group share neighbours');
  assert.equal(a.top_relations.length, 20);
  for (const key of ['nodes', 'edges', 'node_kinds', 'degree', 'components', 'homophily']) assert.deepEqual(k[key], a[key], key);
  const text = cli(['eda', 'dataset=aifb']).stdout;
  assert.match(text, /edge n\/a \(no edge joins two labelled nodes\)/);
  assert.match(text, /4,163 {2}http:\/\/swrc\.ontoware\.org\/ontology#publication/);
});

test('eda of MUTAG and mmlkg-synthetic: counts and literal modalities', { skip: absent('mutag', 'mutag_stripped.nt.gz') || absent('mmlkg-synthetic', 'nodes.int.csv') }, () => {
  const m = edaJson('dataset=mutag');
  assert.deepEqual([m.nodes, m.edges, m.relations_used, m.labels.labelled], [23644, 74227, 23, 340]);
  const s = edaJson(join(source, 'mmlkg-synthetic'));
  assert.deepEqual(s.literal_modalities, { text: 470, number: 462, date: 661, wkt: 221, image: 231 });
});

test('graph-subset: a deterministic bundle that eda and the loader read back', { skip: absent('aifb', 'aifb_stripped.nt.gz') }, async () => {
  const out = (n) => join(tmp, n);
  const run = (seed, file) => cli(['graph-subset', 'aifb', '--hops', '2', '--max-nodes', '5000', '--seed', String(seed), '--out', out(file)]);
  let r = run(0, 'a.nlkg');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /nodes {4}5,000 of 8,285: 176 labelled \+ 4,824 by hops \(last hop 2; hop 2 was sampled to fit\) \+ 0 random fill/);
  assert.match(r.stdout, /labelled 176: training 140, validation 0, test 36/);
  assert.match(r.stdout, /mapping\.int\.csv/);
  assert.equal(run(0, 'b.nlkg').status, 0);
  assert.equal(run(1, 'c.nlkg').status, 0);
  assert.deepEqual(readFileSync(out('a.nlkg')), readFileSync(out('b.nlkg')), 'the same seed gives the same bytes');
  assert.notDeepEqual(readFileSync(out('a.nlkg')), readFileSync(out('c.nlkg')), 'another seed samples hop 2 differently');
  const e = edaJson(out('a.nlkg'));
  assert.deepEqual([e.nodes, e.labels.labelled, e.kind], [5000, 176, 'kg']);
  // the loader: the bundle's manifest, and a subset of the bundle maps back to AIFB's ids
  const nl = await loadEngine();
  const g = nl.graph([['a.nlkg', readFileSync(out('a.nlkg'))]], 'bundle', 'a');
  try {
    assert.deepEqual({ ...g.eda(), name: e.name }, e);
    const m = g.manifest();
    assert.deepEqual([m.source, m.hops, m.max_nodes, m.seed, m.nodes, m.source_nodes], ['aifb', 2, 5000, 0, 5000, 8285]);
    // 176 labelled people and no triple between two of them: a subset of only them has no edge
    assert.throws(() => g.subset({ hops: 0, maxNodes: 176, seed: 0 }), /none of the 22,?003 triples joins two of the 176 chosen nodes\. Hint: raise --hops/);
    const sub = g.subset({ hops: 1, maxNodes: 1000, seed: 0 });
    assert.deepEqual([sub.manifest.nodes, sub.manifest.source_nodes, sub.manifest.from_labelled], [1000, 5000, 176]);
  } finally { g.free(); }
  // a whole-graph subset is the graph
  r = cli(['graph-subset', 'aifb', '--hops', '50', '--max-nodes', '100000', '--out', out('all.nlkg'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  const all = JSON.parse(r.stdout);
  assert.deepEqual([all.manifest.nodes, all.manifest.triples, all.manifest.from_fill], [8285, 29043, 2]);
  const whole = edaJson('dataset=aifb');
  for (const key of ['degree', 'components', 'homophily', 'labels', 'top_relations']) assert.deepEqual(all.eda[key], whole[key], key);
});

test('graph-subset and eda refuse bad input with a message and a hint', { skip: absent('aifb', 'aifb_stripped.nt.gz') }, () => {
  let r = cli(['graph-subset', 'aifb', '--max-nodes', '100', '--out', join(tmp, 'x.nlkg')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /max_nodes 100 is smaller than the 176 labelled nodes, which are always kept\. Hint: use --max-nodes 176 or more\./);
  r = cli(['graph-subset', 'aifb', '--hops', '-1', '--out', join(tmp, 'x.nlkg')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--hops '-1' must be a whole number of hops from 0/);
  r = cli(['graph-subset', 'aifb']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /needs --out FILE/);
  r = cli(['graph-subset', 'no-such-graph', '--out', join(tmp, 'x.nlkg')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /'no-such-graph' is neither a graph dataset/);
  // a bundle cut short, a flipped byte, a file that is no bundle
  assert.equal(cli(['graph-subset', 'aifb', '--out', join(tmp, 'ok.nlkg')]).status, 0);
  const bytes = readFileSync(join(tmp, 'ok.nlkg'));
  writeFileSync(join(tmp, 'cut.nlkg'), bytes.subarray(0, bytes.length - 1000));
  r = cli(['eda', join(tmp, 'cut.nlkg')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cut\.nlkg: member .* runs past the end .* it was cut short\. Hint: make the bundle again/);
  const flipped = Buffer.from(bytes);
  flipped[bytes.length - 5] ^= 4;
  writeFileSync(join(tmp, 'flip.nlkg'), flipped);
  assert.match(cli(['eda', join(tmp, 'flip.nlkg')]).stderr, /fails its CRC-32: the file is damaged\. Hint:/);
  writeFileSync(join(tmp, 'text.nlkg'), 'just some text\n');
  assert.match(cli(['eda', join(tmp, 'text.nlkg')]).stderr, /not a graph-subset bundle .* Hint: choose a file written by `npx noisylab graph-subset/);
});

test('a kgbench folder with dangling ids or no triples: the reader names the file and line', () => {
  const dir = join(tmp, 'bad-kg');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'nodes.int.csv'), 'index,annotation,label\n0,iri,http://x/a\n1,iri,http://x/b\n');
  writeFileSync(join(dir, 'relations.int.csv'), 'index,label\n0,http://x/p\n');
  writeFileSync(join(dir, 'training.int.csv'), '0,0\n1,1\n');
  writeFileSync(join(dir, 'testing.int.csv'), '');
  writeFileSync(join(dir, 'triples.int.csv'), '0,0,1\n1,0,7\n');
  let r = cli(['eda', dir]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /triples\.int\.csv line 2: node 7 is not in nodes\.int\.csv \(it has 2 nodes\)\. Hint:/);
  writeFileSync(join(dir, 'triples.int.csv'), 's,p,o\n');
  r = cli(['graph-subset', dir, '--out', join(tmp, 'e.nlkg')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /the graph is empty .* Hint:/);
  writeFileSync(join(dir, 'triples.int.csv'), '0,0,1\n');
  r = cli(['graph-subset', dir, '--hops', '1', '--max-nodes', '2', '--out', join(tmp, 'tiny.nlkg')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /nodes {4}2 of 2: 2 labelled \+ 0 by hops/);
  r = cli(['eda', 'dataset=mnist']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /dataset 'mnist' is not a graph/);
});
