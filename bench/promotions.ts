/**
 * Promotions against their yardsticks, in one run on one stack (npm run bench):
 *  - ours: countersign promotions of distinct one-file directories, approved as soon as the gate opens;
 *  - the floor: bench/floor/, a workflow of the same shape (seven no-op activities, one approval
 *    update) on the same dev server with its own worker process and the same worker options;
 *  - by hand: the same steps with stock cosign processes (bench/by-hand.ts), one after another.
 * At each level (BENCH_LEVELS, default 1,10,50 at once; level 1 runs BENCH_SERIAL promotions one
 * after another, each taking turns with one of the floor's; a higher level runs batches of ours
 * and of the floor taking turns, and sums them: BENCH_BATCHES of them, by default as many as make
 * about 150 promotions of each, at least 3) it prints promotions/s, p50/p95 start -> PROMOTED, the ratios to the floor and to
 * by hand, registry requests per promotion (counted from the registry's own request log) and CPU
 * per promotion for each process (worker, Temporal server, registry, client)
 * from /proc. BENCH_BY_HAND (default 10) sets the by-hand sample count; 0 skips it.
 * At level 1 it also prints each step's time (scheduled -> completed, from the workflow history),
 * median over the serial runs. Raw figures go to bench/results/promotions.json.
 *
 * BENCH_REGISTRY=olareg runs it on olareg, a registry with the OCI 1.1 Referrers API, with the
 * target's signatures and attestations as sigstore bundles (signatureFormat: bundle): each is a
 * referrer manifest of its own, so no step edits a shared `.sig`/`.att` manifest or fallback
 * index, and none waits for such an edit to settle. By hand, cosign v3 writes bundles there too.
 *
 * BENCH_REPOSITORIES=R (default 10, since 2026-11-28; 1 before) spreads ours over R targets, a
 * repository each (bench/app-0 ...; with 1, bench/app), in turn: the way many teams' promotions
 * meet at one registry. olareg's referrer index is one list per repository, scanned and rewritten
 * for each referrer, so with every promotion in one repository its CPU per promotion grows with
 * every promotion the run has made (docs/benchmarks.md, "About 150 promotions a level, in ten
 * repositories").
 *
 * The floor's client sends its approval with the start, and the floor holds it until its gate
 * opens; ours cannot vote before the gate has answered (the vote signs over the run's evidence).
 * BENCH_FLOOR_VOTE=at-gate makes the floor wait for its gate's answer too, then vote: the same two
 * calls as ours, for reading how much of the gap is that round trip.
 *
 * Before the first level both workers warm up (BENCH_WARMUP promotions each, default 100, 10 at
 * once, not measured; ours in a repository of their own, bench/warmup, so the measured
 * repositories start as empty as without it): a worker's V8 is still compiling its hot code for
 * its first few hundred promotions, and a worker in service has long finished (docs/benchmarks.md,
 * "Warm-up, V8's compiler, Go's scheduler"). BENCH_WARMUP=0 measures cold workers.
 *
 * BENCH_WORKER_NODE_ARGS gives both workers node flags (e.g. --trace-opt, read with
 * bench/jit-summary.ts) and BENCH_KEEP=1 keeps their logs (bench/support.ts).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WithStartWorkflowOperation, WorkflowIdConflictPolicy } from '@temporalio/client';
import { signAndDecide } from '../src/client/promotions';
import { locateTool } from '../src/stack/tools';
import type { PromotionStatus } from '../workflows/promotion-messages';
import { promoteByHand } from './by-hand';
import { FLOOR_TASK_QUEUE, floorApprove, floorWaitForGate } from './floor/workflows';
import { CpuMeter } from './process-cpu';
import { medianPhases, phaseTimes, type PhaseTimes } from './step-timeline';
import { BENCH_APPROVER, BENCH_FACTS, BENCH_PASSWORD, benchBatchesFromEnv, benchRegistryFromEnv, benchRegistryLabel, benchSignatureFormat, benchTargetsFromEnv, benchWarmupFromEnv, markdownTable, processMemoryMiB, startBenchStack, type RequestCount } from './support';

/** Where the warm-up's promotions go: a repository of their own, so the measured ones start empty. */
const WARMUP_TARGET = { name: 'bench-warmup', repositoryPath: 'bench/warmup' };
/** The warm-up runs this many at once, ours and the floor's taking turns. */
const WARMUP_BATCH = 10;

