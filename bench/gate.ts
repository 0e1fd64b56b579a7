/**
 * Promotions parked at the approval gate (npm run bench:gate): park N promotions of N distinct
 * images under one target, or BENCH_REPOSITORIES targets (BENCH_PARKED=250,1000,10000 parks up to
 * each level in turn), print the worker's memory at each level, then time approval -> PROMOTED for the promotions parked longest
 * (BENCH_APPROVALS of them, default 5, one after another).
 *
 * Parking needs a signed, attested image per promotion (the workflow id is target + digest). The
 * images share one layer and differ by a manifest annotation, so the bench pushes one manifest,
 * two statements and the developer's `.sig`/`.att` per image, and no build. Promotions start as
 * soon as their image is signed, so preparing and parking overlap, but never more than
 * BENCH_MAX_AHEAD (default 200) ahead of the gate: a start request is valid for 10 minutes.
 *
 * The worker runs with bench/worker-memory-probe.cjs: at each level the bench reads the V8 heap of
 * the main thread and of the SDK's workflow thread (each has its own isolate), after a full GC, and
 * BENCH_HEAP_SNAPSHOT=1 also writes a heap snapshot of both at each level (into BENCH_MEMORY_DIR or
 * a temporary folder that the bench prints). BENCH_REGISTRY=olareg parks on olareg, a registry with
 * the Referrers API, with the target publishing sigstore bundles (as `npm run bench` does there).
 * BENCH_REPOSITORIES=R (default 1) spreads the images over R targets with a repository each, in
 * turn: olareg answers a referrers query by reading its repository's whole index, so one
 * repository holding 10,000 images and their 30,000 bundles slows every read, where a registry
 * with a referrers index (or a fleet of services, each with its repository) does not.
 *
 * BENCH_STEADY_SECONDS=S (default 0: not measured) measures the gates' own wakes once the last
 * level is parked (bench/gate-steady.ts): 20 s right after parking, then, once every gate has
 * woken at least once, S seconds of steady state; the approvals are timed after it, while the
 * gates go on waking. BENCH_EVIDENCE_EVERY sets the targets' evidenceCheckEvery (the worker's
 * default is an hour; at 10 minutes 10,000 gates wake 17 times a second), and the bench prints
 * what the measured cost per wake comes to at the default.
 */
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signAndDecide } from '../src/client/promotions';
import { RegistryStore } from '../src/oci/registry';
import { buildImageFromDirectory } from '../src/oci/build';
import { attestPushedImage, developerSign } from '../src/promotion/steps';
import { SEARCH_ATTRIBUTES, type PromotionStatus } from '../workflows/promotion-messages';
import type { Client } from '@temporalio/client';
import { DEFAULT_MAX_CACHED_WORKFLOWS } from '../workers/worker';
import { parseDuration } from '../src/duration';
import { DEFAULT_EVIDENCE_CHECK_EVERY_MS } from '../src/limits';
import { atInterval, measureWindow, STEADY_HEADER, steadyRow, untilEveryGateWoke, wakeBaseline, type SteadyWindow } from './gate-steady';
import { BENCH_APPROVER, BENCH_FACTS, BENCH_PASSWORD, benchRegistryFromEnv, benchRegistryLabel, benchSignatureFormat, benchTargetsFromEnv, markdownTable, processMemoryMiB, startBenchStack } from './support';

const START_CONCURRENCY = Number(process.env.BENCH_START_CONCURRENCY ?? 16);
/** How many promotions may be started and not yet at the gate (BENCH_MAX_AHEAD). */
const MAX_AHEAD = Number(process.env.BENCH_MAX_AHEAD ?? 200);
const TARGETS = benchTargetsFromEnv('parked', 'bench/gate');
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 0);
const EVIDENCE_EVERY = process.env.BENCH_EVIDENCE_EVERY?.trim() || undefined;
/** The cores the processes share (the share of the machine a steady state takes). */
const CORES = os.availableParallelism();
const MiB = 1024 * 1024;

