// graph-worker.js: the graph panel's EDA off the main thread (web/graph.js starts it on first use).
//
// A module Worker with its own copy of the core. Messages:
//   page -> worker  { type: 'eda', id, name }              a graph of this site (graphs/index.json)
//                   { type: 'eda-bundle', id, file, bytes } a graph-subset bundle the user picked
//                   { type: 'subset', id, name, hops, maxNodes, seed }  nl_graph_subset of a graph of
//                                                          this site: the bundle `noisylab graph-subset` writes
//   worker -> page  { type: 'eda', id, eda, manifest }      core/eda.h's JSON; manifest: a bundle's
//                   { type: 'subset', id, file, bytes, manifest, eda }  the bundle's bytes (transferred),
//                                                          its manifest and the EDA of the subset
//                   { type: 'error', id, message }
// The files come from graphs/<name>/ (scripts/build-site.mjs copies them there); the core
// reads them by name, as `noisylab eda` does, so the numbers are the CLI's.
import { loadEngine } from './wasm/noisylab.js';

let engine = null;
const core = () => (engine ??= loadEngine().catch(() => loadEngine({ scalar: true })));
let indexPromise = null;

function siteIndex() {
  indexPromise ??= fetch(new URL('graphs/index.json', self.location.href)).then((res) => {
    if (!res.ok) throw new Error(`this site lists no graphs (graphs/index.json: HTTP ${res.status}). Hint: put the datasets in ../shared/datasets (or $NOISYLAB_DATA_DIR) and rebuild the site with npm start.`);
    return res.json();
  });
  indexPromise.catch(() => { indexPromise = null; });
  return indexPromise;
}

async function fetchFile(name, file) {
  const url = new URL(`graphs/${name}/${file}`, self.location.href);
  let res;
  try { res = await fetch(url); } catch (e) { res = { ok: false, status: e.message }; }
  if (!res.ok) throw new Error(`cannot fetch ${url.pathname} (HTTP ${res.status}). Hint: rebuild the site with npm start.`);
  return new Uint8Array(await res.arrayBuffer());
}

// a graph of this site, loaded by the core (the caller frees it)
async function siteGraph(name) {
  const entry = (await siteIndex()).graphs.find((g) => g.name === name);
  if (!entry) throw new Error(`the graph '${name}' is not on this site. Hint: put its files in ../shared/datasets/${name}/ (or $NOISYLAB_DATA_DIR) and rebuild the site with npm start.`);
  const files = await Promise.all(entry.files.map(async (f) => [f, await fetchFile(name, f)]));
  const nl = await core();
  return nl.graph(files, entry.format, name);
}

async function eda(id, name) {
  const g = await siteGraph(name);
  try { self.postMessage({ type: 'eda', id, eda: g.eda(), manifest: null }); } finally { g.free(); }
}

// the file name `noisylab graph-subset` suggests in the README: <graph>-<hops>hop.nlkg
async function subset(id, name, hops, maxNodes, seed) {
  const g = await siteGraph(name);
  let bytes, manifest;
  try { ({ bytes, manifest } = g.subset({ hops, maxNodes, seed })); } finally { g.free(); }
  const file = `${name}-${hops}hop.nlkg`;
  const nl = await core();
  const b = nl.graph([[file, bytes]], 'bundle', file); // the subset read back, as `noisylab eda <bundle>` does
  let e;
  try { e = b.eda(); } finally { b.free(); }
  self.postMessage({ type: 'subset', id, file, bytes, manifest, eda: e }, [bytes.buffer]);
}

async function edaBundle(id, file, bytes) {
  const nl = await core();
  const g = nl.graph([[file, new Uint8Array(bytes)]], 'bundle', file);
  try { self.postMessage({ type: 'eda', id, eda: g.eda(), manifest: g.manifest() }); } finally { g.free(); }
}

self.onmessage = ({ data: msg }) => {
  const fail = (e) => self.postMessage({ type: 'error', id: msg.id, message: e.message });
  if (msg.type === 'eda') eda(msg.id, msg.name).catch(fail);
  else if (msg.type === 'eda-bundle') edaBundle(msg.id, msg.file, msg.bytes).catch(fail);
  else if (msg.type === 'subset') subset(msg.id, msg.name, msg.hops, msg.maxNodes, msg.seed).catch(fail);
  else fail(new Error(`unknown message type '${msg.type}'.`));
};