/** Only when the waitForGate update cannot answer (src/client/promotion-status.ts waitForGate). */
const GATE_POLL_MS = 200;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface Measured {
  promotions: number;
  wallSeconds: number;
  promotionsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  registryRequestsPerPromotion: number;
  /** CPU ms per promotion by process. */
  cpuMsPerPromotion: Record<string, number>;
}

/** One timed run: each promotion's latency, the wall time, CPU by process, registry requests. */
interface Sample {
  latencies: number[];
  wall: number;
  cpu: Record<string, number>;
  requests: number;
}

async function sample(requests: RequestCount, meter: CpuMeter, run: () => Promise<number[]>): Promise<Sample> {
  await requests.reset();
  const cpuBefore = meter.read();
  const began = Date.now();
  const latencies = await run();
  const wall = (Date.now() - began) / 1000;
  const cpu = CpuMeter.since(cpuBefore, meter.read());
  const counted = Object.values(await requests.read()).reduce((a, b) => a + b, 0);
  return { latencies, wall, cpu, requests: counted };
}

/** Several samples as one: promotions over the summed wall time, percentiles over every latency, CPU and requests per promotion. */
function summarise(samples: Sample[]): Measured {
  const latencies = samples.flatMap((s) => s.latencies);
  const count = latencies.length;
  const wall = samples.reduce((sum, s) => sum + s.wall, 0);
  const requests = samples.reduce((sum, s) => sum + s.requests, 0);
  const cpu: Record<string, number> = {};
  for (const s of samples) for (const [k, v] of Object.entries(s.cpu)) cpu[k] = (cpu[k] ?? 0) + v;
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    promotions: count,
    wallSeconds: Number(wall.toFixed(2)),
    promotionsPerSecond: Number((count / wall).toFixed(2)),
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    registryRequestsPerPromotion: Number((requests / count).toFixed(1)),
    cpuMsPerPromotion: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round(v / count)])),
  };
}

async function measure(requests: RequestCount, meter: CpuMeter, run: () => Promise<number[]>): Promise<Measured> {
  return summarise([await sample(requests, meter, run)]);
}

/** Repositories ours is spread over unless BENCH_REPOSITORIES says: see the file's comment. */
const BENCH_REPOSITORIES_DEFAULT = 10;
const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
/** Each step's mean successful attempt between two readings of the worker's step times, slowest first. */
function meanAttempts(before: Record<string, { sum: number; count: number }>, after: Record<string, { sum: number; count: number }>) {
  return Object.entries(after)
    .map(([step, { sum, count }]) => ({ step, seconds: sum - (before[step]?.sum ?? 0), attempts: count - (before[step]?.count ?? 0) }))
    .filter((s) => s.attempts > 0)
    .map((s) => ({ step: s.step, meanMs: Math.round((s.seconds * 1000) / s.attempts), attempts: s.attempts }))
    .sort((a, b) => b.meanMs - a.meanMs);
}

const cpuCell = (cpu: Record<string, number>) =>
  Object.entries(cpu)
    .filter(([, ms]) => ms > 0)
    .map(([name, ms]) => `${name} ${ms}`)
    .join(', ');

