// train: one run from a config string, with progress and a JSON result.
import { writeFileSync } from 'node:fs';
import { loadEngine } from '../../wasm/noisylab.js';
import { UsageError, checkEngine, makeReporter, parseArgs, trainOne } from '../lib.mjs';

export const usage = ['train "<config>" [--json] [--out FILE] [--engine wasm-simd|wasm-scalar|native] [--graph BUNDLE]   --graph: the file of a dataset=bundle run (written by graph-subset); a KG config can also cut its own subset: hops=2&max_nodes=5000'];

export async function run(argv) {
  const a = parseArgs(argv, { json: 'bool', out: 'value', engine: 'value', graph: 'value' });
  if (a._.length !== 1) throw new UsageError('train takes one config string, e.g. noisylab train "dataset=synth&epochs=2".');
  const engine = checkEngine(a.engine || 'wasm-simd');
  const nl = await loadEngine({ scalar: engine === 'wasm-scalar' });
  const config = nl.normalizeConfig(a._[0]); // validates: bad input exits 2 before any work
  const result = await trainOne(nl, config, engine, makeReporter(!!a.json), a.graph);
  const text = JSON.stringify(result, null, a.json ? 0 : 2);
  if (a.out) writeFileSync(a.out, text + '\n');
  process.stdout.write(text + '\n');
  if (result.status === 'diverged') {
    process.stderr.write(result.message + '\n');
    process.exitCode = 1;
  }
}
