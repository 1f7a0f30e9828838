// download: fetch a dataset from its official source, then prepare it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../lib.mjs';

export const usage = ['download NAME       fetch a dataset from its official source (mnist, fashion-mnist, cifar10, cora, citeseer, aifb, mutag, dmg777k; all = every one but dmg777k), checked by hash'];

export async function run(argv) {
  const mod = join(root, 'datasets', 'download.mjs');
  if (!existsSync(mod)) throw new Error('datasets/download.mjs is missing. Hint: reinstall noisylab.');
  const { main } = await import(mod);
  await main(argv);
}
