// loss: evaluates a training loss and its gradient on logits from stdin, with the
// very code that training runs.
import { loadEngine } from '../../wasm/noisylab.js';
import { UsageError, parseArgs } from '../lib.mjs';

export const usage = ['loss --loss NAME [--alpha A --beta B --q Q --gamma G --class-counts n1,n2 --cb-beta B] < input.json'];

export async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

export async function run(argv) {
  const a = parseArgs(argv, { loss: 'value', alpha: 'value', beta: 'value', q: 'value', gamma: 'value', 'class-counts': 'value', 'cb-beta': 'value' });
  if (!a.loss) throw new UsageError('loss needs --loss NAME, e.g. noisylab loss --loss ce < input.json.');
  // The loss travels as a config key, so it gets the same validation as a run's. The
  // parameter flags belong to the robust losses of the label-noise study; the core
  // validates them once it has those losses, and until then says so plainly.
  const given = ['alpha', 'beta', 'q', 'gamma', 'class-counts', 'cb-beta'].filter((f) => a[f] !== undefined);
  if (given.length)
    throw new UsageError(`--${given[0]} is a parameter of the robust and class-balanced losses, which this build does not have yet; '${a.loss}' takes no parameters. Allowed losses now: ce.`);
  const params = `loss=${encodeURIComponent(a.loss)}`;
  let input;
  try { input = JSON.parse(await readStdin()); } catch (e) {
    throw new UsageError(`stdin is not valid JSON (${e.message}). Expected {"logits": [[...], ...], "labels": [...]}.`);
  }
  const { logits, labels } = input || {};
  if (!Array.isArray(logits) || !logits.length || !logits.every((r) => Array.isArray(r) && r.every((v) => typeof v === 'number' && isFinite(v))))
    throw new UsageError('"logits" must be a non-empty array of rows of finite numbers.');
  if (!Array.isArray(labels) || !labels.every((v) => Number.isInteger(v)))
    throw new UsageError('"labels" must be an array of integer class indices.');
  const nl = await loadEngine();
  const out = nl.loss(params, logits, labels);
  process.stdout.write(JSON.stringify(out) + '\n');
}
