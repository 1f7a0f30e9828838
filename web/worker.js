// worker.js: runs the noisylab core off the main thread.
//
// A module Worker (new Worker(url, { type: 'module' })). The page talks to it with messages:
//   page -> worker  { type: 'init', scalar }        load the core (scalar: force the scalar build)
//                   { type: 'check', id, config }   validate a config string
//                   { type: 'run', config }         train it
//                   { type: 'stop' }                cancel the run at the next chunk boundary
//   worker -> page  { type: 'ready', engine, isa, version, fallback? }
//                   { type: 'checked', id, ok, config | message }
//                   { type: 'started', config, progress }
//                   { type: 'progress', progress, seconds }
//                   { type: 'epoch', epoch, seconds }
//                   { type: 'done', result }         result.status: finished | diverged
//                   { type: 'stopped', progress, seconds }
//                   { type: 'error', where, message }
//
// Training goes in chunks of about CHUNK_MS: run.step(1) until the time is up or an epoch
// ends, then the worker yields to its message queue, so a Stop is seen within one chunk.
import { loadEngine, STATUS } from './wasm/noisylab.js';

const CHUNK_MS = 40;     // work per chunk: short enough for a prompt Stop, long enough to be cheap
const PROGRESS_MS = 100; // at most ten progress messages a second: the page needs no more

let enginePromise = null;
let running = false;
let stopRequested = false;

const post = (msg) => self.postMessage(msg);

// A yield that is not clamped like nested setTimeout(0) (4 ms each): a message to ourselves.
const channel = new MessageChannel();
let wake = null;
channel.port1.onmessage = () => wake && wake();
const yieldToQueue = () => new Promise((r) => { wake = r; channel.port2.postMessage(0); });

async function load(scalar) {
  try {
    return { nl: await loadEngine({ scalar }), fallback: null };
  } catch (e) {
    if (scalar) throw e;
    // the SIMD build could not be loaded (missing file, an engine that validates but
    // refuses it): the scalar build computes the same thing, only slower
    return { nl: await loadEngine({ scalar: true }), fallback: `the SIMD core failed to load (${e.message}); using the scalar core.` };
  }
}

function init(scalar) {
  enginePromise = load(!!scalar).then(
    ({ nl, fallback }) => {
      post({ type: 'ready', engine: nl.engine, isa: nl.isa(), version: nl.version(), fallback });
      return nl;
    },
    (e) => {
      post({ type: 'error', where: 'load', message: e.message });
      throw e;
    });
  enginePromise.catch(() => {});
}

async function check(id, config) {
  const nl = await enginePromise;
  try {
    post({ type: 'checked', id, ok: true, config: nl.normalizeConfig(config) });
  } catch (e) {
    post({ type: 'checked', id, ok: false, message: e.message });
  }
}

// Real datasets come as shards served beside the page (datasets/<name>/{train,test}.shard).
async function addShards(run, name) {
  for (const [split, file] of [[0, 'train'], [1, 'test']]) {
    const url = new URL(`datasets/${name}/${file}.shard`, self.location.href);
    let res;
    try { res = await fetch(url); } catch (e) { res = { ok: false, status: e.message }; }
    if (!res.ok)
      throw new Error(`dataset '${name}' is not on this site (${url.pathname}: HTTP ${res.status}). ` +
        'Hint: this smoke page trains dataset=synth, which needs no download; prepared datasets come with the full lab.');
    run.addShard(split, new Uint8Array(await res.arrayBuffer()), `${name}/${file}.shard`);
  }
}

// Graphs come as their eight raw Planetoid files (datasets/<name>/ind.<name>.<part>);
// the core reads them itself and tells them apart by name (core/train.h).
const GRAPHS = ['cora', 'citeseer'];
async function addGraphFiles(run, name) {
  for (const part of ['x', 'y', 'tx', 'ty', 'allx', 'ally', 'graph', 'test.index']) {
    const file = `ind.${name}.${part}`;
    const url = new URL(`datasets/${name}/${file}`, self.location.href);
    let res;
    try { res = await fetch(url); } catch (e) { res = { ok: false, status: e.message }; }
    if (!res.ok)
      throw new Error(`dataset '${name}' is not on this site (${url.pathname}: HTTP ${res.status}). ` +
        `Hint: copy the Planetoid files ind.${name}.* into the site's datasets/${name}/ folder.`);
    run.addShard(0, new Uint8Array(await res.arrayBuffer()), file);
  }
}

async function train(config) {
  if (running) return post({ type: 'error', where: 'run', message: 'a run is already in progress. Hint: press Stop first.' });
  running = true;
  stopRequested = false;
  let run = null, stage = 'config';
  try {
    const nl = await enginePromise;
    config = nl.normalizeConfig(config);
    run = nl.newRun(config);
    stage = 'data';
    const dataset = nl.configJSON(config).dataset;
    if (GRAPHS.includes(dataset)) await addGraphFiles(run, dataset);
    else if (dataset !== 'synth') await addShards(run, dataset);
    stage = 'run';
    const t0 = performance.now();
    post({ type: 'started', config, progress: run.start() });
    const seconds = () => (performance.now() - t0) / 1000;
    let lastPost = 0, reported = 0;
    while (!run.finished) {
      await yieldToQueue(); // lets a Stop (or a config check) in
      if (stopRequested) {
        post({ type: 'stopped', progress: run.progress(), seconds: seconds() });
        return;
      }
      const start = performance.now();
      let st;
      do st = run.step(1);
      while (st === STATUS.TRAINING && performance.now() - start < CHUNK_MS);
      const now = performance.now();
      if (st !== STATUS.TRAINING || now - lastPost >= PROGRESS_MS) {
        post({ type: 'progress', progress: run.progress(), seconds: seconds() });
        lastPost = now;
      }
      if (st !== STATUS.TRAINING) {
        // report every epoch that finished since the last report, once
        for (const done = run.progress().epoch; reported < done;) {
          const e = run.epoch(++reported);
          if (e) post({ type: 'epoch', epoch: e, seconds: seconds() });
        }
      }
    }
    const result = run.result();
    const wall = seconds();
    result.engine = nl.engine;
    result.isa = nl.isa();
    result.wall_seconds = +wall.toFixed(3);
    result.img_per_s = +((result.epochs.length * result.dataset.train) / wall).toFixed(1);
    post({ type: 'done', result });
  } catch (e) {
    post({ type: 'error', where: stage, message: e.message });
  } finally {
    if (run) run.free();
    running = false;
    stopRequested = false;
  }
}

self.onmessage = ({ data: msg }) => {
  if (!enginePromise && msg.type !== 'init') init(false);
  switch (msg.type) {
    case 'init': return init(msg.scalar);
    case 'check': return check(msg.id, msg.config).catch(() => {});
    case 'run': return train(msg.config);
    case 'stop': if (running) stopRequested = true; return;
    default: post({ type: 'error', where: 'message', message: `unknown message type '${msg.type}'.` });
  }
};
