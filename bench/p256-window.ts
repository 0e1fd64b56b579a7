/**
 * `npm run bench:p256`: what a worker pays for its first approval-signature checks with one
 * approver's key: the library's verify with its default base-point window (8), the same with the
 * window workflows/approval-signature.ts sets (2), and that module's own check (window 2, and the
 * approver's key kept with a table of window 4). Each sample is a fresh node process (a fresh
 * module state, as a worker's first workflow has); the three alternate in one run so all see the
 * same machine. Prints medians and --json.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 7);
const CHECKS = 3;
const root = path.resolve(__dirname, '..');

function sample(window: number): number[] {
  const code = `
const { p256 } = require('@noble/curves/p256');
const { sha256 } = require('@noble/hashes/sha256');
const crypto = require('node:crypto');
const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-65);
p256.ProjectivePoint.BASE.precompute(${window});
const out = [];
for (let i = 0; i < ${CHECKS}; i++) {
  const msg = Buffer.from('statement ' + i);
  const sig = crypto.sign('sha256', msg, privateKey);
  const t0 = process.hrtime.bigint();
  if (!p256.verify(sig, sha256(msg), pub, { lowS: false, format: 'der', prehash: false })) throw new Error('did not verify');
  out.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
console.log(JSON.stringify(out));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' })) as number[];
}

/** workflows/approval-signature.ts's own check, three statements signed by one approver. */
function sampleCountersign(): number[] {
  const code = `
const crypto = require('node:crypto');
const { verifyStatementSignature } = require(${JSON.stringify(path.join(root, 'workflows/approval-signature.ts'))});
const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const hex = publicKey.export({ format: 'der', type: 'spki' }).subarray(-65).toString('hex');
const out = [];
for (let i = 0; i < ${CHECKS}; i++) {
  const statement = 'statement ' + i;
  const sig = crypto.sign('sha256', Buffer.from(statement), privateKey).toString('base64');
  const t0 = process.hrtime.bigint();
  if (!verifyStatementSignature(statement, sig, hex)) throw new Error('did not verify');
  out.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
console.log(JSON.stringify(out));`;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: root, encoding: 'utf8' })) as number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const VARIANTS: Record<string, () => number[]> = { '8': () => sample(8), '2': () => sample(2), '2, key 4': sampleCountersign };
const runs: Record<string, number[][]> = Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, []]));
for (let i = 0; i < SAMPLES; i++) for (const [name, run] of Object.entries(VARIANTS)) runs[name].push(run());
const summary = Object.fromEntries(
  Object.entries(runs).map(([w, xs]) => [w, { firstMs: median(xs.map((x) => x[0])), laterMs: median(xs.flatMap((x) => x.slice(1))), totalMs: median(xs.map((x) => x.reduce((a, b) => a + b, 0))) }]),
);
if (process.argv.includes('--json')) console.log(JSON.stringify({ samples: SAMPLES, checks: CHECKS, windows: summary }));
else {
  console.log(`first ${CHECKS} P-256 checks with one key in a fresh module, median of ${SAMPLES} processes each`);
  console.log('  window  first check  each later  all three');
  for (const [w, s] of Object.entries(summary)) console.log(`${w.padStart(8)}  ${s.firstMs.toFixed(1).padStart(8)} ms  ${s.laterMs.toFixed(1).padStart(7)} ms  ${s.totalMs.toFixed(1).padStart(6)} ms`);
}
