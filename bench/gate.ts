/**
 * Promotions parked at the approval gate (npm run bench:gate): park N promotions (default 1,000;
 * BENCH_PARKED=1000,10000), then measure the worker's RSS and the time from one approval to
 * PROMOTED. Promotions start from one image the "developer CI" signed and attested, under N
 * target names, so parking costs workflow and verify work, not N image builds.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { signAndDecide } from '../src/client/promotions';
import { RegistryStore } from '../src/oci/registry';
import { buildImageFromDirectory } from '../src/oci/build';
import { buildAndPush, createAttestations, developerSign } from '../src/promotion/steps';
import { SEARCH_ATTRIBUTES, type PromotionStatus } from '../workflows/promotion-messages';
import { BENCH_APPROVER, BENCH_FACTS, BENCH_PASSWORD, markdownTable, processMemoryMiB, startBenchStack } from './support';

const START_CONCURRENCY = Number(process.env.BENCH_START_CONCURRENCY ?? 20);

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
  // One target per parked promotion, so each has its own workflow id without N image builds.
  const most = Math.max(...levels);
  const bench = await startBenchStack('gate-bench', Object.fromEntries(Array.from({ length: most }, (_, i) => [`t${i}`, { repositoryPath: 'bench/gate', deadline: '24h' }])));
  const { client, dir, stack } = bench;
  const repository = bench.repository('bench/gate');
  const src = path.join(dir, 'src');
  await fs.mkdir(src);
  await fs.writeFile(path.join(src, 'index.html'), '<h1>gate bench</h1>\n');
  const store = new RegistryStore(stack.registry.address);
  const deps = { storeFor: () => store, env: { BENCH_PW: BENCH_PASSWORD } };
  const image = await buildImageFromDirectory(src);
  const location = { repository, digest: image.digest };
  await buildAndPush(deps, src, location);
  const statements = await createAttestations(deps, src, location, { ...BENCH_FACTS, invocationId: 'bench', startedOn: new Date().toISOString(), finishedOn: new Date().toISOString() });
  await developerSign(deps, location, { ref: path.join(bench.keysDir, 'dev.key'), passwordEnv: 'BENCH_PW' }, [statements.provenanceDigest, statements.sbomDigest]);
  const rows: Array<Record<string, number>> = [];
  let parkedSoFar = 0;
  try {
    for (const parked of levels) {
      const names = Array.from({ length: parked - parkedSoFar }, (_, i) => `t${parkedSoFar + i}`);
      const began = Date.now();
      const ids: string[] = [];
      await inBatches(names, START_CONCURRENCY, async (name) => {
        const started = await bench.promote({ target: name, source: { image: `${repository}@${image.digest}` }, commit: BENCH_FACTS.commit });
        ids.push(started.promotionId);
      });
      // Parked means every promotion waits at the gate: count them through visibility.
      for (;;) {
        const waiting = (await client.workflow.count(`${SEARCH_ATTRIBUTES.state} = 'AWAITING_APPROVAL'`)).count;
        const ended = (await client.workflow.count(`ExecutionStatus != 'Running'`)).count;
        if (ended > rows.length) throw new Error(`${ended} promotions ended before approval; see the worker log in ${dir}`);
        // One promotion per earlier level was approved and has left the gate.
        if (waiting >= parked - rows.length) break;
        await new Promise((r) => setTimeout(r, 2000));
      }
      parkedSoFar = parked;
      const parkSeconds = (Date.now() - began) / 1000;
      const memory = processMemoryMiB(bench.workerPid);
      // One approval arrives: how long until that promotion is PROMOTED?
      const victim = `promote-t${Math.floor(parked / 2)}-${image.digest.slice(7, 23)}`;
      const t0 = Date.now();
      await signAndDecide(client, victim, { approver: BENCH_APPROVER, decision: 'approve', signer: bench.approver });
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
    await bench.close();
  }
  console.log(
    markdownTable(
      ['parked at the gate', 'time to park', 'worker RSS', 'worker peak RSS', 'approval -> PROMOTED'],
      rows.map((r) => [r.parked, `${r.parkSeconds} s`, `${r.workerRssMiB} MiB`, `${r.workerPeakRssMiB} MiB`, `${r.approvalToPromotedMs} ms`]),
    ),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
