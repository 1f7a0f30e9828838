// Sweeps, merges and presets: the grid is validated before any training, a cell
// gives the same bits as `train` of its config, shards partition the grid and
// merge back to the unsharded run, merge refuses bad input with file:line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine } from '../../wasm/noisylab.js';
import { expandGrid, parseGrid, parseShard, shardOf } from '../../bin/commands/sweep.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'noisylab.js');
const cli = (args, opts = {}) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', ...opts });
// the CLI without waiting, so independent calls overlap
const cliAsync = (args, opts = {}) => new Promise((resolve) => {
  const child = spawn(process.execPath, [bin, ...args], opts);
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.on('close', (status) => resolve({ status, stdout, stderr }));
});
const tmp = () => mkdtempSync(join(tmpdir(), 'nl-sweep-'));
const lines = (file) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const nl = await loadEngine();

// a small MLP keeps each cell well under a second
const BASE = 'train=300&test=100&epochs=1&model=mlp&width=64&tsne=0';
const GRID = 'loss=ce,nce+rce&noise=0,0.4&seed=0,1';

test('the grid: first axis slowest, any key an axis, base keys overridden, values as the core reads them', () => {
  const cells = expandGrid(nl, 'lr=0.5&model=mlp&epochs=1', parseGrid('lr=0.1,0.010&momentum=0,0.5&batch=32&depth=1,3&width=16'));
  assert.equal(cells.length, 2 * 2 * 1 * 2 * 1);
  assert.deepEqual(cells.map((c) => c.index), [...Array(8).keys()]);
  assert.deepEqual(cells[0].axes, { lr: 0.1, momentum: 0, batch: 32, depth: 1, width: 16 });
  assert.deepEqual(cells[1].axes, { lr: 0.1, momentum: 0, batch: 32, depth: 3, width: 16 });
  assert.deepEqual(cells[7].axes, { lr: 0.01, momentum: 0.5, batch: 32, depth: 3, width: 16 });
  assert.equal(cells[7].config, 'v=1&model=mlp&depth=3&width=16&momentum=0.5&epochs=1&batch=32', 'lr=0.01 is the default');
  assert.equal(cells[0].config, 'v=1&model=mlp&depth=1&width=16&lr=0.1&momentum=0&epochs=1&batch=32');
  for (const c of cells) assert.equal(nl.normalizeConfig(c.config), c.config, 'cells are canonical');
  // a preset can be an axis; the base's explicit keys override it
  const p = expandGrid(nl, 'train=300', parseGrid('preset=mnist-browser,cifar10-browser'));
  assert.deepEqual(p.map((c) => c.axes.preset), ['mnist-browser', 'cifar10-browser']);
  assert.match(p[0].config, /dataset=mnist&train=300&test=1000/);
  assert.match(p[1].config, /dataset=cifar10&train=300&test=1000.*mult=0\.25/);
  // a class subset as an axis: its commas are written %2C
  const k = expandGrid(nl, 'dataset=fashion-mnist&epochs=1', parseGrid('classes=0%2C9,9%2C0,all'));
  assert.deepEqual(k.map((c) => c.axes.classes), ['0,9', '9,0', 'all']);
  assert.deepEqual(k.map((c) => c.config), ['v=1&dataset=fashion-mnist&classes=0,9&epochs=1',
    'v=1&dataset=fashion-mnist&classes=9,0&epochs=1', 'v=1&dataset=fashion-mnist&epochs=1']);
});

