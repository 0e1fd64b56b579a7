/**
 * `npx tsx bench/jit-summary.ts <worker.log>`, as docs/benchmarks.md prints it, on what a real
 * `node --trace-opt --trace-deopt` wrote for a script that has one function optimised and then
 * deoptimised: the summary counts that compile and names the function and the reason. No timing
 * is asserted.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { summariseJit } from '../../bench/jit-summary';

const ROOT = path.resolve(__dirname, '../..');
const PRINTED = 'npx tsx bench/jit-summary.ts <worker.log>';

test('bench/jit-summary.ts reads what node --trace-opt --trace-deopt wrote: the compile, the function, the deoptimisation', { timeout: 120_000 }, (t) => {
  assert.ok(fs.readFileSync(path.join(ROOT, 'docs/benchmarks.md'), 'utf8').includes(`\`${PRINTED}\``), 'docs/benchmarks.md prints the command');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-jit-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'hot.js');
  // Optimised on demand (natives syntax), so the compile happens on every machine, then called with
  // a string where it only saw small integers: V8 throws the optimised code away ("not a Smi").
  fs.writeFileSync(
    script,
    'function hotSum(a, b) { return a + b; }\n%PrepareFunctionForOptimization(hotSum);\nhotSum(1, 2); hotSum(3, 4);\n%OptimizeFunctionOnNextCall(hotSum);\nhotSum(5, 6);\nconsole.log(hotSum("x", 1));\n',
  );
  const log = path.join(dir, 'worker.log');
  fs.writeFileSync(log, execFileSync(process.execPath, ['--allow-natives-syntax', '--trace-opt', '--trace-deopt', script], { encoding: 'utf8' }));

  const out = execFileSync('sh', ['-c', PRINTED.replace('<worker.log>', log)], { cwd: ROOT, encoding: 'utf8' });
  assert.match(out, /^== .*worker\.log: 1 TurboFan compiles, \d+ ms compiling, \d+ ms on the main thread around them$/m, out);
  assert.match(out, /^\s+1\s+[\d.]+\s+hotSum$/m, `the compiled function is listed:\n${out}`);
  assert.match(out, /^deoptimisations: 1$/m, out);
  assert.match(out, /^\s+1\s+not a Smi$/m, `with its reason:\n${out}`);

  // A log without --trace-opt's lines is said so, with exit 2, not summarised as nothing.
  const plain = path.join(dir, 'plain.log');
  fs.writeFileSync(plain, 'hello\n');
  const refused = spawnSync('sh', ['-c', PRINTED.replace('<worker.log>', plain)], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /holds no "completed compiling" line: was the process run with --trace-opt\?/);
});

test('summariseJit counts one function compiled twice as one entry, and skips lines two threads wrote into each other', () => {
  const line = (sfi: string, ms: string) => `[completed compiling 0x1 <JSFunction again (sfi = ${sfi})> (target TURBOFAN) - took 0.010, ${ms}, 0.020 ms]`;
  const summary = summariseJit([line('0xaa', '2.5'), 'noise', line('0xaa', '1.5'), '[completed compiling 0x2 <JSFunc[completed', line('0xbb', '1.0')].join('\n'));
  assert.equal(summary.compiles, 3);
  assert.equal(summary.compileMs, 5);
  assert.deepEqual(summary.byFunction[0], { name: 'again', compiles: 2, ms: 4 });
  assert.equal(summary.byFunction.length, 2);
  assert.ok(Math.abs(summary.mainThreadMs - 0.09) < 1e-9, String(summary.mainThreadMs));
});