interface ThreadMemory {
  seq: number;
  label: string;
  heap: { used_heap_size: number; total_heap_size: number; external_memory: number; number_of_native_contexts: number; number_of_detached_contexts: number };
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Asks every thread of the worker for its heap (after a full GC) and waits for the main and workflow threads. */
async function askProbe(dir: string, seq: number, snapshot?: string): Promise<Record<string, ThreadMemory>> {
  await fs.writeFile(path.join(dir, 'request.tmp'), JSON.stringify({ seq, gc: true, snapshot }));
  await fs.rename(path.join(dir, 'request.tmp'), path.join(dir, 'request'));
  const deadline = Date.now() + 300_000;
  for (;;) {
    const answers: Record<string, ThreadMemory> = {};
    for (const label of ['main', 'workflow']) {
      const file = path.join(dir, `${label}.json`);
      if (!existsSync(file)) continue;
      const answer = JSON.parse(await fs.readFile(file, 'utf8')) as ThreadMemory;
      if (answer.seq === seq) answers[label] = answer;
    }
    if (answers.main && answers.workflow) return answers;
    if (Date.now() > deadline) throw new Error(`the worker's memory probe did not answer request ${seq} in 300 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const mib = (bytes: number) => Math.round(bytes / MiB);

async function main(): Promise<void> {
  const levels = (process.env.BENCH_PARKED ?? '1000').split(',').map(Number);
  const APPROVALS = Math.max(1, Number(process.env.BENCH_APPROVALS ?? 5));
  const ownMemoryDir = !process.env.BENCH_MEMORY_DIR;
  const memoryDir = process.env.BENCH_MEMORY_DIR ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-gate-memory-')));
  await fs.mkdir(memoryDir, { recursive: true });
  process.env.BENCH_MEMORY_DIR = memoryDir;
  const snapshots = process.env.BENCH_HEAP_SNAPSHOT === '1';
  if (snapshots) console.error(`heap snapshots go to ${memoryDir}`);
  const registry = benchRegistryFromEnv();
  const signatureFormat = benchSignatureFormat(registry);
  if (!Number.isInteger(STEADY_SECONDS) || STEADY_SECONDS < 0) throw new Error(`BENCH_STEADY_SECONDS: "${process.env.BENCH_STEADY_SECONDS}" is not a whole number of seconds`);
  const intervalMs = EVIDENCE_EVERY ? parseDuration(EVIDENCE_EVERY, 'BENCH_EVIDENCE_EVERY') : DEFAULT_EVIDENCE_CHECK_EVERY_MS;
  const bench = await startBenchStack(
    'gate-bench',
    Object.fromEntries(TARGETS.map((t) => [t.name, { repositoryPath: t.repositoryPath, deadline: '24h', signatureFormat, ...(EVIDENCE_EVERY ? { evidenceCheckEvery: EVIDENCE_EVERY } : {}) }])),
    {
      workerNodeArgs: ['--expose-gc', '--require', path.join(__dirname, 'worker-memory-probe.cjs')],
      registry,
      metrics: STEADY_SECONDS > 0,
    },
  );
  console.log(`registry: ${benchRegistryLabel(registry)}; signature format: ${signatureFormat}${TARGETS.length > 1 ? `; ${TARGETS.length} repositories` : ''}`);
  const { client, dir } = bench;
  const src = path.join(dir, 'src');
  await fs.mkdir(src);
  await fs.writeFile(path.join(src, 'index.html'), '<h1>gate bench</h1>\n');
  const store = new RegistryStore(bench.registryAddress);
  const deps = { storeFor: () => store, env: { BENCH_PW: BENCH_PASSWORD } };
  const base = await buildImageFromDirectory(src);
  for (const { repositoryPath } of TARGETS) for (const blob of [...base.layers, base.config]) await store.putBlob(repositoryPath, blob);
  const devKey = { ref: path.join(bench.keysDir, 'dev.key'), passwordEnv: 'BENCH_PW' };
  const now = new Date().toISOString();

  /** Image i: the shared layer, its own manifest, attested and signed as the developer's CI would. */
  const parkOne = async (i: number): Promise<string> => {
    const target = TARGETS[i % TARGETS.length];
    const repository = bench.repository(target.repositoryPath);
    const image = await buildImageFromDirectory(src, { annotations: { 'dev.countersign.bench.index': String(i) } });
    await store.putManifest(target.repositoryPath, image.digest, image.manifest.data, image.manifest.descriptor.mediaType);
    const location = { repository, digest: image.digest, signatureFormat };
    const statements = await attestPushedImage(deps, location, { ...BENCH_FACTS, invocationId: `bench-${i}`, startedOn: now, finishedOn: now });
    await developerSign(deps, location, devKey, [statements.provenanceDigest, statements.sbomDigest]);
    const started = await bench.promote({ target: target.name, source: { image: `${repository}@${image.digest}` }, commit: BENCH_FACTS.commit });
    return started.promotionId;
  };

  // Starts outrun the worker when the bench prepares images faster than the worker authorises
  // them, and a start request is valid for 10 minutes: a backlog the worker reaches later than
  // that ends REFUSED (REQUEST_EXPIRED). So starts run at most MAX_AHEAD ahead of the gate.
  const parkedNow = async () => (await client.workflow.count(`${SEARCH_ATTRIBUTES.state} = 'AWAITING_APPROVAL'`)).count;
  let atGate = 0;
  let counting: Promise<void> | undefined;
  const roomToStart = async (started: number): Promise<void> => {
    while (started - atGate >= MAX_AHEAD) {
      counting ??= (async () => {
        atGate = await parkedNow();
        if (started - atGate >= MAX_AHEAD) await new Promise((r) => setTimeout(r, 1000));
      })().finally(() => (counting = undefined));
      await counting;
    }
  };

  const rows: Array<Record<string, number>> = [];
  const ids: string[] = [];
  const began = Date.now();
  let seq = 0;
  try {
    const idle = await askProbe(memoryDir, ++seq, snapshots ? 'parked-0' : undefined);
    rows.push(memoryRow(0, 0, processMemoryMiB(bench.workerPid), idle));
    console.error(JSON.stringify(rows.at(-1)));
    for (const parked of levels) {
      const indexes = Array.from({ length: parked - ids.length }, (_, k) => ids.length + k);
      await inBatches(indexes, START_CONCURRENCY, async (i) => {
        await roomToStart(ids.length);
        ids.push(await parkOne(i));
      });
      // Parked means every promotion waits at the gate: count them through visibility.
      for (;;) {
        const waiting = await parkedNow();
        const ended = (await client.workflow.count(`ExecutionStatus != 'Running'`)).count;
        if (ended > 0) throw new Error(`${ended} promotions ended before approval: ${await howTheyEnded(client)}`);
        if (waiting >= parked) break;
        await new Promise((r) => setTimeout(r, 2000));
      }
      const threads = await askProbe(memoryDir, ++seq, snapshots ? `parked-${parked}` : undefined);
      rows.push(memoryRow(parked, (Date.now() - began) / 1000, processMemoryMiB(bench.workerPid), threads));
      console.error(JSON.stringify(rows.at(-1)));
    }
    const windows: SteadyWindow[] = [];
    let wokeSinceParked = 0;
    if (STEADY_SECONDS > 0) {
      const baseline = await wakeBaseline(bench);
      windows.push(await measureWindow(bench, 'right after parking', Math.min(20, STEADY_SECONDS)));
      wokeSinceParked = await untilEveryGateWoke(bench, baseline, intervalMs, (line) => console.error(line));
      windows.push(await measureWindow(bench, 'every gate woken once', STEADY_SECONDS));
      const ended = (await client.workflow.count(`ExecutionStatus != 'Running'`)).count;
      if (ended > 0) throw new Error(`${ended} promotions ended while their gates woke: ${await howTheyEnded(client)}`);
      for (const w of windows) console.error(JSON.stringify(w));
    }
    // Approvals arrive one after another for the promotions parked longest (the first evicted from
    // a bounded cache): each timed from signing the vote to the run's PROMOTED result.
    const approvalTimes: number[] = [];
    for (const victim of ids.slice(0, APPROVALS)) {
      const t0 = Date.now();
      await signAndDecide(client, victim, { approver: BENCH_APPROVER, decision: 'approve', signer: bench.approver });
      const final = (await client.workflow.getHandle(victim).result()) as PromotionStatus;
      if (final.state !== 'PROMOTED') throw new Error(`${victim} ended ${final.state}`);
      approvalTimes.push(Date.now() - t0);
    }
    const sorted = [...approvalTimes].sort((a, b) => a - b);
    const approvalMs = `p50 ${sorted[Math.floor((sorted.length - 1) / 2)]} ms over ${sorted.length} (${approvalTimes.join(', ')} ms in turn)`;
    console.log(
      markdownTable(
        ['parked at the gate', 'seconds since start', 'worker RSS', 'peak RSS', 'main heap used / total', 'main external', 'workflow heap used / total', 'workflow external', 'V8 contexts (workflow thread)'],
        rows.map((r) => [r.parked, r.seconds, `${r.rssMiB} MiB`, `${r.peakMiB} MiB`, `${r.mainUsedMiB} / ${r.mainTotalMiB} MiB`, `${r.mainExternalMiB} MiB`, `${r.workflowUsedMiB} / ${r.workflowTotalMiB} MiB`, `${r.workflowExternalMiB} MiB`, r.workflowContexts]),
      ),
    );
    const cache = process.env.COUNTERSIGN_MAX_CACHED_WORKFLOWS || `${DEFAULT_MAX_CACHED_WORKFLOWS} (default)`;
    console.log(`\nworkflow cache: ${cache}; approval -> PROMOTED with ${ids.length} parked (the promotions parked longest): ${approvalMs}${windows.length ? ', timed while the gates went on waking' : ''}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    if (windows.length > 0) {
      console.log(
        `\ngates waking on their own: evidenceCheckEvery ${EVIDENCE_EVERY ?? 'the default'} (${Math.round(intervalMs / 1000)} s), ${ids.length} parked, ${CORES} cores; evidence reads from the last level parked to the steady window: ${wokeSinceParked} (${ids.length} gates)\n`,
      );
      console.log(markdownTable(STEADY_HEADER, windows.map((w) => steadyRow(w, CORES))));
      const steady = windows.at(-1)!;
      const atDefault = atInterval(steady, ids.length, DEFAULT_EVIDENCE_CHECK_EVERY_MS, CORES);
      console.log(
        `\nat the default interval (${Math.round(DEFAULT_EVIDENCE_CHECK_EVERY_MS / 60_000)} min), ${ids.length} parked gates wake ${atDefault.wakesPerSecond.toFixed(1)} times a second: ${(100 * atDefault.share).toFixed(1)} % of the cores at the measured cost per wake`,
      );
    }
  } catch (err) {
    console.error('benchmark failed:', err);
    process.exitCode = 1;
  } finally {
    await bench.close();
    // Snapshots asked for stay; the probe's own answers do not.
    if (ownMemoryDir && !snapshots) await fs.rm(memoryDir, { recursive: true, force: true });
  }
}

/** The state and error of the first few runs that ended (the bench stops and removes its directory, worker log included). */
async function howTheyEnded(client: Client): Promise<string> {
  const out: string[] = [];
  for await (const run of client.workflow.list({ query: `ExecutionStatus != 'Running'` })) {
    const status = (await client.workflow.getHandle(run.workflowId, run.runId).result().catch((err: Error) => ({ state: run.status.name, error: err.message }))) as Partial<PromotionStatus>;
    const step = status.timeline?.find((t) => t.status === 'failed');
    out.push(`${run.workflowId} ${status.state}${step ? ` at ${step.step}` : ''}: ${status.error ?? step?.error ?? '(no error)'}`);
    if (out.length === 3) break;
  }
  return out.join('; ');
}

function memoryRow(parked: number, seconds: number, process: { rss: number; peak: number }, threads: Record<string, ThreadMemory>): Record<string, number> {
  const { main, workflow } = threads;
  return {
    parked,
    seconds: Math.round(seconds),
    rssMiB: process.rss,
    peakMiB: process.peak,
    mainUsedMiB: mib(main.heap.used_heap_size),
    mainTotalMiB: mib(main.heap.total_heap_size),
    mainExternalMiB: mib(main.heap.external_memory),
    workflowUsedMiB: mib(workflow.heap.used_heap_size),
    workflowTotalMiB: mib(workflow.heap.total_heap_size),
    workflowExternalMiB: mib(workflow.heap.external_memory),
    workflowContexts: workflow.heap.number_of_native_contexts,
  };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
