/**
 * The bench's CPU readings from /proc (bench/process-cpu.ts) on real processes: a child that
 * burns CPU and a grandchild that does too are both counted under the child's pid, a process
 * that only sleeps is not charged, and a pid that is not running is refused instead of read as 0.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { processTreeCpuMs } from '../../bench/process-cpu';

/** A node process that spins for `ms` of CPU (starting a grandchild that spins as long, when asked), then waits to be killed. */
async function spinner(ms: number, withGrandchild: boolean): Promise<ChildProcess> {
  const spin = `const end = process.cpuUsage().user / 1000 + ${ms}; while (process.cpuUsage().user / 1000 < end);`;
  const grandchild = withGrandchild ? `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(`${spin} console.log('spun'); setInterval(() => {}, 1000);`)}], { stdio: ['ignore', 'inherit', 'ignore'] });` : '';
  const child = spawn(process.execPath, ['-e', `${grandchild} ${spin} console.log('spun'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  let lines = 0;
  const wanted = withGrandchild ? 2 : 1;
  child.stdout!.setEncoding('utf8');
  while (lines < wanted) {
    const [chunk] = (await once(child.stdout!, 'data')) as [string];
    lines += chunk.split('\n').filter((l) => l === 'spun').length;
  }
  return child;
}

test('a process and its descendants are charged the CPU they burned; a sleeping one is not', async () => {
  const busy = await spinner(300, true);
  const idle = await spinner(0, false);
  try {
    const busyMs = processTreeCpuMs(busy.pid!);
    // Two spins of 300 ms of user time, each counted whole (ticks of 10 ms).
    assert.ok(busyMs >= 550, `the child and its grandchild burned 600 ms, read ${busyMs}`);
    const idleBefore = processTreeCpuMs(idle.pid!);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(processTreeCpuMs(idle.pid!) - idleBefore < 100, 'a process waiting on a timer is charged almost nothing');
  } finally {
    for (const p of [busy, idle]) process.kill(-p.pid!, 'SIGKILL');
  }
});

test('a pid that is not running is refused, not read as zero', async () => {
  const gone = spawn(process.execPath, ['-e', '0']);
  await once(gone, 'exit');
  assert.throws(() => processTreeCpuMs(gone.pid!), /no process \d+ to read CPU time from/);
});
