// sweep-worker.mjs: one worker thread of `noisylab sweep`. It loads the engine once,
// then trains the cells the main thread sends, one at a time, with the code path of
// `train` (trainOne), and posts back progress and each cell's record.
import { parentPort, workerData } from 'node:worker_threads';
import { loadEngine } from '../wasm/noisylab.js';
import { cellRecord, trainOne } from './lib.mjs';

const { engine, total, graph } = workerData; // graph: the bundle of dataset=bundle cells (--graph)
const nl = await loadEngine({ scalar: engine === 'wasm-scalar' });

parentPort.on('message', async (cell) => {
  if (!cell) return parentPort.close(); // no more cells: let the thread end
  let last = 0;
  const report = {
    progress(p) {
      const now = Date.now();
      if (now - last < 250) return;
      last = now;
      const steps = p.epochs * p.steps_per_epoch;
      parentPort.postMessage({ type: 'progress', frac: steps ? (p.epoch * p.steps_per_epoch + p.step) / steps : 0 });
    },
    epoch() {},
  };
  try {
    const bundle = nl.configJSON(cell.config).dataset === 'bundle' ? graph : undefined;
    const result = await trainOne(nl, cell.config, engine, report, bundle);
    parentPort.postMessage({ type: 'done', record: cellRecord(cell, total, result) });
  } catch (e) {
    parentPort.postMessage({ type: 'failed', message: e.message });
  }
});
