// merge: combines the JSONL files of sweep shards into one, checked line by line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError, csvText, parseArgs, readResults, summaryTable } from '../lib.mjs';

export const usage = ['merge a.jsonl b.jsonl ... [--out merged.jsonl]   combine sweep shards (also writes merged.csv) and print the table'];

export async function run(argv) {
  const a = parseArgs(argv, { out: 'value' });
  if (!a._.length) throw new UsageError('merge takes the JSONL files of a sweep, e.g. noisylab merge sweep-*.jsonl --out all.jsonl.');
  const { records, duplicates } = readResults(a._);
  // grid order when the lines know their cell, else the order of the files
  const order = (r) => (Number.isInteger(r.cell) ? r.cell : Infinity);
  records.sort((x, y) => order(x) - order(y));
  const totals = new Set(records.map((r) => r.cells).filter(Number.isInteger));
  let note = '';
  if (totals.size === 1) {
    const total = [...totals][0], have = new Set(records.map((r) => r.cell));
    const missing = [...Array(total).keys()].filter((i) => !have.has(i));
    if (missing.length) note = `; ${missing.length} of the grid's ${total} cells are missing (cells ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}): a shard is not finished or not given`;
  }
  process.stderr.write(`merge: ${records.length} cells from ${a._.length} file${a._.length === 1 ? '' : 's'}` +
    `${duplicates ? `, ${duplicates} duplicate line${duplicates === 1 ? '' : 's'} dropped` : ''}${note}\n`);
  if (a.out) {
    const prefix = a.out.replace(/\.jsonl$/, '');
    mkdirSync(dirname(prefix), { recursive: true });
    writeFileSync(prefix + '.jsonl', records.map((r) => JSON.stringify(r) + '\n').join(''));
    writeFileSync(prefix + '.csv', csvText(records));
    process.stderr.write(`wrote ${prefix}.jsonl and ${prefix}.csv\n`);
  }
  process.stdout.write(summaryTable(records));
}
