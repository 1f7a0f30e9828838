// graphs.mjs: where a graph's files are, for the graph tools (`eda`, `graph-subset`) and the
// site (scripts/build-site.mjs copies them to build/site/graphs/<name>/ with an index.json).
//
// A graph is { name, format, files: [[fileName, path], ...] } for the core's nl_graph_load
// (wasm/graph.c): the file names are the ones the core expects.
//   planetoid  ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index}          cora, citeseer
//   rgcn       <name>_stripped.nt.gz, trainingSet.tsv, testSet.tsv        aifb, mutag
//   kgbench    triples.int.csv(.gz), nodes.int.csv, relations.int.csv,
//              training.int.csv, validation.int.csv (optional), testing.int.csv
//   bundle     one file written by `noisylab graph-subset`
// A name is looked up in the source folder (../shared/datasets or $NOISYLAB_DATA_DIR);
// any folder with one of these layouts, or a bundle file, works by its path.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { GRAPH_PARTS, UsageError, graphSourceDir } from './lib.mjs';

export const GRAPH_SOURCES = { cora: 'planetoid', citeseer: 'planetoid', aifb: 'rgcn', mutag: 'rgcn', 'aifb-kgbench': 'kgbench', 'mmlkg-synthetic': 'kgbench' };
const KGBENCH = ['nodes.int.csv', 'relations.int.csv', 'training.int.csv', 'validation.int.csv', 'testing.int.csv'];

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
  const dir = join(graphSourceDir(), arg);
  const g = existsSync(dir) ? folderGraph(dir, arg) : null;
  if (!g || g.format !== GRAPH_SOURCES[arg])
    throw new Error(`dataset '${arg}' is not available: ${dir} does not hold its ${GRAPH_SOURCES[arg]} files. Hint: copy them there (see ../shared/datasets/README.md), set NOISYLAB_DATA_DIR to the folder that holds ${arg}/, or give the folder's path.`);
  return g;
}

// every named graph whose source folder is complete, for the site
export function siteGraphs() {
  const out = [];
  for (const name of Object.keys(GRAPH_SOURCES)) {
    const dir = join(graphSourceDir(), name);
    const g = existsSync(dir) ? folderGraph(dir, name) : null;
    if (g && g.format === GRAPH_SOURCES[name]) out.push(g);
  }
  return out;
}

// the graph's files, loaded into the core
export async function loadGraph(nl, g) {
  const { readFileSync } = await import('node:fs');
  return nl.graph(g.files.map(([f, p]) => [f, readFileSync(p)]), g.format, g.name);
}
