// loss: evaluates a training loss and its gradient on logits from stdin, with the
// very code that training runs (loss_compute in the core, via nl_loss_eval).
import { loadEngine } from '../../wasm/noisylab.js';
import { UsageError, parseArgs } from '../lib.mjs';

export const usage = ['loss --loss NAME [--alpha A --beta B --q Q --gamma G --class-counts n1,n2,.. --cb-beta B --margin M --pnorm P --seed S --dataset D] < input.json   (loss --help: every loss)'];

// Every loss with its formula and the flags it takes. p = softmax(z), y the given
// label, K classes; the value is the mean over the batch, the gradient that of the mean.
// The core's schema (config key `loss`) is the authority on the names; the test
// checks that this list matches it.
const LOSSES = [
  ['ce', '-log p_y', []],
  ['mae', '1 - p_y   (the APL code\'s "reduced" MAE: half of sum_k |p_k - onehot_k|)', []],
  ['rce', 'A (1 - p_y),  A = -ln(1e-4) = 9.2103', []],
  ['sce', 'alpha ce + beta rce', ['alpha', 'beta']],
  ['gce', '(1 - p_y^q) / q', ['q']],
  ['fl', '-(1 - p_y)^gamma log p_y', ['gamma']],
  ['nce', 'log p_y / sum_k log p_k', []],
  ['nfl', '(1 - p_y)^gamma log p_y / sum_k (1 - p_k)^gamma log p_k', ['gamma']],
  ['ngce', '(1 - p_y^q) / (K - sum_k p_k^q)', ['q']],
  ['nmae', '(1 - p_y) / (K - 1)', []],
  ['nce+mae', 'alpha nce + beta mae', ['alpha', 'beta']],
  ['nce+rce', 'alpha nce + beta rce', ['alpha', 'beta']],
  ['nfl+mae', 'alpha nfl + beta mae', ['alpha', 'beta', 'gamma']],
  ['nfl+rce', 'alpha nfl + beta rce', ['alpha', 'beta', 'gamma']],
  ['ngce+mae', 'alpha ngce + beta mae', ['alpha', 'beta', 'q']],
  ['ngce+rce', 'alpha ngce + beta rce', ['alpha', 'beta', 'q']],
  ['cb-ce', 'w_y ce,  w_c = (1 - cb_beta) / (1 - cb_beta^n_c), scaled to sum K (n_c = 0: w_c = 0)', ['class-counts', 'cb-beta']],
  ['cb-focal', 'w_y fl', ['gamma', 'class-counts', 'cb-beta']],
  ['triplet', 'max(0, d(a,pos) - d(a,neg) + margin), d = ||a - b + 1e-6||_pnorm, mean over the triplets', ['margin', 'pnorm', 'seed']],
  ['cosine-embedding', '1 - cos(z, e_y) = 1 - z_y / sqrt(sum_k z_k^2 + 1e-12)', []],
];
export const lossNames = LOSSES.map(([n]) => n);

// flag -> config key (the core validates the values, so its messages name the key)
const KEYS = { alpha: 'alpha', beta: 'beta', q: 'q', gamma: 'gamma', 'cb-beta': 'cb_beta', margin: 'margin', pnorm: 'pnorm', dataset: 'dataset' };

const HELP = `usage: noisylab loss --loss NAME [parameters] < input.json

Reads {"logits": [[...], ...], "labels": [...]} on stdin and prints
{"loss": L, "grad": [[...]], "params": {...}}: the mean loss over the batch, its
gradient dL/dlogits (the exact derivative of the formula, nothing detached) and
the resolved parameters. It runs loss_compute of the core, the code training runs.

Losses (p = softmax(z), y the label, K classes):
${LOSSES.map(([n, f, p]) => `  ${n.padEnd(17)}${f}${p.length ? `\n${' '.repeat(19)}flags: ${p.map((x) => '--' + x).join(' ')}` : ''}`).join('\n')}

Parameters (each is the config key of a run; "auto" = the APL config for the dataset):
  --alpha A        weight of the active term (sce: of ce); auto: sce 0.01 on mnist and
                   fashion-mnist, 0.1 otherwise; the combinations 1
  --beta B         weight of the passive term (sce: of rce); auto: sce 1; the
                   combinations 10 on mnist and fashion-mnist, 1 otherwise
  --q Q            exponent in (0, 1]; auto: gce 0.7, ngce and ngce+* 0.1
  --gamma G        focal exponent >= 0; auto: 0.5
  --class-counts n1,n2,...   training count of each class, one per logit column
                   (required by cb-ce and cb-focal)
  --cb-beta B      beta of the effective number, in [0, 1); default 0.9999
  --margin M       triplet margin; default 1
  --pnorm P        triplet p-norm, >= 1; default 2
  --seed S         triplet: seed of the triplet sampling (stream STREAM_LOSS); default 0
  --dataset D      dataset whose APL config "auto" takes (synth|mnist|fashion-mnist|cifar10);
                   default synth (the CIFAR-10 column)

The embedding losses (triplet, cosine-embedding) treat each logit row as the
embedding. Exit code 2 for bad input (the message names the flag or key).
`;

