/**
 * Scale-out the way users grow (npm run bench:scale): BENCH_PROMOTIONS (default 30) promotions at
 * once against 1, 2 and 3 worker processes on one task queue and one Temporal server
 * (BENCH_WORKERS=1,2,3), then the same batch with one worker killed (SIGKILL) once half of them
 * have reached the gate (BENCH_KILL=0 skips it). For each: promotions/s, p50/p95, and, read back
 * from the registry, how many images carry exactly one platform signature and one approval record.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { APPROVAL_PREDICATE_TYPE } from '../src/approval/constants';
import { signAndDecide } from '../src/client/promotions';
import { verifyAttestations } from '../src/cosign/attestations';
import { verifyImageSignatures } from '../src/cosign/image-signatures';
import { RegistryStore } from '../src/oci/registry';
import type { PromotionStatus } from '../workflows/promotion-messages';
import { BENCH_APPROVER, BENCH_FACTS, markdownTable, startBenchStack } from './support';

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main(): Promise<void> {
  const levels = (process.env.BENCH_WORKERS ?? '1,2,3').split(',').map(Number);
  const count = Number(process.env.BENCH_PROMOTIONS ?? 30);
  const kill = process.env.BENCH_KILL !== '0';
  const bench = await startBenchStack('scale', { bench: { repositoryPath: 'bench/app' } });
  const store = new RegistryStore(bench.registryAddress);
  const platformPem = await fs.readFile(path.join(bench.keysDir, 'platform.pub'), 'utf8');
  const workers: Array<ChildProcess | undefined> = [undefined]; // the stack's own worker
  const rows: Array<Array<string | number>> = [];
  let seq = 0;

  /** One batch; `atHalfway` runs once half the promotions have reached the gate. */
  async function batch(atHalfway?: () => void): Promise<{ wall: number; latencies: number[]; digests: string[] }> {
    let atGate = 0;
    const began = Date.now();
    const results = await Promise.all(
      Array.from({ length: count }, async () => {
        const n = seq++;
        const src = path.join(bench.dir, 'src', String(n));
        await fs.mkdir(src, { recursive: true });
        await fs.writeFile(path.join(src, 'index.html'), `<h1>scale ${n} ${process.pid}</h1>\n`);
        const t0 = Date.now();
        const started = await bench.promoteUntilGate({ target: 'bench', source: { directory: src }, build: BENCH_FACTS }, 500);
        const gate = started.gate;
        if (++atGate === Math.ceil(count / 2)) atHalfway?.();
        if (gate.state === 'AWAITING_APPROVAL') await signAndDecide(bench.client, started.promotionId, { approver: BENCH_APPROVER, decision: 'approve', signer: bench.approver, view: gate.approval });
        const final = (await bench.client.workflow.getHandle(started.promotionId).result()) as PromotionStatus;
        if (final.state !== 'PROMOTED') throw new Error(`${started.promotionId} ended ${final.state}: ${final.error}`);
        return { ms: Date.now() - t0, digest: started.digest };
      }),
    );
    return { wall: (Date.now() - began) / 1000, latencies: results.map((r) => r.ms).sort((a, b) => a - b), digests: results.map((r) => r.digest) };
  }

  /** Images carrying exactly one platform signature and exactly one approval record. */
  async function exactlyOnce(digests: string[]): Promise<number> {
    let ok = 0;
    for (const digest of digests) {
      const sigs = await verifyImageSignatures(store, 'bench/app', digest, platformPem);
      const records = (await verifyAttestations(store, 'bench/app', digest, platformPem)).attestations.filter((a) => a.predicateType === APPROVAL_PREDICATE_TYPE);
      if (sigs.valid === 1 && records.length === 1) ok += 1;
    }
    return ok;
  }

  const row = async (label: string, n: number, run: { wall: number; latencies: number[]; digests: string[] }) =>
    rows.push([label, n, count, Number((count / run.wall).toFixed(2)), `${percentile(run.latencies, 50)} ms`, `${percentile(run.latencies, 95)} ms`, `${await exactlyOnce(run.digests)} / ${count}`]);

  try {
    for (const n of levels) {
      while (workers.length < n) workers.push(await bench.addWorker());
      await row('all running', n, await batch());
      console.error(JSON.stringify(rows.at(-1)));
    }
    if (kill && workers.length >= 2) {
      const victim = workers.at(-1)!;
      await row(`one killed (SIGKILL) at half-way`, workers.length, await batch(() => victim.kill('SIGKILL')));
      console.error(JSON.stringify(rows.at(-1)));
    }
  } catch (err) {
    console.error('benchmark failed:', err);
    process.exitCode = 1;
  } finally {
    await bench.close();
  }
  console.log(markdownTable(['run', 'worker processes', 'promotions at once', 'promotions/s', 'p50', 'p95', 'one platform signature and one approval record'], rows));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
