/**
 * Runs a bench command exactly as docs/benchmarks.md prints it (the docs must print it), at the
 * size `env` sets. BENCH_* variables of the caller's own environment are left out, so a value set
 * in the shell running the tests cannot change what the printed command runs.
 */
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export function runBenchAsPrinted(command: string, env: Record<string, string>): string {
  assert.ok(fs.readFileSync(path.join(ROOT, 'docs/benchmarks.md'), 'utf8').includes(`\`${command}\``), `docs/benchmarks.md prints \`${command}\``);
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BENCH_')));
  return execSync(command, { cwd: ROOT, encoding: 'utf8', env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
}
