#!/usr/bin/env node
// build-site.mjs: assembles the static site in build/site/ from files that already exist.
//
//   node scripts/build-site.mjs            (or: import { buildSite } from './build-site.mjs')
//
// No bundler: the page is plain ES modules, so building is copying.
//   web/*                                   -> build/site/
//   wasm/noisylab.js, build/wasm/*.wasm     -> build/site/wasm/   (the loader fetches the
//                                              .wasm from beside itself: new URL(file, import.meta.url))
//   node_modules/chart.js/dist/chart.umd.min.js -> build/site/vendor/ (served locally: works offline)
//   ../shared/datasets/{cora,citeseer}/ind.* -> build/site/graphs/<name>/ (when present)
//   ../shared/datasets/{aifb,mutag,aifb-kgbench,mmlkg-synthetic}/ -> build/site/graphs/<name>/ (when
//                                              present, else from build/raw/<name>/ after `noisylab
//                                              download <name>`; bin/graphs.mjs; never dmg777k, too
//                                              large for a page), listed with their format
//                                              and files in graphs/index.json for the graph panel
//   build/datasets/                         -> build/site/datasets (a symlink, not a copy: the
//                                              shards are large; the page reads manifest.json and
//                                              fetches <name>/{train,test}.shard lazily)
//
// Idempotent and fast: a file is copied only when its size or mtime differ, and
// files that no longer belong to the site are removed, so a second run is a no-op.
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GRAPH_DATASETS, GRAPH_PARTS, graphSourceDir } from '../bin/lib.mjs';
import { GRAPH_SOURCES, NOT_ON_SITE, graphRawDir, siteGraphs } from '../bin/graphs.mjs';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// every [source, destination-relative-to-out] pair of the site
function siteFiles(root) {
  const need = (path, hint) => {
    if (!existsSync(path)) throw new Error(`build-site: ${relative(root, path)} is missing. Hint: ${hint}.`);
    return path;
  };
  const files = [];
  const web = need(join(root, 'web'), 'the web/ folder belongs to the repository; restore it with git');
  for (const name of readdirSync(web)) {
    const p = join(web, name);
    if (statSync(p).isFile()) files.push([p, name]);
  }
  const wasmHint = 'build the core with `NODE_PATH=/usr/share/nodejs make wasm` (or ./build.sh build)';
  files.push([need(join(root, 'wasm', 'noisylab.js'), 'restore wasm/noisylab.js with git'), 'wasm/noisylab.js']);
  for (const f of ['noisylab-simd.wasm', 'noisylab-scalar.wasm'])
    files.push([need(join(root, 'build', 'wasm', f), wasmHint), `wasm/${f}`]);
  const chart = join(root, 'node_modules', 'chart.js', 'dist', 'chart.umd.min.js');
  files.push([need(chart, 'install the npm packages with `npm ci` (or ./build.sh deps)'), 'vendor/chart.umd.min.js']);
  // the graphs are a few hundred KB of raw Planetoid files that the core reads itself:
  // copied, when their source folder has them, so the page can train on them
  for (const name of GRAPH_DATASETS) {
    const dir = join(graphSourceDir(), name);
    const parts = GRAPH_PARTS.map((p) => join(dir, `ind.${name}.${p}`));
    if (parts.every((p) => existsSync(p))) for (const p of parts) files.push([p, `graphs/${name}/${basename(p)}`]);
  }
  // the knowledge graphs too (a few MB), for the graph panel's EDA; absent ones are left out
  const have = new Set(files.map(([, d]) => d));
  for (const g of siteGraphs())
    for (const [f, p] of g.files) if (!have.has(`graphs/${g.name}/${f}`)) files.push([p, `graphs/${g.name}/${f}`]);
  return files;
}

function listTree(dir, base = dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isSymbolicLink()) continue; // the datasets link: kept or replaced by linkDatasets
    if (ent.isDirectory()) listTree(p, base, out);
    else out.push(relative(base, p));
  }
  return out;
}

function removeEmptyDirs(dir, keepRoot = true) {
  if (!existsSync(dir)) return;
  for (const ent of readdirSync(dir, { withFileTypes: true }))
    if (ent.isDirectory()) removeEmptyDirs(join(dir, ent.name), false);
  if (!keepRoot && readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
}

// build/site/datasets -> build/datasets, when datasets are prepared (synth needs none)
function linkDatasets(root, out) {
  const target = resolve(root, 'build', 'datasets');
  const link = join(out, 'datasets');
  let current = null;
  try { current = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : 'not a link'; } catch { /* none yet */ }
  if (current === target) return;
  if (current !== null) rmSync(link, { recursive: true, force: true });
  if (existsSync(join(target, 'manifest.json'))) symlinkSync(target, link, 'dir');
}

// Returns { out, copied, removed, files }. Throws with a hint when an input is missing.
export function buildSite({ root = repoRoot, out = join(root, 'build', 'site') } = {}) {
  const files = siteFiles(root);
  const wanted = new Set(files.map(([, d]) => d));
  let copied = 0, removed = 0;
  for (const [src, rel] of files) {
    const dest = join(out, rel);
    const s = statSync(src);
    if (existsSync(dest)) {
      const d = statSync(dest);
      if (d.size === s.size && Math.abs(d.mtimeMs - s.mtimeMs) < 1) continue; // utimes keeps ms only
    }
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(src, dest);
    // keep the source's mtime so the next run can tell the copy is current
    utimesSync(dest, s.atime, s.mtime);
    copied++;
  }
  // graphs/index.json: the graphs on this site, their format and files (bin/graphs.mjs)
  const index = JSON.stringify({ graphs: siteGraphs().map((g) => ({ name: g.name, format: g.format, files: g.files.map(([f]) => f) })) }, null, 1) + '\n';
  const indexPath = join(out, 'graphs', 'index.json');
  wanted.add('graphs/index.json');
  if (!existsSync(indexPath) || readFileSync(indexPath, 'utf8') !== index) {
    mkdirSync(dirname(indexPath), { recursive: true });
    writeFileSync(indexPath, index);
    copied++;
  }
  for (const rel of listTree(out)) {
    if (wanted.has(rel.split('\\').join('/'))) continue;
    rmSync(join(out, rel));
    removed++;
  }
  removeEmptyDirs(out);
  linkDatasets(root, out);
  const onSite = new Set(siteGraphs().map((g) => g.name));
  const absentGraphs = Object.keys(GRAPH_SOURCES).filter((n) => !onSite.has(n) && !NOT_ON_SITE.includes(n));
  return { out, copied, removed, files: files.length, absentGraphs };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const r = buildSite();
    console.log(`build-site: ${relative(process.cwd(), r.out) || '.'}/ has ${r.files} files (${r.copied} copied, ${r.removed} removed)`);
    if (r.absentGraphs.length)
      console.log(`build-site: note: ${r.absentGraphs.join(', ')} not on the site (absent from ${graphSourceDir()} and ${graphRawDir()}); the graph panel lists the others`);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
