/**
 * The settings `npm run bench` reads from its environment besides the sizes (bench/support.ts):
 * BENCH_WORKER_NODE_ARGS, BENCH_KEEP, BENCH_WARMUP, BENCH_BATCHES and BENCH_DIR take what they mean and refuse
 * anything else, naming the setting; the stack's files go where BENCH_DIR or the machine says.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PROMOTIONS_PER_LEVEL, benchBaseDir, benchBatchesFromEnv, benchKeepFromEnv, benchWarmupFromEnv, benchWorkerNodeArgsFromEnv } from '../../bench/support';

test('BENCH_WORKER_NODE_ARGS takes node flags only; BENCH_KEEP takes 0 or 1', () => {
  assert.deepEqual(benchWorkerNodeArgsFromEnv({}), []);
  assert.deepEqual(benchWorkerNodeArgsFromEnv({ BENCH_WORKER_NODE_ARGS: ' --trace-opt  --max-semi-space-size=64 ' }), ['--trace-opt', '--max-semi-space-size=64']);
  // Not a flag: a script path or a second program would change what runs, not how.
  for (const bad of ['trace-opt', '--trace-opt /tmp/other.js', '-e', '--', '--x=']) {
    assert.throws(() => benchWorkerNodeArgsFromEnv({ BENCH_WORKER_NODE_ARGS: bad }), /^Error: BENCH_WORKER_NODE_ARGS: node flags separated by spaces, each --flag or --flag=value, not "/, bad);
  }
  assert.equal(benchKeepFromEnv({}), false);
  assert.equal(benchKeepFromEnv({ BENCH_KEEP: '1' }), true);
  assert.equal(benchKeepFromEnv({ BENCH_KEEP: '0' }), false);
  assert.throws(() => benchKeepFromEnv({ BENCH_KEEP: 'yes' }), /^Error: BENCH_KEEP: 1 keeps the bench's directory, 0 removes it, not "yes"$/);
});

test('BENCH_WARMUP takes a whole number of promotions, 100 unless set, 0 for none', () => {
  assert.equal(benchWarmupFromEnv({}), 100);
  assert.equal(benchWarmupFromEnv({ BENCH_WARMUP: '0' }), 0);
  assert.equal(benchWarmupFromEnv({ BENCH_WARMUP: '25' }), 25);
  for (const bad of ['-1', '2.5', 'ten', '', ' 5']) {
    assert.throws(() => benchWarmupFromEnv({ BENCH_WARMUP: bad }), /^Error: BENCH_WARMUP: how many promotions of each side warm the workers up before the first level, a whole number \(0 for none\), not "/, bad);
  }
});

test('BENCH_BATCHES takes a whole number of batches per level; unset, each level runs about the same number of promotions, at least 3 batches', () => {
  const byDefault = benchBatchesFromEnv({});
  assert.deepEqual([10, 50, 100, 2].map(byDefault), [15, 3, 3, 75]);
  assert.equal(PROMOTIONS_PER_LEVEL, 150);
  assert.deepEqual([10, 50].map(benchBatchesFromEnv({ BENCH_BATCHES: '4' })), [4, 4]);
  for (const bad of ['0', '-1', '2.5', 'three', '', ' 3']) {
    assert.throws(() => benchBatchesFromEnv({ BENCH_BATCHES: bad }), /^Error: BENCH_BATCHES: a whole number of batches per level, at least 1, not "/, bad);
  }
});

test('the stack files go to BENCH_DIR when set, else a writable tmpfs at /dev/shm, else the temporary directory', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-bench-dir-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(benchBaseDir({ BENCH_DIR: dir }), { dir, label: `${dir} (BENCH_DIR)` });
  assert.throws(() => benchBaseDir({ BENCH_DIR: path.join(dir, 'absent') }), /^Error: BENCH_DIR: an existing directory for the bench's stack files, not ".*absent"$/);
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, '');
  assert.throws(() => benchBaseDir({ BENCH_DIR: file }), /^Error: BENCH_DIR: an existing directory/);
  const isTmpfs = (where: string) => {
    try {
      return fs.statfsSync(where).type === 0x01021994;
    } catch {
      return false;
    }
  };
  // A directory that is not a tmpfs (or none at all) in place of /dev/shm: the temporary directory.
  const notTmpfs = isTmpfs(dir) ? [path.join(dir, 'absent')] : [dir, path.join(dir, 'absent')];
  for (const where of notTmpfs) {
    assert.deepEqual(benchBaseDir({}, where), { dir: os.tmpdir(), label: `${os.tmpdir()} (no writable tmpfs at ${where})` });
  }
  // Where this machine has a tmpfs at /dev/shm (Linux's statfs says so), it is chosen.
  if (!isTmpfs('/dev/shm')) {
    t.skip('no tmpfs at /dev/shm on this machine');
    return;
  }
  assert.deepEqual(benchBaseDir({}), { dir: '/dev/shm', label: '/dev/shm (tmpfs)' });
});