export async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

export async function run(argv) {
  const a = parseArgs(argv, { help: 'bool', loss: 'value', alpha: 'value', beta: 'value', q: 'value', gamma: 'value', 'class-counts': 'value', 'cb-beta': 'value', margin: 'value', pnorm: 'value', seed: 'value', dataset: 'value' });
  if (a.help) { process.stdout.write(HELP); return; }
  if (!a.loss) throw new UsageError('loss needs --loss NAME, e.g. noisylab loss --loss nce+rce < input.json; `noisylab loss --help` lists the losses.');
  const entry = LOSSES.find(([n]) => n === a.loss);
  // An unknown name goes on to the core, whose message lists the allowed losses.
  if (entry) {
    const takes = entry[2];
    for (const f of ['alpha', 'beta', 'q', 'gamma', 'class-counts', 'cb-beta', 'margin', 'pnorm', 'seed'])
      if (a[f] !== undefined && !takes.includes(f))
        throw new UsageError(`--${f} is not a parameter of ${a.loss}, which takes ${takes.length ? takes.map((x) => '--' + x).join(', ') : 'no parameters'}.`);
  }
  const params = ['loss=' + encodeURIComponent(a.loss)];
  for (const [flag, key] of Object.entries(KEYS))
    if (a[flag] !== undefined) params.push(`${key}=${encodeURIComponent(a[flag])}`);

  let classCounts;
  if (a['class-counts'] !== undefined) {
    classCounts = a['class-counts'].split(',').map((s) => s.trim());
    if (!classCounts.every((s) => /^\d+$/.test(s) && Number(s) <= 2147483647))
      throw new UsageError(`--class-counts '${a['class-counts']}' must be whole numbers >= 0 joined by ',', one per class, e.g. --class-counts 5000,2997,1796.`);
    classCounts = classCounts.map(Number);
  } else if (entry && entry[2].includes('class-counts')) {
    throw new UsageError(`--loss ${a.loss} weights each class by its training count: give --class-counts n1,n2,... with one count per class.`);
  }
  let seed = 0;
  if (a.seed !== undefined) {
    if (!/^\d+$/.test(a.seed) || Number(a.seed) > 4294967295)
      throw new UsageError(`--seed '${a.seed}' must be a whole number from 0 to 4294967295.`);
    seed = Number(a.seed);
  }

  let input;
  try { input = JSON.parse(await readStdin()); } catch (e) {
    throw new UsageError(`stdin is not valid JSON (${e.message}). Expected {"logits": [[...], ...], "labels": [...]}.`);
  }
  const { logits, labels } = input || {};
  if (!Array.isArray(logits) || !logits.length || !logits.every((r) => Array.isArray(r) && r.every((v) => typeof v === 'number' && isFinite(v))))
    throw new UsageError('"logits" must be a non-empty array of rows of finite numbers.');
  if (!Array.isArray(labels) || !labels.every((v) => Number.isInteger(v)))
    throw new UsageError('"labels" must be an array of integer class indices.');
  if (classCounts && classCounts.length !== logits[0].length)
    throw new UsageError(`--class-counts has ${classCounts.length} counts but the logits have ${logits[0].length} classes; give one count per class.`);
  const nl = await loadEngine();
  const config = params.join('&');
  const out = nl.loss(config, logits, labels, { classCounts, seed });
  out.params = nl.lossParams(config);
  process.stdout.write(JSON.stringify(out) + '\n');
}
