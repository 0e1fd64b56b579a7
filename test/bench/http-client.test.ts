/**
 * `npm run bench:http`, as docs/benchmarks.md prints it, runs and reports both clients. No timing
 * is asserted (the machine is shared): the figures go in the docs, not in tests.
 */
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '../..');

test('npm run bench:http runs as printed and reports undici request beside fetch, GET and PUT', () => {
  const command = 'npm run bench:http';
  assert.ok(fs.readFileSync(path.join(ROOT, 'docs/benchmarks.md'), 'utf8').includes(`\`${command}\``));
  const out = execSync(command, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, BENCH_REQUESTS: '100' } });
  for (const client of ['undici request', 'fetch (yardstick)']) {
    const rows = out.split('\n').filter((l) => l.startsWith(`| ${client} |`));
    assert.equal(rows.length, 2, out);
    for (const row of rows) for (const us of row.match(/\d+(?= µs)/g)!) assert.ok(Number(us) > 0, row);
  }
});
