/**
 * A bench stopped with kill or Ctrl-C stops what it started (bench/support.ts, StopList): the
 * worker, the Temporal server, the registry and the by-hand flow's registry, and removes its folder. A
 * killed `bench:gate` used to leave its worker retrying a dead server for 40 minutes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import { TSX_LOADER } from '../../src/stack/worker-process';

/** Running, and not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`${signal} stops the bench's worker, Temporal server and registries, then exits ${code}`, { timeout: 180_000 }, async () => {
    const bench = spawn(process.execPath, ['--import', TSX_LOADER, path.join(__dirname, 'fixtures', 'hold-bench-stack.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    bench.stderr.on('data', (d) => (stderr += d));
    // The stack prints where its files go first ("stack files: ..."), then the fixture its JSON line.
    const heldLine = (text: string) => text.split('\n').find((line, i, lines) => line.startsWith('{') && i < lines.length - 1);
    let stdout = '';
    for await (const chunk of bench.stdout) {
      stdout += chunk;
      if (heldLine(stdout)) break;
    }
    const line = heldLine(stdout);
    assert.ok(line, `the bench ended before its stack was up: ${stdout}${stderr}`);
    const held = JSON.parse(line) as { pids: Record<string, number>; byHandRegistryPid?: number; dir: string };
    assert.deepEqual(Object.keys(held.pids).sort(), ['registry', 'server', 'worker']);
    // The by-hand flow's registry is started with the stack (its CPU is reported apart).
    const byHand = held.byHandRegistryPid;
    assert.ok(byHand !== undefined && running(byHand), 'the by-hand registry runs before the signal');
    for (const [name, pid] of Object.entries(held.pids)) assert.ok(running(pid), `the ${name} runs before the signal`);
    assert.ok(fs.existsSync(held.dir));

    try {
      const exited = once(bench, 'exit');
      bench.kill(signal);
      const [exitCode] = await exited;
      assert.equal(exitCode, code, stderr);
      assert.match(stderr, new RegExp(`bench: ${signal}, stopping the worker, Temporal and the registry`));
      assert.deepEqual(Object.entries(held.pids).filter(([, pid]) => running(pid)).map(([name]) => name), [], 'nothing the bench started is left running');
      assert.equal(running(byHand), false, 'the by-hand registry is stopped too');
      assert.equal(fs.existsSync(held.dir), false, 'its folder is removed');
    } finally {
      // When the assertions fail, what was left is stopped here, not left to the rest of the suite.
      for (const pid of [...Object.values(held.pids), byHand]) if (running(pid)) process.kill(pid, 'SIGKILL');
      fs.rmSync(held.dir, { recursive: true, force: true });
    }
  });
}
