/**
 * `npm run bench:verify` and `BENCH_REGISTRY=olareg npm run bench:verify`, as docs/benchmarks.md
 * prints them, at 20 images: each verifies one image in-process beside the cosign processes in
 * both formats, then the many images twice (warm, and with the blob cache emptied). No timing is
 * asserted (the machine is shared): the figures go in the docs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBenchAsPrinted } from '../support/bench-command';

/** A figure of what the bench printed as `label { key: value, ... }` (on one line or several). */
function figure(out: string, label: string, key: string): number {
  const start = out.split('\n').findIndex((l) => l.startsWith(`${label} {`));
  assert.ok(start >= 0, `a "${label} {" line in:\n${out}`);
  const printed = out.split('\n').slice(start).join('\n');
  const object = printed.slice(0, printed.indexOf('}') + 1);
  const match = new RegExp(`\\b${key}: ([0-9.e+-]+)`).exec(object);
  assert.ok(match, `${key} in ${object}`);
  return Number(match[1]);
}

for (const [command, registryLine] of [
  ['npm run bench:verify', 'registry: distribution 2.8 (no Referrers API); many images signed as: legacy'],
  ['BENCH_REGISTRY=olareg npm run bench:verify', 'registry: olareg (with the Referrers API); many images signed as: bundle'],
] as const) {
  test(`${command} runs as printed: one image in both formats beside cosign, then many, warm and cold`, { timeout: 10 * 60_000 }, () => {
    const out = runBenchAsPrinted(command, { BENCH_IMAGES: '20' });
    assert.ok(out.split('\n').includes(registryLine), out);
    for (const format of ['legacy', 'bundle']) {
      assert.ok(figure(out, format, 'inProcessMs') > 0);
      assert.ok(figure(out, format, 'cosignProcessesMs') > 0, 'the cosign processes ran and verified');
    }
    for (const pass of ['throughput', 'throughput, blob cache emptied first']) {
      assert.equal(figure(out, pass, 'images'), 20);
      assert.ok(figure(out, pass, 'perSecond') > 0);
      // At 20 images olareg can spend less than one clock tick of /proc's count on a pass, so zero
      // is a true reading here (it failed a run asking for more). A figure is printed, read from a
      // live process: processTreeCpuMs throws for a pid that is not running, and its readings are
      // tested on a process that burns CPU in test/bench/process-cpu.test.ts.
      assert.ok(Number.isFinite(figure(out, pass, 'registryCpuMsPerImage')));
    }
  });
}
