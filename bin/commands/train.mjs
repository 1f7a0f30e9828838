// train: one run from a config string, with progress and a JSON result.
import { writeFileSync } from 'node:fs';
import { loadEngine } from '../../wasm/noisylab.js';
import { UsageError, makeReporter, parseArgs, trainNative, trainWasm } from '../lib.mjs';

export const usage = ['train "<config>" [--json] [--out FILE] [--engine wasm-simd|wasm-scalar|native]'];

export async function run(argv) {
  const a = parseArgs(argv, { json: 'bool', out: 'value', engine: 'value' });
  if (a._.length !== 1) throw new UsageError('train takes one config string, e.g. noisylab train "dataset=synth&epochs=2".');
  const engine = a.engine || 'wasm-simd';
  if (!['wasm-simd', 'wasm-scalar', 'native'].includes(engine))
    throw new UsageError(`option --engine: '${engine}' is not allowed; it must be one of wasm-simd, wasm-scalar, native.`);
  const nl = await loadEngine({ scalar: engine === 'wasm-scalar' });
  const config = nl.normalizeConfig(a._[0]); // validates: bad input exits 2 before any work
  const report = makeReporter(!!a.json);
  const dataset = nl.configJSON(config).dataset;
  const result = engine === 'native' ? await trainNative(config, dataset, report) : await trainWasm(nl, config, report);
  result.engine = engine === 'native' ? 'native' : nl.engine;
  result.isa = result.isa || nl.isa();
  const images = result.epochs.length * result.dataset.train;
  result.wall_seconds = +result.seconds.toFixed(3);
  delete result.seconds;
  result.img_per_s = +(images / result.wall_seconds).toFixed(1);
  if (dataset === 'cifar10') result.note = 'CIFAR-10 test accuracy is on the 1,000 available test images (test_batch 0-999), not the full 10,000.';
  const text = JSON.stringify(result, null, a.json ? 0 : 2);
  if (a.out) writeFileSync(a.out, text + '\n');
  process.stdout.write(text + '\n');
  if (result.status === 'diverged') {
    process.stderr.write(result.message + '\n');
    process.exitCode = 1;
  }
}
