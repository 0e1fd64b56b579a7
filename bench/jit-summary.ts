/**
 * What V8's optimising compiler did in a process, from the lines `node --trace-opt --trace-deopt`
 * writes (a bench worker's log with `BENCH_WORKER_NODE_ARGS="--trace-opt --trace-deopt"
 * BENCH_KEEP=1`): how many functions TurboFan compiled and the CPU it spent (most of it on V8's
 * background threads, which count in the process's CPU but in no thread's CPU profile), the
 * functions that cost most, and the deoptimisations by reason. A worker compiling the same
 * function again and again shows here as one function with many compiles.
 *   BENCH_TOP=15 npx tsx bench/jit-summary.ts <worker.log>
 */
import fs from 'node:fs';

// [completed compiling 0x.. <JSFunction name (sfi = 0x..)> (target TURBOFAN) - took 0.002, 5.861, 0.019 ms]
// The three times: preparing on the main thread, compiling (on a background thread unless
// --no-concurrent-recompilation), finishing on the main thread.
const COMPILED = /^\[completed compiling 0x[0-9a-f]+ <JSFunction (\S*) \(sfi = (0x[0-9a-f]+)\)> \(target \w+\) - took ([\d.]+), ([\d.]+), ([\d.]+) ms\]/;
// [bailout (kind: deopt-eager, reason: wrong map): begin. deoptimizing 0x.. <JSFunction name (sfi = 0x..)>, ...
const DEOPTIMISED = /^\[bailout \(kind: [\w-]+, reason: ([^)]*)\): begin\. deoptimizing /;

export interface JitSummary {
  compiles: number;
  /** Milliseconds compiling (the middle figure), and preparing plus finishing on the main thread. */
  compileMs: number;
  mainThreadMs: number;
  byFunction: Array<{ name: string; compiles: number; ms: number }>;
  deopts: number;
  byReason: Array<{ reason: string; count: number }>;
}

export function summariseJit(log: string): JitSummary {
  const functions = new Map<string, { name: string; compiles: number; ms: number }>();
  const reasons = new Map<string, number>();
  let compiles = 0;
  let compileMs = 0;
  let mainThreadMs = 0;
  let deopts = 0;
  for (const line of log.split('\n')) {
    const compiled = COMPILED.exec(line);
    if (compiled) {
      const [, name, sfi, prepare, compile, finish] = compiled;
      compiles += 1;
      compileMs += Number(compile);
      mainThreadMs += Number(prepare) + Number(finish);
      // One entry per function (its shared function info), not per closure.
      const entry = functions.get(sfi) ?? { name: name || '(anonymous)', compiles: 0, ms: 0 };
      entry.compiles += 1;
      entry.ms += Number(compile);
      functions.set(sfi, entry);
      continue;
    }
    const deopt = DEOPTIMISED.exec(line);
    if (deopt) {
      deopts += 1;
      reasons.set(deopt[1], (reasons.get(deopt[1]) ?? 0) + 1);
    }
  }
  return {
    compiles,
    compileMs,
    mainThreadMs,
    byFunction: [...functions.values()].sort((a, b) => b.ms - a.ms),
    deopts,
    byReason: [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count),
  };
}

function fail(message: string): never {
  process.stderr.write(`jit-summary: ${message}\n`);
  process.exit(2);
}

function main(): void {
  const [file] = process.argv.slice(2);
  if (!file) fail('usage: npx tsx bench/jit-summary.ts <log written by node --trace-opt --trace-deopt>');
  const top = Number(process.env.BENCH_TOP ?? 15);
  if (!Number.isInteger(top) || top < 1) fail(`BENCH_TOP: how many lines to list, a whole number from 1, not "${process.env.BENCH_TOP}"`);
  let log: string;
  try {
    log = fs.readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot read ${file}: ${(err as Error).message}`);
  }
  const summary = summariseJit(log);
  if (summary.compiles === 0) fail(`${file} holds no "completed compiling" line: was the process run with --trace-opt?`);
  console.log(`== ${file}: ${summary.compiles} TurboFan compiles, ${summary.compileMs.toFixed(0)} ms compiling, ${summary.mainThreadMs.toFixed(0)} ms on the main thread around them`);
  console.log('functions by compile time (compiles, ms):');
  for (const f of summary.byFunction.slice(0, top)) console.log(`  ${String(f.compiles).padStart(4)}  ${f.ms.toFixed(1).padStart(8)}  ${f.name}`);
  console.log(`deoptimisations: ${summary.deopts}`);
  for (const r of summary.byReason.slice(0, top)) console.log(`  ${String(r.count).padStart(4)}  ${r.reason}`);
}

if (require.main === module) main();