test('bad grids, bases and options exit 2 naming the key, before any training', async () => {
  const dir = tmp();
  const cases = [
    [['sweep', BASE, '--grid', 'lrr=0.1,0.2'], /--grid lrr=0\.1: unknown config key 'lrr'/],
    [['sweep', BASE, '--grid', 'loss=ce&noise=0,1.5'], /--grid noise=1\.5: config key 'noise'.*from 0 to 1/],
    [['sweep', BASE, '--grid', 'loss=ce,huber'], /--grid loss=huber: config key 'loss'.*must be one of ce\|mae/],
    [['sweep', BASE, '--grid', 'batch=32,0'], /--grid batch=0: config key 'batch'/],
    [['sweep', BASE, '--grid', 'preset=mnist-browser,mnist'], /--grid preset=mnist: .*'mnist' is not a preset/],
    [['sweep', 'train=300&val=200', '--grid', 'train=1000,100'], /--grid train=100: config key 'val'/],
    [['sweep', BASE, '--grid', 'seed=0,1,0'], /--grid cells seed=0 and seed=0 are the same config/],
    [['sweep', BASE, '--grid', 'lr=0.1,0.10'], /are the same config/],
    [['sweep', BASE, '--grid', 'seed=0,,1'], /--grid key 'seed' has an empty value/],
    [['sweep', BASE, '--grid', 'seed=0&seed=1'], /--grid key 'seed' is given twice/],
    [['sweep', BASE, '--grid', 'loss'], /--grid item 'loss' is not key=value/],
    [['sweep', BASE, '--grid', ''], /--grid is empty/],
    [['sweep', 'epochs=zero', '--grid', 'seed=0,1'], /config key 'epochs'.*not a number/],
    [['sweep', BASE], /sweep takes one base config string and --grid/],
    [['sweep', BASE, '--grid', 'seed=0,1', '--shard', '0/2'], /--shard: '0\/2' is not K\/N/],
    [['sweep', BASE, '--grid', 'seed=0,1', '--shard', '3/2'], /--shard/],
    [['sweep', BASE, '--grid', 'seed=0,1', '--shard', '1/0'], /--shard/],
    [['sweep', BASE, '--grid', 'seed=0,1', '--shard', 'one/two'], /--shard/],
    [['sweep', BASE, '--grid', 'seed=0,1', '--jobs', '0'], /--jobs: '0'/],
    [['sweep', BASE, '--grid', 'seed=0,1', '--engine', 'gpu'], /--engine: 'gpu'/],
  ];
  const results = await Promise.all(cases.map(([args]) => cliAsync(args, { cwd: dir })));
  for (const [i, [args, re]] of cases.entries()) {
    const r = results[i];
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.match(r.stderr, /Hint:/, args.join(' '));
    assert.equal(r.stdout, '');
  }
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
});

test('shards partition the grid: the union is the grid, no cell twice, cell i in shard i mod N + 1', () => {
  const cells = expandGrid(nl, BASE, parseGrid('loss=ce,nce+rce&noise=0,0.2,0.4,0.6,0.8&seed=0,1,2'));
  assert.equal(cells.length, 30);
  for (const n of [1, 2, 3, 4, 7, 30, 31]) {
    const seen = new Map();
    for (let k = 1; k <= n; k++) {
      const part = shardOf(cells, parseShard(`${k}/${n}`));
      for (const c of part) {
        assert.ok(!seen.has(c.config), `${k}/${n}: cell ${c.index} also in shard ${seen.get(c.config)}`);
        assert.equal(c.index % n, k - 1);
        seen.set(c.config, k);
      }
    }
    assert.equal(seen.size, cells.length, `${n} shards cover the grid`);
  }
});

// the tiny sweep the next tests share: 2 losses x 2 rates x 2 seeds
const dir = tmp();
let full;

