// `noisylab loss`: every loss through the CLI (and so through nl_loss_eval and
// loss_compute in WASM) against a JS double-precision reference written from the
// formulas of core/loss.h. The reference gradient is the central difference of the
// reference value (Richardson-extrapolated, in double), so no derivative is
// written twice. Inputs are rounded to float32 first, as the engine sees them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = (args, input) => spawnSync(process.execPath, [join(root, 'bin', 'noisylab.js'), 'loss', ...args], { encoding: 'utf8', input });

// ---- reference formulas, per sample, in double
const A = -Math.log(1e-4);
const logSoftmax = (z) => {
  const m = Math.max(...z), s = z.reduce((a, v) => a + Math.exp(v - m), 0);
  return z.map((v) => v - m - Math.log(s));
};
const sum = (a) => a.reduce((x, y) => x + y, 0);
const T = {
  ce: (lp, y) => -lp[y],
  mae: (lp, y) => 1 - Math.exp(lp[y]),
  rce: (lp, y) => A * (1 - Math.exp(lp[y])),
  gce: (lp, y, P) => (1 - Math.exp(lp[y]) ** P.q) / P.q,
  fl: (lp, y, P) => -((1 - Math.exp(lp[y])) ** P.gamma) * lp[y],
  nce: (lp, y) => lp[y] / sum(lp),
  nfl: (lp, y, P) => {
    const f = lp.map((l) => (1 - Math.exp(l)) ** P.gamma * l);
    return f[y] / sum(f);
  },
  ngce: (lp, y, P) => (1 - Math.exp(lp[y]) ** P.q) / (lp.length - sum(lp.map((l) => Math.exp(l) ** P.q))),
  nmae: (lp, y) => (1 - Math.exp(lp[y])) / (lp.length - 1),
};
const combo = (a, b) => (lp, y, P) => P.alpha * T[a](lp, y, P) + P.beta * T[b](lp, y, P);
function cbWeights(counts, beta) {
  const w = counts.map((n) => (n > 0 ? (1 - beta) / (1 - beta ** n) : 0));
  const s = sum(w);
  return w.map((v) => (v / s) * counts.length);
}
const SAMPLE = {
  ...Object.fromEntries(Object.keys(T).map((k) => [k, T[k]])),
  sce: (lp, y, P) => P.alpha * T.ce(lp, y) + P.beta * T.rce(lp, y),
  'nce+mae': combo('nce', 'mae'), 'nce+rce': combo('nce', 'rce'), 'nfl+mae': combo('nfl', 'mae'),
  'nfl+rce': combo('nfl', 'rce'), 'ngce+mae': combo('ngce', 'mae'), 'ngce+rce': combo('ngce', 'rce'),
  'cb-ce': (lp, y, P) => cbWeights(P.counts, P.cb_beta)[y] * T.ce(lp, y),
  'cb-focal': (lp, y, P) => cbWeights(P.counts, P.cb_beta)[y] * T.fl(lp, y, P),
};

// PCG32 and Lemire's rng_below, as core/rng.c, to replay the triplet sampling
const M64 = (1n << 64n) - 1n;
function pcg(seed, stream) {
  let state = 0n;
  const inc = ((BigInt(stream) << 1n) | 1n) & M64;
  const u32 = () => {
    const old = state;
    state = (old * 6364136223846793005n + inc) & M64;
    const x = Number((((old >> 18n) ^ old) >> 27n) & 0xffffffffn), rot = Number(old >> 59n);
    return ((x >>> rot) | (x << ((32 - rot) & 31))) >>> 0;
  };
  u32();
  state = (state + BigInt(seed)) & M64;
  u32();
  const below = (n) => {
    if (n <= 1) return 0;
    let m = BigInt(u32()) * BigInt(n), low = Number(m & 0xffffffffn);
    if (low < n) {
      const threshold = (2 ** 32 - n) % n;
      while (low < threshold) { m = BigInt(u32()) * BigInt(n); low = Number(m & 0xffffffffn); }
    }
    return Number(m >> 32n);
  };
  return { below };
}
const STREAM_LOSS = 10;
function tripletSample(labels, seed) {
  const r = pcg(seed, STREAM_LOSS), B = labels.length, pos = [], neg = [];
  for (let i = 0; i < B; i++) {
    const P = [], N = [];
    for (let j = 0; j < B; j++) if (j !== i) (labels[j] === labels[i] ? P : N).push(j);
    if (!P.length || !N.length) { pos.push(-1); neg.push(-1); continue; }
    const n = r.below(P.length), m = r.below(N.length);
    pos.push(P[n]); neg.push(N[m]);
  }
  return { pos, neg };
}
const dist = (x, y, p) => sum(x.map((v, k) => Math.abs(v - y[k] + 1e-6) ** p)) ** (1 / p);

