/**
 * `npm run bench:p256`, as docs/benchmarks.md prints it, runs and reports both windows and countersign's own check (window 2, the key's table). No
 * timing is asserted (the machine is shared): the figures go in the docs, not in tests.
 */
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '../..');

test('npm run bench:p256 runs as printed and reports the default window, the chosen one and the check with the key kept', () => {
  const command = 'npm run bench:p256';
  assert.ok(fs.readFileSync(path.join(ROOT, 'docs/benchmarks.md'), 'utf8').includes(`\`${command}\``));
  const out = execSync(command, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, BENCH_SAMPLES: '2' } });
  const rows = out.split('\n').filter((l) => /^\s*(8|2|2, key 4)\s+[\d.]+ ms/.test(l));
  assert.equal(rows.length, 3, out);
  for (const row of rows) for (const ms of row.match(/[\d.]+(?= ms)/g)!) assert.ok(Number(ms) > 0, row);
});
