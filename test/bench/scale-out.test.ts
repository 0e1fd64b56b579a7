/**
 * `npm run bench:scale`, as docs/benchmarks.md prints it, at a tiny size: two worker processes on
 * one task queue, then one of them killed mid-batch; every image still carries exactly one
 * platform signature and one approval record. No timing is asserted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBenchAsPrinted } from '../support/bench-command';

test('npm run bench:scale runs as printed; a worker killed mid-run loses nothing and signs nothing twice', { timeout: 15 * 60_000 }, () => {
  const out = runBenchAsPrinted('npm run bench:scale', { BENCH_WORKERS: '1,2', BENCH_PROMOTIONS: '2' });
  const rows = out.split('\n').filter((l) => /^\| (all running|one killed)/.test(l));
  assert.deepEqual(rows.map((r) => r.split('|')[2].trim()), ['1', '2', '2'], out);
  for (const row of rows) assert.equal(row.split('|')[7].trim(), '2 / 2', row);
  assert.match(rows[2], /^\| one killed \(SIGKILL\) at half-way \|/);
});
