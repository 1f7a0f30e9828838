// store.js: the lab's IndexedDB, shared by the page and the Worker.
//
// Five object stores in the database 'noisylab':
//   runs         { id, name, config, engine, isa, status, created, updated, epochs: [], result, sweep? }
//                status: running | finished | stopped | diverged | failed; result holds only the
//                summary (accuracies, time), so listing a long history stays quick
//   results      { id, result }: the whole result of a run (matrices, t-SNE, mistakes)
//   checkpoints  { id (run id), epoch, bytes }: the checkpoint after each epoch, key [id, epoch]
//   ckpt_index   { id, epoch, size, saved }: the same keys without the bytes, so listing and
//                evicting checkpoints never reads megabytes of weights
//   shards       { file, sha256, bytes }: dataset shards cached after their first download
//
// Every function opens the database once and returns promises. A write that does not fit
// rejects with an Error whose name is 'QuotaExceededError' (see isQuotaError).
//
// Checkpoints are kept under a cap (MB, set on the History tab, kept in localStorage):
// enforceCap evicts the oldest first, but never the latest checkpoint of a run that can be
// resumed (any status but finished), and never touches runs or results: metrics are not
// checkpoints.

const DB_NAME = 'noisylab';
const DB_VERSION = 3; // 2: results apart from runs; 3: a checkpoint per epoch
let dbPromise = null;

export function openDB() {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('runs')) db.createObjectStore('runs', { keyPath: 'id' });
      if (!db.objectStoreNames.contains('results')) db.createObjectStore('results', { keyPath: 'id' });
      // version 2 kept one checkpoint per run (key id): moved to the per-epoch stores
      let old = null;
      if (db.objectStoreNames.contains('checkpoints') && req.transaction.objectStore('checkpoints').keyPath === 'id') {
        old = req.transaction.objectStore('checkpoints');
        old.name = 'checkpoints-v2';
      }
      if (!db.objectStoreNames.contains('checkpoints')) db.createObjectStore('checkpoints', { keyPath: ['id', 'epoch'] });
      if (!db.objectStoreNames.contains('ckpt_index')) db.createObjectStore('ckpt_index', { keyPath: ['id', 'epoch'] });
      if (old) {
        const bytes = req.transaction.objectStore('checkpoints'), index = req.transaction.objectStore('ckpt_index');
        old.openCursor().onsuccess = (ev) => {
          const c = ev.target.result;
          if (!c) { db.deleteObjectStore('checkpoints-v2'); return; }
          const { id, epoch, bytes: b, size, saved } = c.value;
          bytes.put({ id, epoch, bytes: b });
          index.put({ id, epoch, size, saved });
          c.continue();
        };
      }
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
  for (const store of ['runs', 'results']) await tx(store, 'readwrite', (s) => s.delete(id));
  await deleteCheckpoints(id);
}

// Runs found 'running' when the page loads belong to a page that is gone: they are stopped.
export async function markOrphansStopped() {
  const runs = await allRuns();
  for (const r of runs.filter((r) => r.status === 'running'))
    await putRun({ ...r, status: 'stopped', message: 'the page was closed or reloaded during the run' });
}

// the keys [id, epoch] of one run: its checkpoints from epoch `from` on (default all)
const runRange = (id, from = 0) => IDBKeyRange.bound([id, from], [id, Infinity]);

// writes the bytes and their index entry in one transaction: both or neither
export async function putCheckpoint({ id, epoch, bytes, size }) {
  const db = await openDB();
  return new Promise((resolve, reject) => {
    const t = db.transaction(['checkpoints', 'ckpt_index'], 'readwrite');
    try {
      t.objectStore('checkpoints').put({ id, epoch, bytes });
      t.objectStore('ckpt_index').put({ id, epoch, size, saved: Date.now() });
    } catch (e) { t.abort(); reject(e); return; }
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error('the checkpoint write was aborted'));
  });
}

// the checkpoint of run `id` after `epoch`, or its latest when epoch is omitted: { id, epoch, bytes, size }
export async function getCheckpoint(id, epoch) {
  if (epoch === undefined) {
    const latest = (await checkpointsOf(id)).at(-1);
    if (!latest) return undefined;
    epoch = latest.epoch;
  }
  const c = await tx('checkpoints', 'readonly', (s) => s.get([id, epoch]));
  return c && { ...c, size: c.bytes.byteLength };
}

// deletes the checkpoints of run `id` (all, or those of epochs in `epochs`, or from epoch `from` on)
export async function deleteCheckpoints(id, { epochs = null, from = 0 } = {}) {
  const db = await openDB();
  return new Promise((resolve, reject) => {
    const t = db.transaction(['checkpoints', 'ckpt_index'], 'readwrite');
    for (const name of ['checkpoints', 'ckpt_index']) {
      const s = t.objectStore(name);
      if (epochs) for (const e of epochs) s.delete([id, e]);
      else s.delete(runRange(id, from));
    }
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error('the delete was aborted'));
  });
}
export const deleteCheckpoint = (id) => deleteCheckpoints(id);

// { id, epoch, size, saved } of every checkpoint, oldest first, without the bytes
export async function checkpointIndex() {
  const all = (await tx('ckpt_index', 'readonly', (s) => s.getAll())) || [];
  return all.sort((a, b) => a.saved - b.saved || a.epoch - b.epoch);
}
// the same for one run, by epoch
export const checkpointsOf = async (id) =>
  ((await tx('ckpt_index', 'readonly', (s) => s.getAll(runRange(id)))) || []).sort((a, b) => a.epoch - b.epoch);

// The checkpoints that eviction must keep: the latest of every run that can be resumed
// (stored and not finished), as "id/epoch" strings.
async function protectedCheckpoints(index) {
  const status = new Map((await allRuns()).map((r) => [r.id, r.status]));
  const latest = new Map();
  for (const c of index) if (status.has(c.id) && status.get(c.id) !== 'finished') latest.set(c.id, Math.max(latest.get(c.id) ?? 0, c.epoch));
  return new Set([...latest].map(([id, e]) => `${id}/${e}`));
}

// Evicts checkpoints, oldest first, until they fit in `cap` bytes; returns what went
// ({ id, epoch, size }[]) and what is left ({ total, count, over }: over = still above the cap,
// because only protected checkpoints remain).
export async function enforceCap(cap) {
  const index = await checkpointIndex();
  const keep = await protectedCheckpoints(index);
  let total = index.reduce((a, c) => a + c.size, 0);
  const evicted = [];
  for (const c of index) {
    if (total <= cap) break;
    if (keep.has(`${c.id}/${c.epoch}`)) continue;
    await deleteCheckpoints(c.id, { epochs: [c.epoch] });
    total -= c.size;
    evicted.push({ id: c.id, epoch: c.epoch, size: c.size });
  }
  return { evicted, total, count: index.length - evicted.length, over: total > cap };
}

// Deletes every checkpoint but the latest of each resumable run (runId: that run only).
// Returns { count, size } of what went.
export async function deleteOldCheckpoints(runId = null) {
  const index = (await checkpointIndex()).filter((c) => !runId || c.id === runId);
  const keep = await protectedCheckpoints(index);
  let count = 0, size = 0;
  for (const c of index) {
    if (keep.has(`${c.id}/${c.epoch}`)) continue;
    await deleteCheckpoints(c.id, { epochs: [c.epoch] });
    count++, size += c.size;
  }
  return { count, size };
}

export const getShard = (file) => tx('shards', 'readonly', (s) => s.get(file));
export const putShard = (file, sha256, bytes) => tx('shards', 'readwrite', (s) => s.put({ file, sha256, bytes }));
