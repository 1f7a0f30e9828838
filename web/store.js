// store.js: the lab's IndexedDB, shared by the page and the Worker.
//
// Four object stores in the database 'noisylab':
//   runs         { id, name, config, engine, isa, status, created, updated, epochs: [], result, sweep? }
//                status: running | finished | stopped | diverged | failed; result holds only the
//                summary (accuracies, time), so listing a long history stays quick
//   results      { id, result }: the whole result of a run (matrices, t-SNE, mistakes)
//   checkpoints  { id (= run id), epoch, bytes, size, saved }: the latest checkpoint of a run
//   shards       { file, sha256, bytes }: dataset shards cached after their first download
//
// Every function opens the database once and returns promises. A write that does not fit
// rejects with an Error whose name is 'QuotaExceededError' (see isQuotaError).

const DB_NAME = 'noisylab';
const DB_VERSION = 2; // 2: results apart from runs
let dbPromise = null;

export function openDB() {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('runs')) db.createObjectStore('runs', { keyPath: 'id' });
      if (!db.objectStoreNames.contains('results')) db.createObjectStore('results', { keyPath: 'id' });
      if (!db.objectStoreNames.contains('checkpoints')) db.createObjectStore('checkpoints', { keyPath: 'id' });
      if (!db.objectStoreNames.contains('shards')) db.createObjectStore('shards', { keyPath: 'file' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`cannot open the browser database (${req.error?.message}). Hint: ` +
      'private windows and some settings block IndexedDB; history and dataset caching are off until it opens.'));
    req.onblocked = () => reject(new Error('the browser database is blocked by another tab of the lab. Hint: close the other tab and reload.'));
  });
  dbPromise.catch(() => { dbPromise = null; });
  return dbPromise;
}

// one request in one transaction; resolves with its result once the transaction commits
async function tx(store, mode, fn) {
  const db = await openDB();
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    let result;
    const req = fn(t.objectStore(store));
    if (req) req.onsuccess = () => { result = req.result; };
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error || req?.error);
    t.onabort = () => reject(t.error || new Error('the database write was aborted'));
  });
}

export const isQuotaError = (e) => e && (e.name === 'QuotaExceededError' || /quota/i.test(e.message || ''));

// a sortable, unique id: creation time and a random tail
export const newRunId = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

// what the history list needs of a result
const SUMMARY = ['status', 'last_test_acc', 'best_test_acc', 'best_epoch', 'wall_seconds', 'img_per_s', 'engine', 'stopped_early'];
const summary = (r) => Object.fromEntries(SUMMARY.filter((k) => k in r).map((k) => [k, r[k]]));

export async function putRun(run) {
  if (run.result && !run.result.summary) await tx('results', 'readwrite', (s) => s.put({ id: run.id, result: run.result }));
  const light = { ...run, updated: Date.now() };
  if (run.result) light.result = { ...summary(run.result), summary: true };
  return tx('runs', 'readwrite', (s) => s.put(light));
}
// a run with its whole result
export async function getRun(id) {
  const run = await tx('runs', 'readonly', (s) => s.get(id));
  if (run?.result?.summary) run.result = (await tx('results', 'readonly', (s) => s.get(id)))?.result ?? run.result;
  return run;
}
// every run, newest first, with the summaries of their results
export const allRuns = async () => ((await tx('runs', 'readonly', (s) => s.getAll())) || [])
  .sort((a, b) => b.created - a.created);
export async function deleteRun(id) {
  for (const store of ['runs', 'results', 'checkpoints']) await tx(store, 'readwrite', (s) => s.delete(id));
}

// Runs found 'running' when the page loads belong to a page that is gone: they are stopped.
export async function markOrphansStopped() {
  const runs = await allRuns();
  for (const r of runs.filter((r) => r.status === 'running'))
    await putRun({ ...r, status: 'stopped', message: 'the page was closed or reloaded during the run' });
}

export const putCheckpoint = (c) => tx('checkpoints', 'readwrite', (s) => s.put({ ...c, saved: Date.now() }));
export const getCheckpoint = (id) => tx('checkpoints', 'readonly', (s) => s.get(id));
export const deleteCheckpoint = (id) => tx('checkpoints', 'readwrite', (s) => s.delete(id));
// { id, epoch, size, saved } of every checkpoint, oldest first, without the bytes
export async function checkpointIndex() {
  const db = await openDB();
  return new Promise((resolve, reject) => {
    const out = [];
    const t = db.transaction('checkpoints', 'readonly');
    const req = t.objectStore('checkpoints').openCursor();
    req.onsuccess = () => {
      const c = req.result;
      if (!c) return;
      const { id, epoch, size, saved } = c.value;
      out.push({ id, epoch, size, saved });
      c.continue();
    };
    t.oncomplete = () => resolve(out.sort((a, b) => a.saved - b.saved));
    t.onerror = () => reject(t.error);
  });
}

export const getShard = (file) => tx('shards', 'readonly', (s) => s.get(file));
export const putShard = (file, sha256, bytes) => tx('shards', 'readwrite', (s) => s.put({ file, sha256, bytes }));
