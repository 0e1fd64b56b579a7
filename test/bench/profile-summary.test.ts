/**
 * `npx tsx bench/profile-summary.ts <file>.cpuprofile`, as docs/benchmarks.md prints it, on a real
 * V8 profile (`node --cpu-prof`) of a script that spends its time in one known function: the
 * summary names that function and its owner directory first. No timing is asserted.
 */
import assert from 'node:assert/strict';
import { execFileSync, execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '../..');

test('bench/profile-summary.ts ranks a real profile by owner and by function', { timeout: 120_000 }, (t) => {
  const printed = 'npx tsx bench/profile-summary.ts <file>.cpuprofile';
  assert.ok(fs.readFileSync(path.join(ROOT, 'docs/benchmarks.md'), 'utf8').includes(`\`${printed}\``), 'docs/benchmarks.md prints the command');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-profile-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A script under a src/<module>/ folder, as countersign's own code is, busy in burnCpu.
  fs.mkdirSync(path.join(dir, 'src', 'burn'), { recursive: true });
  const script = path.join(dir, 'src', 'burn', 'busy.js');
  fs.writeFileSync(script, 'function burnCpu() { let x = 0; for (let i = 0; i < 3e8; i++) x = (x * 31 + i) % 1000003; return x; }\nconsole.log(burnCpu());\n');
  execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, script], { stdio: 'ignore' });
  const [profile] = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  assert.ok(profile, 'node wrote a profile');
  const file = path.join(dir, profile);

  const out = execSync(printed.replace('<file>.cpuprofile', file), { cwd: ROOT, encoding: 'utf8', env: { ...process.env, BENCH_TOP: '3' } });
  assert.match(out, new RegExp(`^== ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\d+ ms busy$`, 'm'), out);
  const owners = out.slice(out.indexOf('self time by owner:'), out.indexOf('top functions (self time):')).trim().split('\n').slice(1);
  const functions = out.slice(out.indexOf('top functions (self time):')).trim().split('\n').slice(1);
  assert.equal(owners.length, 3, `BENCH_TOP=3 lists three owners:\n${out}`);
  assert.match(owners[0], /^\s+\d+\.\d%\s+src\/burn$/, `the busy function's folder comes first:\n${out}`);
  assert.match(functions[0], /^\s+\d+\.\d%\s+burnCpu src\/burn\/busy\.js:1$/, `and the function itself:\n${out}`);
  assert.ok(Number(/(\d+\.\d)%/.exec(owners[0])![1]) > 50, `most of the busy time:\n${out}`);
});
