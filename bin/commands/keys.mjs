// keys: every config key with its default and allowed values, from the core's schema.
import { loadEngine } from '../../wasm/noisylab.js';

export const usage = ['keys                every config key with its default and allowed values'];

export async function run() {
  const nl = await loadEngine();
  for (const k of nl.configSchema()) {
    const allowed = k.choices ? k.choices.join('|') : k.type === 'classes' ? 'all | ids joined by , (e.g. 0,3,5)'
      : k.type === 'matrix' ? 'K rows of K probabilities: a,b,..;c,d,..' : `${k.min}..${k.max}`;
    process.stdout.write(`${k.key.padEnd(12)} default ${(k.default === '' ? '(none)' : String(k.default)).padEnd(10)} ${allowed}\n${' '.repeat(13)}${k.help}\n`);
  }
}