async function main(): Promise<void> {
  const levels = (process.env.BENCH_LEVELS ?? '1,10,50').split(',').map(Number);
  const serial = Number(process.env.BENCH_SERIAL ?? 10);
  const byHandCount = Number(process.env.BENCH_BY_HAND ?? 10);
  const batchesAt = benchBatchesFromEnv();
  const floorVote = process.env.BENCH_FLOOR_VOTE ?? 'ahead';
  if (floorVote !== 'ahead' && floorVote !== 'at-gate') throw new Error(`BENCH_FLOOR_VOTE: ahead (the floor's approval sent with its start and held until the gate opens) or at-gate (sent once the gate has answered, as ours), not "${floorVote}"`);
  const floorVotesAtGate = floorVote === 'at-gate';
  const warmup = benchWarmupFromEnv();
  const registry = benchRegistryFromEnv();
  const signatureFormat = benchSignatureFormat(registry);
  const targets = benchTargetsFromEnv('bench', 'bench/app', process.env, BENCH_REPOSITORIES_DEFAULT);
  const configured = warmup > 0 ? [...targets, WARMUP_TARGET] : targets;
  const bench = await startBenchStack('bench', Object.fromEntries(configured.map((t) => [t.name, { repositoryPath: t.repositoryPath, signatureFormat }])), { countRequests: true, floor: true, registry });
  console.log(
    `registry: ${benchRegistryLabel(registry)}; signature format: ${signatureFormat}; ${targets.length === 1 ? 'one repository' : `${targets.length} repositories`}${floorVotesAtGate ? "; the floor's vote sent once its gate has answered (BENCH_FLOOR_VOTE=at-gate)" : ''}`,
  );
  console.log();
  const { client, dir } = bench;
  const meter = new CpuMeter(bench.pids);
  const rows: Array<{ concurrency: number; ours: Measured; floor: Measured; workerRssMiB: number; workerPeakRssMiB: number }> = [];
  let byHand: Measured | undefined;
  let phases: { ours: ReturnType<typeof medianPhases>; floor: ReturnType<typeof medianPhases> } | undefined;
  /** Level 1: each step's mean successful attempt as the worker timed it (local steps have no times in history). */
  let attemptMeans: Array<{ step: string; meanMs: number; attempts: number }> = [];
  let seq = 0;
  /** Ours in turn over the targets (seq also names the floor's runs). */
  let spread = 0;
  /** The level-1 runs' ids, for their step timeline. */
  const serialIds: string[] = [];
  /** The floor's level-1 runs, for their history span beside ours. */
  const serialFloorIds: string[] = [];
  let spans: { ours: number; floor: number; oursFastest: number; floorFastest: number } | undefined;
  const idleRssMiB = processMemoryMiB(bench.workerPid).rss;

  /** `warm`: the warm-up's, into its own repository. */
  const sources = (n: number, warm = false) =>
    Promise.all(
      Array.from({ length: n }, async () => {
        const i = seq++;
        const src = path.join(dir, 'src', String(i));
        await fs.mkdir(src, { recursive: true });
        await fs.writeFile(path.join(src, 'index.html'), `<h1>bench ${i} ${process.pid}</h1>\n`);
        return { src, target: warm ? WARMUP_TARGET.name : targets[spread++ % targets.length].name };
      }),
    );

  /** `concurrency` promotions at once; each one's start -> PROMOTED time. `warm`: the warm-up's, recorded nowhere. */
  const oursBatch = async (concurrency: number, warm = false): Promise<number[]> =>
    Promise.all(
      (await sources(concurrency, warm)).map(async ({ src, target }) => {
        const t0 = Date.now();
        const started = await bench.promoteUntilGate({ target, source: { directory: src }, build: BENCH_FACTS }, GATE_POLL_MS);
        const status = started.gate;
        if (status.state === 'AWAITING_APPROVAL') await signAndDecide(client, started.promotionId, { approver: BENCH_APPROVER, decision: 'approve', signer: bench.approver, view: status.approval });
        const final = (await client.workflow.getHandle(started.promotionId).result()) as PromotionStatus;
        if (final.state !== 'PROMOTED') throw new Error(`${started.promotionId} ended ${final.state}: ${final.error}`);
        const ms = Date.now() - t0;
        if (concurrency === 1 && !warm) serialIds.push(started.promotionId);
        return ms;
      }),
    );
  const floorBatch = async (concurrency: number, warm = false): Promise<number[]> =>
    Promise.all(
      Array.from({ length: concurrency }, async () => {
        const t0 = Date.now();
        const start = { taskQueue: FLOOR_TASK_QUEUE, workflowId: `floor-${seq++}-${process.pid}` };
        let handle;
        if (floorVotesAtGate) {
          // As ours: the gate's answer rides on the start, the vote follows it.
          const startWorkflowOperation = new WithStartWorkflowOperation('floorPromotion', { ...start, workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL });
          await client.workflow.executeUpdateWithStart(floorWaitForGate, { startWorkflowOperation });
          handle = await startWorkflowOperation.workflowHandle();
        } else {
          handle = await client.workflow.start('floorPromotion', start);
        }
        await handle.executeUpdate(floorApprove);
        const final = await handle.result();
        if (final !== 'PROMOTED') throw new Error(`${handle.workflowId} ended ${final}`);
        if (concurrency === 1 && !warm) serialFloorIds.push(handle.workflowId);
        return Date.now() - t0;
      }),
    );

  try {
    if (warmup > 0) {
      console.log(`warm-up: ${warmup} promotions of ours (in ${WARMUP_TARGET.repositoryPath}, a repository of their own) and ${warmup} of the floor's, ${Math.min(warmup, WARMUP_BATCH)} at once, taking turns; not measured (BENCH_WARMUP=0 for none)`);
      console.log();
      for (let done = 0; done < warmup; done += WARMUP_BATCH) {
        const size = Math.min(WARMUP_BATCH, warmup - done);
        await oursBatch(size, true);
        await floorBatch(size, true);
      }
    }
    for (const concurrency of levels) {
      // Batches of ours and of the floor take turns, so a stretch of a busier machine falls on both.
      const oursSamples: Sample[] = [];
      const floorSamples: Sample[] = [];
      // At level 1 each promotion takes turns with one of the floor's, so neither side gets a
      // stretch of the server the other does not (until 2026-11-27 the dev server's transfer
      // queue limit slowed every run after the first few: docs/benchmarks.md, "The dev server's
      // transfer queue").
      const stepsBefore = concurrency === 1 ? await bench.stepSeconds() : undefined;
      for (let b = 0; b < (concurrency === 1 ? serial : batchesAt(concurrency)); b++) {
        oursSamples.push(await sample(bench.requests, meter, () => oursBatch(concurrency)));
        floorSamples.push(await sample(bench.requests, meter, () => floorBatch(concurrency)));
      }
      if (stepsBefore) attemptMeans = meanAttempts(stepsBefore, await bench.stepSeconds());
      const ours = summarise(oursSamples);
      const memory = processMemoryMiB(bench.workerPid);
      const floor = summarise(floorSamples);
      rows.push({ concurrency, ours, floor, workerRssMiB: memory.rss, workerPeakRssMiB: memory.peak });
      console.error(JSON.stringify(rows.at(-1)));
    }
    // Read while the stack is up: the histories live on its dev server.
    if (serialIds.length > 0 && serialFloorIds.length > 0) {
      const timelines = async (ids: string[]) => {
        const out: PhaseTimes[] = [];
        for (const id of ids) out.push(await phaseTimes(client, id));
        return out;
      };
      const [ourRuns, floorRuns] = [await timelines(serialIds), await timelines(serialFloorIds)];
      phases = { ours: medianPhases(ourRuns), floor: medianPhases(floorRuns) };
      const p50 = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
      const ourSpans = ourRuns.map((t) => Math.round(t.total));
      const floorSpans = floorRuns.map((t) => Math.round(t.total));
      spans = { ours: p50(ourSpans), floor: p50(floorSpans), oursFastest: Math.min(...ourSpans), floorFastest: Math.min(...floorSpans) };
    }
    const cosign = locateTool('cosign');
    if (byHandCount > 0 && !cosign) throw new Error('cosign is not installed: run bash scripts/toolchain.sh cosign (or BENCH_BY_HAND=0)');
    if (byHandCount > 0) {
      const work = path.join(dir, 'by-hand');
      await fs.mkdir(work, { recursive: true });
      // By hand runs against its own registry (of the same kind), whose request log counts cosign's requests.
      const own = bench.byHandRegistry;
      const setup = { cosign: cosign!, registry: own?.address ?? bench.registryAddress, keysDir: bench.keysDir, password: BENCH_PASSWORD, work };
      const byHandMeter = own ? new CpuMeter({ ...bench.pids, registry: own.pid }) : meter;
      byHand = await measure(own?.requests ?? bench.requests, byHandMeter, async () => {
        const out: number[] = [];
        for (const { src } of await sources(byHandCount)) out.push(await promoteByHand(setup, src, 'bench/by-hand'));
        return out;
      });
      console.error(JSON.stringify({ byHand }));
    }
  } catch (err) {
    console.error('benchmark failed:', err);
    process.exitCode = 1;
  } finally {
    await bench.close();
  }

  console.log(
    markdownTable(
      ['concurrent', 'promotions', 'promotions/s ours / floor', 'ratio (goal >= 0.7)', 'p50 ours / floor', 'ratio (goal <= 1.3)', 'p95 ours / floor', 'registry requests per promotion (goal <= 40)', 'worker RSS idle -> after'],
      rows.map((r) => [
        r.concurrency,
        r.ours.promotions,
        `${r.ours.promotionsPerSecond} / ${r.floor.promotionsPerSecond}`,
        ratio(r.ours.promotionsPerSecond, r.floor.promotionsPerSecond),
        `${r.ours.p50Ms} / ${r.floor.p50Ms} ms`,
        ratio(r.ours.p50Ms, r.floor.p50Ms),
        `${r.ours.p95Ms} / ${r.floor.p95Ms} ms`,
        r.ours.registryRequestsPerPromotion,
        `${idleRssMiB} -> ${r.workerRssMiB} MiB`,
      ]),
    ),
  );
  if (spans) {
    // The client's p50 includes its calls around the run; the server's view leaves them out.
    console.log();
    console.log(
      `level 1, first event to last in the run's history (the server's view, without the client's calls): p50 ours ${spans.ours} ms, floor ${spans.floor} ms (ratio ${ratio(spans.ours, spans.floor)}); fastest ours ${spans.oursFastest} ms, floor ${spans.floorFastest} ms (ratio ${ratio(spans.oursFastest, spans.floorFastest)})`,
    );
  }
  if (phases) {
    const { ours, floor } = phases;
    console.log();
    console.log(
      markdownTable(
        [`where a run's time goes at level 1 (from its history; p50 of ${serialIds.length} runs)`, 'ours', 'floor', 'ours min - max', 'floor min - max'],
        ours.map((o, i) => [o.phase, `${o.p50Ms} ms`, `${floor[i].p50Ms} ms`, `${o.minMs} - ${o.maxMs} ms`, `${floor[i].minMs} - ${floor[i].maxMs} ms`]),
      ),
    );
  }
  if (attemptMeans.length > 0) {
    console.log();
    console.log(
      markdownTable(
        [`step at level 1 (one attempt as the worker timed it, local steps too; mean over ${serialIds.length} runs)`, 'mean', 'attempts'],
        attemptMeans.map((s) => [s.step, `${s.meanMs} ms`, s.attempts]),
      ),
    );
  }
  console.log();
  console.log(
    markdownTable(
      ['concurrent', 'CPU ms per promotion, ours', 'CPU ms per promotion, floor'],
      rows.map((r) => [r.concurrency, cpuCell(r.ours.cpuMsPerPromotion), cpuCell(r.floor.cpuMsPerPromotion)]),
    ),
  );
  if (byHand) {
    const ours1 = rows.find((r) => r.concurrency === 1)?.ours;
    console.log();
    console.log(
      markdownTable(
        ['by hand with stock cosign', 'promotions', 'p50', 'p95', 'ours at 1: p50', 'faster than by hand (goal >= 3x)', 'registry requests per promotion', 'CPU ms per promotion'],
        [[
          'push + sign, attest x2, verify, verify-attestation, platform sign',
          byHand.promotions,
          `${byHand.p50Ms} ms`,
          `${byHand.p95Ms} ms`,
          ours1 ? `${ours1.p50Ms} ms` : '-',
          ours1 ? `${ratio(byHand.p50Ms, ours1.p50Ms)}x` : '-',
          byHand.registryRequestsPerPromotion,
          cpuCell(byHand.cpuMsPerPromotion),
        ]],
      ),
    );
  }
  await fs.mkdir(path.join(__dirname, 'results'), { recursive: true });
  await fs.writeFile(
    path.join(__dirname, 'results', 'promotions.json'),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, registry, signatureFormat, warmupPromotions: warmup, gatePollMs: GATE_POLL_MS, idleRssMiB, rows, byHand, phases, historySpanP50Ms: spans, attemptMeans }, null, 2)}\n`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