test('a tiny sweep: one JSONL line per cell, bit-identical to `train` of the cell config; CSV and table', async () => {
  const r = cli(['sweep', BASE, '--grid', GRID, '--jobs', '2', '--out', join(dir, 'full')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /sweep: 8 cells; running 8 on 2 wasm-simd workers/);
  assert.match(r.stderr, /^\[8\/8\] /m, 'plain progress lines on a pipe');
  full = lines(join(dir, 'full.jsonl')).sort((a, b) => a.cell - b.cell);
  assert.equal(full.length, 8);
  assert.deepEqual(full.map((c) => c.cell), [...Array(8).keys()]);
  const trains = (await Promise.all(full.map((c) => cliAsync(['train', c.config, '--json'])))).map((o) => JSON.parse(o.stdout));
  full.forEach((c, i) => {
    const t = trains[i];
    assert.equal(c.config, t.config);
    assert.equal(c.status, 'finished');
    assert.deepEqual(c.epochs, t.epochs, `cell ${i}: per-epoch metrics`);
    assert.equal(c.last_test_acc, t.last_test_acc);
    assert.equal(c.best_test_acc, t.best_test_acc);
    assert.equal(c.noise_rate, t.noise.realised_rate);
    assert.equal(c.engine, t.engine);
  });
  assert.deepEqual(full[6].axes, { loss: 'nce+rce', noise: 0.4, seed: 0 });
  assert.ok(full[6].noise_rate > 0.3 && full[0].noise_rate === 0);
  // the table: mean ± population std over the seeds
  const rows = r.stdout.trim().split('\n');
  assert.match(rows[0], /^loss\s+noise\s+n\s+last test acc %\s+best test acc %$/);
  assert.equal(rows.length, 5);
  const [a, b] = [full[2].last_test_acc, full[3].last_test_acc].map((x) => 100 * x);
  const want = `${((a + b) / 2).toFixed(2)} ± ${(Math.abs(a - b) / 2).toFixed(2)}`;
  assert.match(rows[2], new RegExp(`^ce\\s+0\\.4\\s+2\\s+${want.replace(/[.+]/g, '\\$&')}\\s`), `${rows[2]} vs ${want}`);
  const csv = readFileSync(join(dir, 'full.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'loss,noise,seed,status,last_test_acc,best_test_acc,best_epoch,noise_rate,engine,wall_seconds,config');
  assert.equal(csv.length, 9);
  assert.ok(csv[1].startsWith(`ce,0,0,finished,${full[0].last_test_acc},`));
});

const outcome = (c) => { const { wall_seconds, ...rest } = c; return rest; };

test('shards of the sweep merge back to the unsharded run; --resume skips finished cells', async () => {
  // three machines at once, one job each
  const runs = await Promise.all([1, 2, 3].map((k) => cliAsync(['sweep', BASE, '--grid', GRID, '--jobs', '1', '--shard', `${k}/3`, '--out', join(dir, `s${k}`)])));
  // more shards than cells: an empty shard still leaves its (empty) file for merge
  const empty = cli(['sweep', BASE, '--grid', GRID, '--shard', '9/9', '--out', join(dir, 'empty')]);
  assert.equal(empty.status, 0, empty.stderr);
  assert.match(empty.stderr, /sweep: 0 cells \(shard 9\/9 of 8\)/);
  assert.equal(readFileSync(join(dir, 'empty.jsonl'), 'utf8'), '');
  for (const k of [1, 2, 3]) {
    const r = runs[k - 1];
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`sweep: ${k === 3 ? 2 : 3} cells \\(shard ${k}/3 of 8\\); running ${k === 3 ? 2 : 3} on 1 wasm-simd worker;`));
    for (const c of lines(join(dir, `s${k}.jsonl`))) assert.equal(c.cell % 3, k - 1);
  }
  const m = cli(['merge', ...['s1', 's2', 's3', 's1', 'empty'].map((f) => join(dir, f + '.jsonl')), '--out', join(dir, 'merged.jsonl')]);
  assert.equal(m.status, 0, m.stderr);
  assert.match(m.stderr, /8 cells from 5 files, 3 duplicate lines dropped\n/);
  assert.deepEqual(lines(join(dir, 'merged.jsonl')).map(outcome), full.map(outcome));
  assert.equal(m.stdout, cli(['merge', join(dir, 'full.jsonl')]).stdout, 'the same table');
  assert.ok(existsSync(join(dir, 'merged.csv')));
  const part = cli(['merge', join(dir, 's1.jsonl')]);
  assert.match(part.stderr, /5 of the grid's 8 cells are missing \(cells 1, 2, 4, 5, 7\)/);

  // the output exists: refused without --resume; with it, only the missing cells run
  const again = cli(['sweep', BASE, '--grid', GRID, '--shard', '1/3', '--out', join(dir, 's1')]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /s1\.jsonl exists\. Add --resume/);
  const other = cli(['sweep', BASE, '--grid', GRID, '--shard', '1/3', '--out', join(dir, 's1'), '--resume', '--engine', 'wasm-scalar']);
  assert.equal(other.status, 2);
  assert.match(other.stderr, /s1\.jsonl holds cells trained on wasm-simd, but this sweep runs on wasm-scalar/);
  const file = join(dir, 's1.jsonl'), kept = readFileSync(file, 'utf8').split('\n').slice(1).join('\n');
  writeFileSync(file, kept);
  const resumed = cli(['sweep', BASE, '--grid', GRID, '--shard', '1/3', '--out', join(dir, 's1'), '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /3 cells \(shard 1\/3 of 8\), 2 already in .*s1\.jsonl; running 1 on 1 wasm-simd worker;/);
  assert.deepEqual(lines(file).map(outcome).sort((a, b) => a.cell - b.cell), full.filter((c) => c.cell % 3 === 0).map(outcome));
});

test('merge refuses malformed lines with file:line and conflicting results for one config', () => {
  const good = readFileSync(join(dir, 'full.jsonl'), 'utf8').trim().split('\n');
  const bad = join(dir, 'bad.jsonl');
  const cases = [
    [good[0] + '\n{"config": "v=1", "axes"\n', /bad\.jsonl:2: not valid JSON/],
    [good[0] + '\n\n[1, 2]\n', /bad\.jsonl:3: not a JSON object/],
    [JSON.stringify({ ...JSON.parse(good[1]), status: 'failed' }) + '\n', /bad\.jsonl:1: status 'failed'/],
    [JSON.stringify({ ...JSON.parse(good[1]), last_test_acc: '0.5' }) + '\n', /bad\.jsonl:1: 'last_test_acc' is not a number/],
  ];
  for (const [text, re] of cases) {
    writeFileSync(bad, text);
    const r = cli(['merge', join(dir, 'full.jsonl'), bad]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /Hint:/);
  }
  const other = JSON.parse(good[3]);
  other.last_test_acc += 0.01;
  writeFileSync(bad, good[0] + '\n' + JSON.stringify(other) + '\n');
  const r = cli(['merge', join(dir, 'full.jsonl'), bad, '--out', join(dir, 'never.jsonl')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /conflicting results for v=1.*full\.jsonl:\d+ has finished.*bad\.jsonl:2 has finished.*Hint:/);
  assert.ok(!existsSync(join(dir, 'never.jsonl')));
  const missing = cli(['merge', join(dir, 'nope.jsonl')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read .*nope\.jsonl \(ENOENT\)/);
  assert.equal(cli(['merge']).status, 2);
});

test('a diverged cell is recorded and the sweep goes on; a failed cell is reported and exits 1', () => {
  const d = tmp();
  const r = cli(['sweep', 'train=200&test=50&epochs=2&model=mlp&momentum=0.9999&wd=0&tsne=0', '--grid', 'lr=0.01,100', '--out', join(d, 'div')]);
  assert.equal(r.status, 0, r.stderr);
  const [ok, div] = lines(join(d, 'div.jsonl')).sort((a, b) => a.cell - b.cell);
  assert.equal(ok.status, 'finished');
  assert.equal(div.status, 'diverged');
  assert.match(div.message, /diverged.*Hint:/);
  assert.match(r.stdout, /^lr\s+n\s+last test acc %\s+best test acc %\s+diverged$/m);
  assert.match(r.stdout, /^100\s+0\s+-\s+-\s+1$/m);

  // a dataset that is not prepared: exit 1 before any training
  const empty = tmp();
  const miss = cli(['sweep', 'epochs=1', '--grid', 'dataset=synth,cifar10', '--out', join(d, 'miss')], { env: { ...process.env, NOISYLAB_DATASETS: empty } });
  assert.equal(miss.status, 1);
  assert.match(miss.stderr, /dataset 'cifar10' is not prepared.*Hint:/);
  assert.ok(!existsSync(join(d, 'miss.jsonl')));
  // a corrupt shard: its cells fail with the file named, the others finish
  mkdirSync(join(empty, 'mnist'));
  writeFileSync(join(empty, 'mnist', 'train.shard'), Buffer.from('NLSHARD1 but then garbage'));
  writeFileSync(join(empty, 'mnist', 'test.shard'), Buffer.alloc(10));
  const bad = cli(['sweep', 'train=200&test=50&epochs=1&model=linear&tsne=0', '--grid', 'dataset=synth,mnist&seed=0,1', '--out', join(d, 'bad')],
    { env: { ...process.env, NOISYLAB_DATASETS: empty } });
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /2 cells failed \(dataset=mnist seed=0; dataset=mnist seed=1\): .*mnist\/train\.shard/);
  assert.match(bad.stderr, /2 of 4 cells failed.*Hint: .*--resume/);
  assert.deepEqual(lines(join(d, 'bad.jsonl')).map((c) => c.axes.dataset), ['synth', 'synth']);
  assert.match(bad.stdout, /^mnist\s+0\s+-\s+-\s+2$/m);
});

test('the native engine: a sweep cell equals `train --engine native`', { skip: !existsSync(join(root, 'build', 'native', 'nlrun')) && 'nlrun not built' }, () => {
  const d = tmp();
  const r = cli(['sweep', BASE, '--grid', 'noise=0.4', '--engine', 'native', '--out', join(d, 'n')]);
  assert.equal(r.status, 0, r.stderr);
  const [cell] = lines(join(d, 'n.jsonl'));
  const t = JSON.parse(cli(['train', cell.config, '--json', '--engine', 'native']).stdout);
  assert.equal(cell.engine, 'native');
  assert.deepEqual(cell.epochs, t.epochs);
});

test('presets: listed with full strings, applied first, overridden by explicit keys in any order', () => {
  const r = cli(['presets']);
  assert.equal(r.status, 0, r.stderr);
  const names = [...r.stdout.matchAll(/^(\S+)$/gm)].map((m) => m[1]);
  assert.deepEqual(names, ['mnist-apl', 'mnist-browser', 'fashion-mnist-apl', 'fashion-mnist-browser', 'cifar10-apl', 'cifar10-browser', 'aifb-rgcn', 'mutag-rgcn', 'dmg777k-rgcn']);
  assert.match(r.stdout, /full: +v=1&dataset=mnist&nesterov=1&wd=0\.01&clip=5&sched=cosine&lr_min=0\.001&epochs=50&batch=128&eval_batch=512\n/);
  assert.match(r.stdout, /full: +v=1&dataset=cifar10&aug=crop\+flip&model=cnn8&wd=0\.0001&clip=5&sched=cosine&epochs=120&batch=128&eval_batch=128\n/);
  const a = nl.normalizeConfig('epochs=2&preset=mnist-apl&wd=0.001');
  assert.equal(a, nl.normalizeConfig('preset=mnist-apl&wd=0.001&epochs=2'));
  assert.equal(a, 'v=1&dataset=mnist&nesterov=1&wd=0.001&clip=5&sched=cosine&lr_min=0.001&epochs=2&batch=128&eval_batch=512');
  // train of a preset run records the expanded config
  const t = cli(['train', 'preset=mnist-browser&dataset=synth&train=200&test=50&model=mlp&width=32&epochs=1&tsne=0', '--json']);
  assert.equal(t.status, 0, t.stderr);
  assert.equal(JSON.parse(t.stdout).config,
    'v=1&train=200&test=50&model=mlp&width=32&tsne=0&nesterov=1&wd=0.01&clip=5&sched=cosine&lr_min=0.001&epochs=1&batch=128&eval_batch=512');
  const bad = cli(['train', 'preset=apl']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /config key 'preset': 'apl' is not a preset; it must be one of mnist-apl\|.*Hint: `npx noisylab presets`/);
});
