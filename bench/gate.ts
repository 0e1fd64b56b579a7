/**
 * Promotions parked at the approval gate (npm run bench:gate): park N promotions (default 1,000;
 * BENCH_PARKED=1000,10000), then measure the worker's RSS and the time from one approval to
 * PROMOTED. Promotions start from one image the "developer CI" signed and attested, under N
 * target names, so parking costs workflow and verify work, not N image builds.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { parseConfig } from '../src/config';
import { signAndDecide, startPromotion } from '../src/client/promotions';
import { FileSigner, writeKeyPair } from '../src/keys/file-signer';
import { RegistryStore } from '../src/oci/registry';
import { buildImageFromDirectory } from '../src/oci/build';
import { buildAndPush, createAttestations, developerSign } from '../src/promotion/steps';
import { startEmbeddedStack } from '../src/stack/embedded';
import { spawnWorkerProcess, waitForWorker } from '../src/stack/worker-process';
import { SEARCH_ATTRIBUTES, type PromotionStatus } from '../workflows/promotion-messages';

const PASSWORD = 'bench-only-passphrase';
const START_CONCURRENCY = Number(process.env.BENCH_START_CONCURRENCY ?? 20);

function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string;
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function main(): Promise<void> {
  const levels = (process.env.BENCH_PARKED ?? '1000').split(',').map(Number);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-gate-bench-'));
  const stack = await startEmbeddedStack({ dataDir: path.join(dir, 'data') });
  const keys = path.join(dir, 'keys');
  for (const k of ['dev', 'platform', 'approver']) await writeKeyPair(keys, k, PASSWORD);
  const repository = `${stack.registry.address}/bench/gate`;
  const src = path.join(dir, 'src');
  await fs.mkdir(src);
  await fs.writeFile(path.join(src, 'index.html'), '<h1>gate bench</h1>\n');
  const facts = { sourceRepo: 'https://github.com/acme/bench', commit: 'abcdef0123456', buildCommand: 'bench', builderId: 'https://countersign.dev/builders/local@v1' };
  const store = new RegistryStore(stack.registry.address);
  const deps = { storeFor: () => store, env: { BENCH_PW: PASSWORD } };
  const image = await buildImageFromDirectory(src);
  const location = { repository, digest: image.digest };
  await buildAndPush(deps, src, location);
  const statements = await createAttestations(deps, src, location, { ...facts, invocationId: 'bench', startedOn: new Date().toISOString(), finishedOn: new Date().toISOString() });
  await developerSign(deps, location, { ref: path.join(keys, 'dev.key'), passwordEnv: 'BENCH_PW' }, [statements.provenanceDigest, statements.sbomDigest]);

  const config = parseConfig(
    {
      approvers: { approver: { publicKey: 'keys/approver.pub' } },
      targets: {
        base: {
          repository,
          policy: { sourceRepo: facts.sourceRepo, builderIds: [facts.builderId] },
          approval: { approvers: ['approver'], deadline: '24h' },
          keys: { developer: { key: 'keys/dev.key', publicKey: 'keys/dev.pub' }, platform: { key: 'keys/platform.key', publicKey: 'keys/platform.pub' } },
        },
      },
    },
    path.join(dir, 'countersign.yaml'),
  );
  const logFile = path.join(dir, 'worker.log');
  const worker = spawnWorkerProcess({
    address: stack.temporal.address,
    logFile,
    env: { ...process.env, COUNTERSIGN_DEV_KEY_PASSWORD: PASSWORD, COUNTERSIGN_PLATFORM_KEY_PASSWORD: PASSWORD, COUNTERSIGN_LOG_LEVEL: 'warn' },
  });
  await waitForWorker(stack.temporal.address, { pid: worker.pid, logFile });
  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection });
  const approver = await FileSigner.load(path.join(keys, 'approver.key'), PASSWORD);
  const rows: Array<Record<string, number>> = [];
  let parkedSoFar = 0;
  try {
    for (const parked of levels) {
      const names = Array.from({ length: parked - parkedSoFar }, (_, i) => `t${parkedSoFar + i}`);
      const began = Date.now();
      const ids: string[] = [];
      await inBatches(names, START_CONCURRENCY, async (name) => {
        const target = { ...config.targets.base, name };
        const started = await startPromotion(client, { target, source: { image: `${repository}@${image.digest}` }, build: facts, initiator: 'bench' });
        ids.push(started.promotionId);
      });
      // Parked means every promotion waits at the gate: count them through visibility.
      for (;;) {
        const waiting = (await client.workflow.count(`${SEARCH_ATTRIBUTES.state} = 'AWAITING_APPROVAL'`)).count;
        const ended = (await client.workflow.count(`ExecutionStatus != 'Running'`)).count;
        if (ended > rows.length) throw new Error(`${ended} promotions ended before approval; see the worker log ${logFile}`);
        // One promotion per earlier level was approved and has left the gate.
        if (waiting >= parked - rows.length) break;
        await new Promise((r) => setTimeout(r, 2000));
      }
      parkedSoFar = parked;
      const parkSeconds = (Date.now() - began) / 1000;
      const memory = memoryMiB(worker.pid!);
      // One approval arrives: how long until that promotion is PROMOTED?
      const victim = `promote-t${Math.floor(parked / 2)}-${image.digest.slice(7, 23)}`;
      const t0 = Date.now();
      await signAndDecide(client, victim, { approver: 'approver', decision: 'approve', signer: approver });
      const final = (await client.workflow.getHandle(victim).result()) as PromotionStatus;
      if (final.state !== 'PROMOTED') throw new Error(`${victim} ended ${final.state}`);
      const row = { parked, parkSeconds: Number(parkSeconds.toFixed(1)), workerRssMiB: memory.rss, workerPeakRssMiB: memory.peak, approvalToPromotedMs: Date.now() - t0 };
      rows.push(row);
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
  console.log(['| parked at the gate | time to park | worker RSS | worker peak RSS | approval -> PROMOTED |', '|---:|---:|---:|---:|---:|', ...rows.map((r) => `| ${r.parked} | ${r.parkSeconds} s | ${r.workerRssMiB} MiB | ${r.workerPeakRssMiB} MiB | ${r.approvalToPromotedMs} ms |`)].join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
