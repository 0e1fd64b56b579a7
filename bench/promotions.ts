/**
 * Promotion throughput and latency on the embedded stack (npm run bench).
 * For 1, 10 and 50 concurrent promotions: promotions per second, p50/p95 from start to PROMOTED
 * with approval given as soon as the gate opens, and the worker process's RSS before the first
 * batch and after each (VmRSS), and its lifetime peak (VmHWM, which includes bundling the
 * workflow code at start). Level 1 runs BENCH_SERIAL (default 10) promotions one after another,
 * so its percentiles come from more than one sample.
 * Results go to stdout as a markdown table and to bench/results/promotions.json.
 *   BENCH_LEVELS=1,10,50 npx tsx bench/promotions.ts
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { signAndDecide, waitForPromotion } from '../src/client/promotions';
import type { PromotionStatus } from '../workflows/promotion-messages';
import { BENCH_APPROVER, BENCH_FACTS, markdownTable, processMemoryMiB, startBenchStack } from './support';

const GATE_POLL_MS = 200;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const levels = (process.env.BENCH_LEVELS ?? '1,10,50').split(',').map(Number);
  const bench = await startBenchStack('bench', { bench: { repositoryPath: 'bench/app' } });
  const { client, dir } = bench;
  const results: Array<Record<string, number>> = [];
  const serial = Number(process.env.BENCH_SERIAL ?? 10);
  let seq = 0;
  const idleRssMiB = processMemoryMiB(bench.workerPid).rss;
  try {
    for (const concurrency of levels) {
      const rounds = concurrency === 1 ? serial : 1;
      const began = Date.now();
      const latencies: number[] = [];
      for (let round = 0; round < rounds; round++) latencies.push(...(await runBatch(concurrency)));
      const wall = (Date.now() - began) / 1000;
      const sorted = [...latencies].sort((a, b) => a - b);
      const memory = processMemoryMiB(bench.workerPid);
      const row = {
        concurrency,
        promotions: latencies.length,
        wallSeconds: Number(wall.toFixed(2)),
        promotionsPerSecond: Number((latencies.length / wall).toFixed(2)),
        p50Ms: percentile(sorted, 50),
        p95Ms: percentile(sorted, 95),
        workerIdleRssMiB: idleRssMiB,
        workerRssMiB: memory.rss,
        workerPeakRssMiB: memory.peak,
      };
      results.push(row);
      console.error(JSON.stringify(row));
    }
  } catch (err) {
    console.error('benchmark failed:', err);
    process.exitCode = 1;
  } finally {
    await bench.close();
  }

  /** `concurrency` promotions at once; resolves with each one's start -> PROMOTED time. */
  async function runBatch(concurrency: number): Promise<number[]> {
    const sources = await Promise.all(
      Array.from({ length: concurrency }, async () => {
        const n = seq++;
        const src = path.join(dir, 'src', String(n));
        await fs.mkdir(src, { recursive: true });
        await fs.writeFile(path.join(src, 'index.html'), `<h1>bench ${n} ${process.pid}</h1>\n`);
        return src;
      }),
    );
    return Promise.all(
      sources.map(async (src) => {
        const t0 = Date.now();
        const started = await bench.promote({ target: 'bench', source: { directory: src }, build: BENCH_FACTS });
        const status = await waitForPromotion(client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL', pollMs: GATE_POLL_MS });
        if (status.state === 'AWAITING_APPROVAL') await signAndDecide(client, started.promotionId, { approver: BENCH_APPROVER, decision: 'approve', signer: bench.approver });
        const final = (await client.workflow.getHandle(started.promotionId).result()) as PromotionStatus;
        if (final.state !== 'PROMOTED') throw new Error(`${started.promotionId} ended ${final.state}: ${final.error}`);
        return Date.now() - t0;
      }),
    );
  }
  console.log(
    markdownTable(
      ['concurrent', 'promotions', 'promotions/s', 'p50 start->PROMOTED', 'p95', 'worker RSS idle -> after', 'worker peak RSS'],
      results.map((r) => [r.concurrency, r.promotions, r.promotionsPerSecond, `${r.p50Ms} ms`, `${r.p95Ms} ms`, `${r.workerIdleRssMiB} -> ${r.workerRssMiB} MiB`, `${r.workerPeakRssMiB} MiB`]),
    ),
  );
  await fs.mkdir(path.join(__dirname, 'results'), { recursive: true });
  await fs.writeFile(
    path.join(__dirname, 'results', 'promotions.json'),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, gatePollMs: GATE_POLL_MS, results }, null, 2)}\n`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
