/**
 * `npm run bench:registry` and `BENCH_REGISTRY=olareg npm run bench:registry`, as
 * docs/benchmarks.md prints them, at 5 requests of each kind: every kind is sent and its figure
 * printed. No figure is asserted beyond being a reading (the machine is shared; /proc counts in
 * 10 ms ticks, so 5 requests may well read 0).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { runBenchAsPrinted } from '../support/bench-command';

const KINDS = [
  'blob upload (small, fresh)',
  'image manifest PUT',
  'referrer manifest PUT (a bundle)',
  'referrers listing',
  'tag read, absent (.att)',
  'manifest read by digest',
  'blob read',
  'tag PUT (the release tag)',
];

for (const [command, label] of [
  ['npm run bench:registry', 'registry: distribution 2.8 (no Referrers API); 5 requests of each kind'],
  ['BENCH_REGISTRY=olareg npm run bench:registry', 'registry: olareg (with the Referrers API); 5 requests of each kind'],
] as const) {
  test(`${command} runs as printed: each kind of request a promotion sends, with the registry's CPU for it`, { timeout: 5 * 60_000 }, () => {
    const out = runBenchAsPrinted(command, { BENCH_REQUESTS: '5' });
    // The storage goes where npm run bench keeps its registry's (bench/support.ts benchBaseDir).
    assert.ok(out.split('\n').some((line) => line.startsWith(`${label}; storage in `)), out);
    const rows = out.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| request'));
    assert.deepEqual(rows.map((r) => r.split('|')[1].trim()), KINDS);
    for (const row of rows) {
      const [cpu, wall] = row.split('|').slice(2, 4).map(Number);
      assert.ok(Number.isFinite(cpu) && cpu >= 0, row);
      assert.ok(Number.isFinite(wall) && wall >= 0, row);
    }
  });
}

test('BENCH_REQUESTS that is not a whole number from 1 to 100000 is refused before a registry starts', () => {
  const run = spawnSync('npm', ['run', 'bench:registry'], { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8', env: { ...process.env, BENCH_REQUESTS: '0' } });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /BENCH_REQUESTS must be a whole number from 1 to 100000, got "0"/);
  assert.doesNotMatch(run.stdout, /^registry: /m, 'no registry started');
});
