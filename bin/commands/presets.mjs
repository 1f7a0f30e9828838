// presets: the named settings of preset=NAME, each with its full canonical string.
import { loadEngine } from '../../wasm/noisylab.js';

export const usage = ['presets             the presets (preset=NAME) with their full config strings'];

export async function run() {
  const nl = await loadEngine();
  for (const p of nl.configPresets())
    process.stdout.write(`${p.name}\n  ${p.help}\n  preset: ${p.config}\n  full:   ${nl.normalizeConfig('preset=' + p.name)}\n`);
}
