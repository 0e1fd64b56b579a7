/**
 * A service's output kept in memory (no log file): the last 64 KiB, whatever the process wrote
 * before, so a failure's message can quote it; a process that writes a lot keeps no more.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { ServiceProcess } from '../../src/stack/service';

const KEPT = 64 * 1024;

test('a chatty process: the last 64 KiB of its output are kept, ending with its last line', async () => {
  // 400 lines of about 1 KiB (400 KiB), written in many chunks, the way a registry logs requests.
  const script = "for (let i = 0; i < 400; i++) process.stdout.write(`line ${String(i).padStart(3, '0')} ${'x'.repeat(1000)}\\n`);";
  const proc = await ServiceProcess.start({ name: 'chatty', command: process.execPath, args: ['-e', script] });
  assert.ok(await proc.waitForExit(30_000), 'the process exits');
  // 'exit' can come before the last output is read.
  for (let i = 0; i < 100 && !proc.logTail(1).startsWith('line 399'); i++) await sleep(50);
  const kept = proc.recentLog();
  assert.equal(kept.length, KEPT);
  assert.ok(kept.endsWith(`line 399 ${'x'.repeat(1000)}\n`), kept.slice(-80));
  assert.deepEqual(
    proc.logTail(2).split('\n').map((l) => l.slice(0, 8)),
    ['line 398', 'line 399'],
  );
  // What was cut is older output only: the earliest line still kept comes right before the next.
  const first = /line (\d{3})/.exec(kept)!;
  assert.ok(Number(first[1]) > 300 && Number(first[1]) < 399, `kept from line ${first[1]}`);
});

test('a quiet process: everything it wrote is kept', async () => {
  const proc = await ServiceProcess.start({ name: 'quiet', command: process.execPath, args: ['-e', "console.log('ready on 127.0.0.1:1234'); console.error('one warning')"] });
  assert.ok(await proc.waitForExit(30_000));
  for (let i = 0; i < 100 && !proc.recentLog().includes('one warning'); i++) await sleep(50);
  assert.match(proc.recentLog(), /ready on 127\.0\.0\.1:1234\n/);
  assert.match(proc.recentLog(), /one warning\n/);
});
