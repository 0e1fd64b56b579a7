/**
 * `npm run bench:gate`, as docs/benchmarks.md prints it, at a tiny size: three promotions of three
 * distinct images parked under one target with a cache of two (so the approved one was evicted and
 * replays), the worker's heaps read through the probe, two approvals that end PROMOTED; and the
 * same on olareg with sigstore bundles (`BENCH_REGISTRY=olareg`), the images spread over two
 * targets' repositories (`BENCH_REPOSITORIES=2`). And the gates' own wakes
 * (`BENCH_STEADY_SECONDS`), with the shortest evidence interval the configuration allows: every
 * parked gate reads its evidence again within 1.25 intervals (plus the bench's slack), and the
 * windows' table and the figure at the default interval are printed. No timing is asserted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBenchAsPrinted } from '../support/bench-command';

for (const [command, registry] of [
  ['npm run bench:gate', 'distribution 2.8 (no Referrers API); signature format: legacy'],
  ['BENCH_REGISTRY=olareg BENCH_REPOSITORIES=2 npm run bench:gate', 'olareg (with the Referrers API); signature format: bundle; 2 repositories'],
]) {
  test(`${command} runs as printed: parks N distinct promotions and reads the worker heaps`, { timeout: 15 * 60_000 }, () => {
    const out = runBenchAsPrinted(command, { BENCH_PARKED: '1,3', BENCH_APPROVALS: '2', COUNTERSIGN_MAX_CACHED_WORKFLOWS: '2' });
    assert.ok(out.includes(`registry: ${registry}\n`), out);
    const rows = out.split('\n').filter((l) => /^\| \d+ \|/.test(l));
    assert.deepEqual(rows.map((r) => r.split('|')[1].trim()), ['0', '1', '3'], out);
    // Every row has both threads' heaps (a probe that never answered fails the bench instead).
    for (const row of rows) assert.match(row, /\| \d+ \/ \d+ MiB \| \d+ MiB \| \d+ \/ \d+ MiB \| \d+ MiB \|/, row);
    assert.match(out, /workflow cache: 2; approval -> PROMOTED with 3 parked \(the promotions parked longest\): p50 \d+ ms over 2 \(\d+, \d+ ms in turn\)/);
  });
}

test('BENCH_EVIDENCE_EVERY=1m BENCH_STEADY_SECONDS=5 npm run bench:gate runs as printed: the parked gates wake on their own and the windows are measured', { timeout: 15 * 60_000 }, () => {
  const out = runBenchAsPrinted('BENCH_EVIDENCE_EVERY=1m BENCH_STEADY_SECONDS=5 npm run bench:gate', { BENCH_PARKED: '3', BENCH_APPROVALS: '1' });
  const woke = /evidence reads from the last level parked to the steady window: (\d+) \(3 gates\)/.exec(out);
  assert.ok(woke, out);
  assert.ok(Number(woke[1]) >= 3, `every parked gate read its evidence again: ${woke[1]} reads for 3 gates\n${out}`);
  assert.match(out, /\| window \| seconds \| evidence reads \(wakes\) \|/);
  for (const label of ['right after parking', 'every gate woken once']) assert.match(out, new RegExp(`\\| ${label} \\| \\d+ \\| \\d+ \\| [0-9.]+ \\| `), label);
  assert.match(out, /at the default interval \(60 min\), 3 parked gates wake [0-9.]+ times a second: [0-9.]+ % of the cores/);
  assert.match(out, /approval -> PROMOTED with 3 parked \(the promotions parked longest\): p50 \d+ ms over 1 \(\d+ ms in turn\), timed while the gates went on waking/);
});
