/**
 * Promotion throughput and latency on the embedded stack (npm run bench).
 * For 1, 10 and 50 concurrent promotions: promotions per second, p50/p95 from start to PROMOTED
 * with approval given as soon as the gate opens, and the worker process's peak RSS (VmHWM).
 * Results go to stdout as a markdown table and to bench/results/promotions.json.
 *   BENCH_LEVELS=1,10,50 npx tsx bench/promotions.ts
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { parseConfig } from '../src/config';
import { signAndDecide, startPromotion, waitForPromotion } from '../src/client/promotions';
import { FileSigner, writeKeyPair } from '../src/keys/file-signer';
import { startEmbeddedStack } from '../src/stack/embedded';
import { spawnWorkerProcess, waitForWorker } from '../src/stack/worker-process';
import type { PromotionStatus } from '../workflows/promotion-messages';

const PASSWORD = 'bench-only-passphrase';
const GATE_POLL_MS = 200;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function peakRssMiB(pid: number): number {
  const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string;
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

async function main(): Promise<void> {
  const levels = (process.env.BENCH_LEVELS ?? '1,10,50').split(',').map(Number);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-bench-'));
  const stack = await startEmbeddedStack({ dataDir: path.join(dir, 'data') });
  await writeKeyPair(path.join(dir, 'keys'), 'dev', PASSWORD);
  await writeKeyPair(path.join(dir, 'keys'), 'platform', PASSWORD);
  await writeKeyPair(path.join(dir, 'keys'), 'bench-approver', PASSWORD);
  const approverKey = await FileSigner.load(path.join(dir, 'keys', 'bench-approver.key'), PASSWORD);
  const target = parseConfig(
    {
      approvers: { 'bench-approver': { publicKey: 'keys/bench-approver.pub' } },
      targets: {
        bench: {
          repository: `${stack.registry.address}/bench/app`,
          policy: { sourceRepo: 'https://github.com/acme/bench', builderIds: ['https://countersign.dev/builders/local@v1'] },
          approval: { approvers: ['bench-approver'], deadline: '1h' },
          keys: {
            developer: { key: 'keys/dev.key', publicKey: 'keys/dev.pub' },
            platform: { key: 'keys/platform.key', publicKey: 'keys/platform.pub' },
          },
        },
      },
    },
    path.join(dir, 'countersign.yaml'),
  ).targets.bench;
  const logFile = path.join(dir, 'worker.log');
  const worker = spawnWorkerProcess({
    address: stack.temporal.address,
    logFile,
    env: { ...process.env, COUNTERSIGN_DEV_KEY_PASSWORD: PASSWORD, COUNTERSIGN_PLATFORM_KEY_PASSWORD: PASSWORD, COUNTERSIGN_LOG_LEVEL: 'warn' },
  });
  await waitForWorker(stack.temporal.address, { pid: worker.pid, logFile });
  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection });
  const results: Array<Record<string, number>> = [];
  let seq = 0;
  try {
    for (const concurrency of levels) {
      const sources = await Promise.all(
        Array.from({ length: concurrency }, async () => {
          const n = seq++;
          const src = path.join(dir, 'src', String(n));
          await fs.mkdir(src, { recursive: true });
          await fs.writeFile(path.join(src, 'index.html'), `<h1>bench ${n} ${process.pid}</h1>\n`);
          return src;
        }),
      );
      const began = Date.now();
      const latencies = await Promise.all(
        sources.map(async (src) => {
          const t0 = Date.now();
          const started = await startPromotion(client, {
            target,
            source: { directory: src },
            build: { sourceRepo: 'https://github.com/acme/bench', commit: 'abcdef0123456', buildCommand: 'bench', builderId: 'https://countersign.dev/builders/local@v1' },
            initiator: 'bench',
          });
          const status = await waitForPromotion(client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL', pollMs: GATE_POLL_MS });
          if (status.state === 'AWAITING_APPROVAL') await signAndDecide(client, started.promotionId, { approver: 'bench-approver', decision: 'approve', signer: approverKey });
          const final = (await client.workflow.getHandle(started.promotionId).result()) as PromotionStatus;
          if (final.state !== 'PROMOTED') throw new Error(`${started.promotionId} ended ${final.state}: ${final.error}`);
          return Date.now() - t0;
        }),
      );
      const wall = (Date.now() - began) / 1000;
      const sorted = [...latencies].sort((a, b) => a - b);
      const row = {
        concurrency,
        promotions: concurrency,
        wallSeconds: Number(wall.toFixed(2)),
        promotionsPerSecond: Number((concurrency / wall).toFixed(2)),
        p50Ms: percentile(sorted, 50),
        p95Ms: percentile(sorted, 95),
        workerPeakRssMiB: peakRssMiB(worker.pid!),
      };
      results.push(row);
      console.error(JSON.stringify(row));
    }
  } catch (err) {
    console.error('benchmark failed:', err);
    process.exitCode = 1;
  } finally {
    worker.kill('SIGTERM');
    await connection.close();
    await stack.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
  const lines = [
    `| concurrent | promotions/s | p50 start->PROMOTED | p95 | worker peak RSS |`,
    `|---:|---:|---:|---:|---:|`,
    ...results.map((r) => `| ${r.concurrency} | ${r.promotionsPerSecond} | ${r.p50Ms} ms | ${r.p95Ms} ms | ${r.workerPeakRssMiB} MiB |`),
  ];
  console.log(lines.join('\n'));
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
