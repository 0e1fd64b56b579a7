/** The exit codes README documents are the ones the CLI uses and prints in its help. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { EXIT, EXIT_MEANINGS } from '../../src/cli/command';
import { runCli } from '../support/cli';

test("README's exit code table, the CLI's EXIT codes and its help say the same", async () => {
  const readme = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('| code | meaning |'));
  const rows = [...table.split('\n\n')[0].matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => [Number(m[1]), m[2]] as const);
  assert.deepEqual(rows, EXIT_MEANINGS.map(([c, m]) => [c, m]));
  assert.deepEqual(new Set(EXIT_MEANINGS.map(([c]) => c)), new Set(Object.values(EXIT)), 'every EXIT code has a meaning');
  const help = await runCli(['--help']);
  for (const [code, meaning] of EXIT_MEANINGS) assert.ok(help.stdout.includes(`${String(code).padStart(2)}  ${meaning}`), `help lists ${code}`);
});