// the mean loss of the batch (z: rows of float32-rounded numbers)
function refLoss(name, z, labels, P) {
  if (name === 'triplet') {
    let s = 0, used = 0;
    for (let i = 0; i < z.length; i++) {
      if (P.pos[i] < 0) continue;
      s += Math.max(0, dist(z[i], z[P.pos[i]], P.pnorm) - dist(z[i], z[P.neg[i]], P.pnorm) + P.margin);
      used++;
    }
    return used ? s / used : 0;
  }
  if (name === 'cosine-embedding')
    return sum(z.map((r, b) => 1 - r[labels[b]] / Math.sqrt(sum(r.map((v) => v * v)) + 1e-12))) / z.length;
  return sum(z.map((r, b) => SAMPLE[name](logSoftmax(r), labels[b], P))) / z.length;
}
function refGrad(name, z, labels, P) {
  return z.map((row, b) => row.map((v, k) => {
    const d = (h) => {
      const zp = z.map((r) => r.slice()), zm = z.map((r) => r.slice());
      zp[b][k] = v + h; zm[b][k] = v - h;
      return (refLoss(name, zp, labels, P) - refLoss(name, zm, labels, P)) / (2 * h);
    };
    const h = 1e-4 * Math.max(1, Math.abs(v));
    return (4 * d(h / 2) - d(h)) / 3;
  }));
}

// a fixed pseudo-random batch: B = 6, K = 4, labels with repeats (for triplet)
function batch(scale) {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const logits = Array.from({ length: 6 }, () => Array.from({ length: 4 }, () => Math.fround(scale * rnd())));
  return { logits, labels: [0, 1, 0, 2, 1, 3] };
}

const CASES = [
  ['ce', []], ['mae', []], ['rce', []], ['sce', ['--alpha', '0.3', '--beta', '1.5']], ['gce', ['--q', '0.4']],
  ['fl', ['--gamma', '0.7']], ['nce', []], ['nfl', ['--gamma', '0.3']], ['ngce', ['--q', '0.2']], ['nmae', []],
  ['nce+mae', ['--alpha', '2', '--beta', '0.5']], ['nce+rce', ['--alpha', '0.7', '--beta', '3']],
  ['nfl+mae', ['--alpha', '1.2', '--beta', '0.4', '--gamma', '1.5']], ['nfl+rce', ['--alpha', '0.5', '--beta', '2', '--gamma', '0.5']],
  ['ngce+mae', ['--alpha', '1', '--beta', '0.1', '--q', '0.6']], ['ngce+rce', ['--alpha', '3', '--beta', '0.2', '--q', '0.1']],
  ['cb-ce', ['--class-counts', '5000,1200,40,7', '--cb-beta', '0.999']],
  ['cb-focal', ['--class-counts', '300,0,25,9', '--cb-beta', '0.99', '--gamma', '2']],
  ['triplet', ['--margin', '2.5', '--pnorm', '1.5', '--seed', '17']],
  ['cosine-embedding', []],
];

function params(flags) {
  const P = { margin: 1, pnorm: 2, cb_beta: 0.9999 };
  for (let i = 0; i < flags.length; i += 2) {
    const k = flags[i].slice(2);
    if (k === 'class-counts') P.counts = flags[i + 1].split(',').map(Number);
    else P[k === 'cb-beta' ? 'cb_beta' : k] = Number(flags[i + 1]);
  }
  return P;
}

test('every loss of the help is a loss of the core, and the reverse', async () => {
  const { lossNames } = await import('../../bin/commands/loss.mjs');
  const r = spawnSync(process.execPath, [join(root, 'bin', 'noisylab.js'), 'keys'], { encoding: 'utf8' });
  const choices = r.stdout.match(/^loss\s+default ce\s+(\S+)/m)[1].split('|');
  assert.deepEqual(lossNames, choices);
  assert.deepEqual(CASES.map(([n]) => n), choices, 'this test covers every loss');
  const help = cli(['--help'], '');
  assert.equal(help.status, 0);
  for (const n of choices) assert.match(help.stdout, new RegExp(`^  ${n.replace('+', '\\+')}\\s+\\S`, 'm'), n);
  assert.match(help.stdout, /reduced/);
  assert.match(help.stdout, /--class-counts/);
});

