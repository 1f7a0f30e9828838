// graphs.mjs: where a graph's files are: the one place that knows the dataset folders and
// their file names. The graph tools (`eda`, `graph-subset`), training (lib.mjs shardPaths, for
// train and sweep) and the site (scripts/build-site.mjs copies them to build/site/graphs/<name>/
// with an index.json) all ask here.
//
// A graph is { name, format, files: [[fileName, path], ...] } for the core's nl_graph_load
// (wasm/graph.c) and run_add_shard (core/train.h): the file names are the ones the core expects.
//   planetoid  ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index}          cora, citeseer
//   rgcn       <name>_stripped.nt.gz, trainingSet.tsv, testSet.tsv        aifb, mutag
//   kgbench    triples.int.csv(.gz), nodes.int.csv, relations.int.csv,
//              training.int.csv, validation.int.csv (optional), testing.int.csv
//              (kgbench's nodetypes.int.csv is not needed: see core/kg.h)
//   bundle     one file written by `noisylab graph-subset` (dataset=bundle, train --graph FILE)
// A name is looked up in the source folder (../shared/datasets or $NOISYLAB_DATA_DIR), then
// in the download folder (build/raw or $NOISYLAB_RAW_DIR: `noisylab download <name>` puts
// cora, citeseer, aifb, mutag and dmg777k there); the first complete folder wins. Any folder with one of these layouts, or a bundle file, works by its path.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './errors.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const graphSourceDir = () => process.env.NOISYLAB_DATA_DIR || join(root, '..', 'shared', 'datasets');
// where datasets/download.mjs puts its files (the same default as datasets/prepare.mjs)
export const graphRawDir = () => process.env.NOISYLAB_RAW_DIR || join(root, 'build', 'raw');
// the graphs `noisylab download` fetches (datasets/download.mjs SOURCES)
export const DOWNLOADABLE = ['cora', 'citeseer', 'aifb', 'mutag', 'dmg777k'];
// too large to copy into the static site (nodes.int.csv is 641 MB)
export const NOT_ON_SITE = ['dmg777k'];
export const GRAPH_PARTS = ['x', 'y', 'tx', 'ty', 'allx', 'ally', 'graph', 'test.index'];
export const GRAPH_SOURCES = { cora: 'planetoid', citeseer: 'planetoid', aifb: 'rgcn', mutag: 'rgcn', 'aifb-kgbench': 'kgbench', 'mmlkg-synthetic': 'kgbench', dmg777k: 'kgbench' };
const KGBENCH = ['nodes.int.csv', 'relations.int.csv', 'training.int.csv', 'validation.int.csv', 'testing.int.csv'];

// what to put into a dataset's folder, for the messages
const WHAT = {
  planetoid: (n) => `the eight Planetoid files ind.${n}.{${GRAPH_PARTS.join(',')}} (kimiyoung/planetoid or tkipf/gcn, data/)`,
  rgcn: (n) => `the R-GCN files ${n}_stripped.nt.gz, trainingSet.tsv and testSet.tsv (tkipf/relational-gcn, rgcn/data/${n}/; the graph from the R-GCN download)`,
  kgbench: () => 'the kgbench files triples.int.csv(.gz), nodes.int.csv, relations.int.csv, training.int.csv, validation.int.csv and testing.int.csv',
};

// a named dataset's graph, every required file present, from the first complete folder
// (source folder, then download folder); else an error naming the first missing file in
// the source folder and how to get the dataset
export function datasetGraph(name) {
  const format = GRAPH_SOURCES[name];
  if (!format) throw new UsageError(`'${name}' is not a graph dataset (${Object.keys(GRAPH_SOURCES).join(', ')}).`);
  const need = (dir) => {
    const has = (f) => existsSync(join(dir, f));
    if (format === 'planetoid') return GRAPH_PARTS.map((p) => `ind.${name}.${p}`);
    if (format === 'rgcn') return [`${name}_stripped.nt.gz`, 'trainingSet.tsv', 'testSet.tsv'];
    return [has('triples.int.csv.gz') || !has('triples.int.csv') ? 'triples.int.csv.gz' : 'triples.int.csv', ...KGBENCH.filter((f) => f !== 'validation.int.csv' || has(f))];
  };
  const dirs = [join(graphSourceDir(), name)];
  if (DOWNLOADABLE.includes(name)) dirs.push(join(graphRawDir(), name));
  for (const dir of dirs) {
    const want = need(dir);
    if (want.every((f) => existsSync(join(dir, f)))) return { name, format, files: want.map((f) => [f, join(dir, f)]) };
  }
  const dir = dirs[0], missing = need(dir).find((f) => !existsSync(join(dir, f)));
  const by = `${format === 'planetoid' ? 'copy' : 'put'} ${WHAT[format](name)} into ${dir}, or set NOISYLAB_DATA_DIR to the folder that holds ${name}/`;
  const hint = DOWNLOADABLE.includes(name)
    ? `run \`npx noisylab download ${name}\`${name === 'dmg777k' ? ' (about 645 MB)' : ''}, which puts the files into ${dirs[1]}; or ${by}.`
    : `${by}.`;
  throw new Error(`dataset '${name}' is not available: ${join(dir, missing)} is missing${dirs[1] ? ` (and ${dirs[1]} is not complete)` : ''}. Hint: ${hint}`);
}

