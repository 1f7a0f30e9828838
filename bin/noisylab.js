#!/usr/bin/env node
// noisylab: the command-line face of the lab. Same core, same config strings as the page.
//
// Each command is a module bin/commands/<name>.mjs exporting `usage` (lines of help)
// and `run(argv)`; this file only dispatches. Exit codes: 0 ok, 1 runtime failure
// (missing data, diverged run), 2 bad input (unknown key, bad value, malformed
// JSON): the message names what to fix.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NlError } from '../wasm/noisylab.js';
import { UsageError, root } from './lib.mjs';

const dir = join(root, 'bin', 'commands');
const ORDER = ['train', 'sweep', 'merge', 'presets', 'loss', 'datasets', 'download', 'keys'];
const names = () => readdirSync(dir).filter((f) => f.endsWith('.mjs')).map((f) => f.slice(0, -4))
  .sort((a, b) => ((ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99)) || a.localeCompare(b));

async function usageText() {
  const lines = [];
  for (const n of names()) for (const l of (await import(join(dir, n + '.mjs'))).usage) lines.push('  noisylab ' + l);
  return 'usage:\n' + lines.join('\n') + '\n';
}

async function main() {
  // `noisylab keys | head` closes the pipe early: that is not an error
  process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); throw e; });
  const [cmd, ...rest] = process.argv.slice(2);
  const help = !cmd || cmd === '--help' || cmd === 'help';
  if (help || !/^[a-z-]+$/.test(cmd) || !existsSync(join(dir, cmd + '.mjs'))) {
    process.stderr.write(`${help ? '' : `unknown command '${cmd}'. Commands: ${names().join(', ')}.\n`}${await usageText()}`);
    process.exit(help ? 0 : 2);
  }
  try {
    await (await import(join(dir, cmd + '.mjs'))).run(rest);
  } catch (e) {
    const bad = e instanceof UsageError || (e instanceof NlError && /config key|unknown config|config item|loss:/.test(e.message));
    process.stderr.write(`noisylab ${cmd}: ${e.message}${e instanceof UsageError ? ' Hint: run `npx noisylab help`.' : ''}\n`);
    process.exit(bad ? 2 : e.exitCode === 2 ? 2 : 1);
  }
}

main();