for (const [name, flags] of CASES) {
  test(`loss ${name}: value and gradient against the double-precision reference`, () => {
    for (const scale of [2, 12]) {
      const { logits, labels } = batch(scale);
      const r = cli(['--loss', name, ...flags], JSON.stringify({ logits, labels }));
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      const P = params(flags);
      if (/^(sce|gce|fl|nfl|ngce|nce\+|nfl\+|ngce\+|cb-focal)/.test(name)) {
        // the resolved parameters are reported
        for (const k of ['alpha', 'beta', 'q', 'gamma']) if (P[k] !== undefined) assert.equal(out.params[k], P[k], k);
      }
      if (name === 'triplet') Object.assign(P, tripletSample(labels, 17));
      const want = refLoss(name, logits, labels, P), wantGrad = refGrad(name, logits, labels, P);
      assert.ok(Math.abs(out.loss - want) <= 1e-5 * Math.max(Math.abs(want), 1e-3), `${name} x${scale}: loss ${out.loss} vs ${want}`);
      const gmax = Math.max(...wantGrad.flat().map(Math.abs));
      if (name === 'triplet') assert.ok(gmax > 0, 'some triplet is active');
      out.grad.forEach((row, b) => row.forEach((g, k) => {
        const w = wantGrad[b][k];
        assert.ok(Math.abs(g - w) <= 1e-5 * Math.abs(w) + 1e-6 * gmax, `${name} x${scale}: grad[${b}][${k}] ${g} vs ${w}`);
      }));
    }
  });
}

test('auto parameters follow --dataset (the APL configs)', () => {
  const input = JSON.stringify(batch(1));
  const p = (args) => JSON.parse(cli(args, input).stdout).params;
  assert.deepEqual(p(['--loss', 'sce', '--dataset', 'mnist']), { loss: 'sce', alpha: 0.01, beta: 1 });
  assert.deepEqual(p(['--loss', 'sce', '--dataset', 'cifar10']), { loss: 'sce', alpha: 0.1, beta: 1 });
  assert.deepEqual(p(['--loss', 'nce+rce', '--dataset', 'fashion-mnist']), { loss: 'nce+rce', alpha: 1, beta: 10 });
  assert.deepEqual(p(['--loss', 'ngce+mae']), { loss: 'ngce+mae', alpha: 1, beta: 1, q: 0.1 });
  assert.deepEqual(p(['--loss', 'gce']), { loss: 'gce', q: 0.7 });
  assert.deepEqual(p(['--loss', 'cb-focal', '--class-counts', '1,2,3,4']), { loss: 'cb-focal', gamma: 0.5, cb_beta: 0.9999 });
});

test('loss |z| = 1000: finite value and gradient for every loss', () => {
  const logits = [[1000, -1000, 0, 999], [-1000, 1000, -1000, -1000], [1000, 1000, 1000, 1000], [-1000, 3, -1000, 1000]];
  const labels = [0, 0, 2, 3];
  for (const [name, flags] of CASES) {
    const r = cli(['--loss', name, ...flags], JSON.stringify({ logits, labels }));
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    assert.ok(Number.isFinite(out.loss) && out.grad.flat().every(Number.isFinite), name);
  }
});

test('loss: bad parameters and input exit 2 naming the flag or key', () => {
  const ok = JSON.stringify({ logits: [[1, 2, 3], [0, 1, 0]], labels: [0, 2] });
  const bad = [
    [['--loss', 'huber'], ok, /'loss'.*must be one of ce\|mae\|rce\|sce.*cosine-embedding/],
    [['--loss', 'gce', '--q', '0'], ok, /config key 'q'/],
    [['--loss', 'ngce', '--q', '1.5'], ok, /config key 'q'/],
    [['--loss', 'fl', '--gamma', '-1'], ok, /config key 'gamma'/],
    [['--loss', 'sce', '--alpha', '0', '--beta', '0'], ok, /'alpha' and 'beta' are both 0/],
    [['--loss', 'nce+rce', '--alpha', 'x'], ok, /config key 'alpha'/],
    [['--loss', 'cb-ce'], ok, /--class-counts/],
    [['--loss', 'cb-focal', '--class-counts', '1,2'], ok, /--class-counts has 2 counts but the logits have 3/],
    [['--loss', 'cb-ce', '--class-counts', '1,-2,3'], ok, /--class-counts '1,-2,3' must be whole numbers/],
    [['--loss', 'cb-ce', '--class-counts', '0,0,0'], ok, /every class count is 0/],
    [['--loss', 'cb-ce', '--class-counts', '1,2,3', '--cb-beta', '1'], ok, /config key 'cb_beta'/],
    [['--loss', 'triplet', '--pnorm', '0.5'], ok, /config key 'pnorm'/],
    [['--loss', 'triplet', '--seed', '-1'], ok, /--seed/],
    [['--loss', 'ce', '--alpha', '1'], ok, /--alpha is not a parameter of ce/],
    [['--loss', 'gce', '--gamma', '1'], ok, /--gamma is not a parameter of gce, which takes --q/],
    [['--loss', 'nce'], 'not json', /not valid JSON/],
    [['--loss', 'nce'], '{"logits": [[1, 2]], "labels": [5]}', /label 5 .*outside 0\.\.1/],
    [[], ok, /needs --loss/],
  ];
  for (const [args, input, re] of bad) {
    const r = cli(args, input);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});