// the layout of a folder, or null
export function folderGraph(dir, name = basename(resolve(dir))) {
  const has = (f) => existsSync(join(dir, f));
  const files = (list) => list.filter(has).map((f) => [f, join(dir, f)]);
  if (has('nodes.int.csv')) {
    const t = has('triples.int.csv.gz') ? 'triples.int.csv.gz' : 'triples.int.csv';
    return { name, format: 'kgbench', files: files([t, ...KGBENCH]) };
  }
  for (const r of ['aifb', 'mutag'])
    if (has(`${r}_stripped.nt.gz`)) return { name: r, format: 'rgcn', files: files([`${r}_stripped.nt.gz`, 'trainingSet.tsv', 'testSet.tsv']) };
  const pl = readdirSync(dir).map((f) => /^ind\.(.+)\.graph$/.exec(f)?.[1]).find(Boolean);
  if (pl) return { name: pl, format: 'planetoid', files: files(GRAPH_PARTS.map((p) => `ind.${pl}.${p}`)) };
  return null;
}

// a dataset name, a folder or a bundle file -> a graph; throws with a hint when it is none
export function resolveGraph(arg) {
  if (existsSync(arg) && statSync(arg).isFile()) return { name: basename(arg), format: 'bundle', files: [[basename(arg), arg]] };
  if (existsSync(arg) && statSync(arg).isDirectory()) {
    const g = folderGraph(arg);
    if (!g) throw new UsageError(`${arg} holds no graph this tool reads (a kgbench folder with nodes.int.csv, aifb_stripped.nt.gz or mutag_stripped.nt.gz with its TSV splits, or Planetoid ind.<name>.* files).`);
    return g;
  }
  if (!(arg in GRAPH_SOURCES))
    throw new UsageError(`'${arg}' is neither a graph dataset (${Object.keys(GRAPH_SOURCES).join(', ')}), a folder nor a bundle file.`);
  try { return datasetGraph(arg); } catch (e) {
    e.message = e.message.replace(/\.$/, ", or give the folder's path."); // the tools also take a folder
    throw e;
  }
}

// dataset=bundle: the bundle file given to a run (train --graph FILE), checked for existence
export function bundleGraph(file) {
  if (!file) throw new UsageError('dataset=bundle trains on one bundle file: give it with --graph FILE (written by `noisylab graph-subset <dataset> --out FILE`).');
  if (!existsSync(file) || !statSync(file).isFile())
    throw Object.assign(new Error(`the bundle ${file} does not exist or is not a file. Hint: write it with \`npx noisylab graph-subset aifb --hops 2 --max-nodes 2000 --out ${basename(file)}\`, or check the path.`), { exitCode: 2 });
  return { name: basename(file), format: 'bundle', files: [[basename(file), file]] };
}

// every named graph whose folder is complete, for the site (not dmg777k: too large for a page)
export function siteGraphs() {
  const out = [];
  for (const name of Object.keys(GRAPH_SOURCES)) {
    if (NOT_ON_SITE.includes(name)) continue;
    try { out.push(datasetGraph(name)); } catch { /* not here: the site goes without it */ }
  }
  return out;
}

// the graph's files, loaded into the core
export async function loadGraph(nl, g) {
  const { readFileSync } = await import('node:fs');
  return nl.graph(g.files.map(([f, p]) => [f, readFileSync(p)]), g.format, g.name);
}
