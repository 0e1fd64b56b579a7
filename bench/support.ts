/**
 * What every benchmark starts from: the embedded stack, bench keys, a target config, the worker as
 * its own process (so its memory can be read), and a client. Kept out of the measured loops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import YAML from 'yaml';
import { startPromotion, type PromoteRequest, type PromoteResult } from '../src/client/promotions';
import type { PromotionStatus } from '../workflows/promotion-messages';
import { FileSigner, writeKeyPair } from '../src/keys/file-signer';
import type { Signer } from '../src/keys/signer';
import type { SignatureFormat } from '../src/cosign/formats';
import { startEmbeddedStack, type EmbeddedStack } from '../src/stack/embedded';
import { startOlareg } from '../src/stack/olareg';
import { freePort } from '../src/stack/ports';
import { startRegistry } from '../src/stack/registry';
import { spawnWorkerProcess, TSX_LOADER, waitForWorker } from '../src/stack/worker-process';
import { TASK_QUEUE } from '../src/temporal-names';
import { FLOOR_TASK_QUEUE } from './floor/workflows';
import { RegistryRequestLog } from './request-counter';

export const BENCH_PASSWORD = 'bench-only-passphrase';
export const BENCH_APPROVER = 'bench-approver';
/** The identity that signs every bench start request. */
export const BENCH_INITIATOR = 'bench';
export const BENCH_FACTS = {
  sourceRepo: 'https://github.com/acme/bench',
  commit: 'abcdef0123456789abcdef0123456789abcdef01',
  buildCommand: 'bench',
  builderId: 'https://countersign.dev/builders/local@v1',
};

export interface BenchStack {
  dir: string;
  keysDir: string;
  stack: EmbeddedStack;
  client: Client;
  workerPid: number;
  /** Processes whose CPU the bench reports: worker, Temporal server, registry (and the floor worker when started). */
  pids: Record<string, number>;
  /** host:port of the registry the worker's targets name. */
  registryAddress: string;
  /** The worker's registry requests by method since the last reset, from its metrics (empty when not counted). */
  requests: RequestCount;
  /**
   * When requests are counted: the worker's own time for each step's successful attempts so far
   * (countersign_step_duration_seconds, sum and count by step), local steps included.
   */
  stepSeconds(): Promise<Record<string, { sum: number; count: number }>>;
  /** When requests are counted: a registry of the same kind for the by-hand flow, counted from its own request log. */
  byHandRegistry?: { address: string; pid: number; requests: RequestCount };
  approver: Signer;
  /** Starts one more worker process on the same task queue and configuration; resolves once it polls. */
  addWorker(): Promise<ChildProcess>;
  /** Starts a promotion with a start request signed by the bench initiator. */
  promote(request: Omit<PromoteRequest, 'initiator' | 'signer'>): Promise<PromoteResult>;
  /** The same start carrying the waitForGate update: resolves once the run is at the gate, past it or ended. */
  promoteUntilGate(request: Omit<PromoteRequest, 'initiator' | 'signer'>, pollMs: number): Promise<PromoteResult & { gate: PromotionStatus }>;
  /** `<registry>/<repositoryPath>` of a target. */
  repository(repositoryPath: string): string;
  close(): Promise<void>;
}

/** Requests by method since the last reset. */
export interface RequestCount {
  read(): Promise<Record<string, number>>;
  reset(): Promise<void>;
}

const NOT_COUNTED: RequestCount = { read: async () => ({}), reset: async () => undefined };

/** The worker's metrics endpoint, as text. */
async function workerMetricsText(metricsAddress: string): Promise<string> {
  return (await fetch(`http://${metricsAddress}/metrics`)).text();
}

/** Each step's successful attempts, from the worker's metrics endpoint: seconds in all and how many. */
async function workerStepSeconds(metricsAddress: string): Promise<Record<string, { sum: number; count: number }>> {
  const text = await workerMetricsText(metricsAddress);
  const steps: Record<string, { sum: number; count: number }> = {};
  for (const m of text.matchAll(/^countersign_step_duration_seconds_(sum|count)\{step="([^"]+)",outcome="ok"\} ([0-9.e+-]+)$/gm)) {
    const step = (steps[m[2]] ??= { sum: 0, count: 0 });
    step[m[1] as 'sum' | 'count'] = Number(m[3]);
  }
  return steps;
}

/**
 * The worker's own count of the requests it sent (countersign_registry_requests_total on its
 * metrics endpoint): nothing between it and the registry, and no request log for the registry to
 * write while the figures are taken.
 */
function workerRequestCount(metricsAddress: string): RequestCount {
  const scrape = async (): Promise<Record<string, number>> => {
    const text = await workerMetricsText(metricsAddress);
    const counts: Record<string, number> = {};
    for (const m of text.matchAll(/^countersign_registry_requests_total\{method="([A-Z]+)"\} (\d+)$/gm)) counts[m[1]] = Number(m[2]);
    return counts;
  };
  let baseline: Record<string, number> = {};
  return {
    read: async () => {
      const now = await scrape();
      return Object.fromEntries(Object.entries(now).map(([method, n]) => [method, n - (baseline[method] ?? 0)]).filter(([, n]) => (n as number) > 0));
    },
    reset: async () => {
      baseline = await scrape();
    },
  };
}

/** A target the worker's configuration holds: images at <registry>/<repositoryPath>. */
export interface BenchTarget {
  repositoryPath: string;
  deadline?: string;
  /** The target's signatureFormat; the worker's default (legacy) when omitted. */
  signatureFormat?: SignatureFormat;
  /** The gate's approval.evidenceCheckEvery; the worker's default (an hour) when omitted. */
  evidenceCheckEvery?: string;
}

export interface BenchStackOptions {
  /** Count the requests the registry answers, from its own request log (bench/request-counter.ts). */
  countRequests?: boolean;
  /** The worker serves its metrics (stepSeconds) without counting requests for a by-hand flow. */
  metrics?: boolean;
  /** Also start the floor workflow's worker (bench/floor/) on its own task queue. */
  floor?: boolean;
  /** More node flags for the worker process (bench/gate.ts's memory probe). */
  workerNodeArgs?: string[];
  /**
   * The registry the targets name: the embedded stack's (distribution 2.8, no Referrers API), or
   * olareg (src/stack/olareg.ts), an OCI 1.1 registry with the Referrers API.
   */
  registry?: BenchRegistry;
}

export const BENCH_REGISTRIES = ['distribution', 'olareg'] as const;
export type BenchRegistry = (typeof BENCH_REGISTRIES)[number];

/** What each registry is benched with: bundles where the Referrers API makes each one its own manifest, the default format elsewhere. */
export function benchSignatureFormat(registry: BenchRegistry): SignatureFormat {
  return registry === 'olareg' ? 'bundle' : 'legacy';
}

/** The registry as a bench's first line names it. */
export function benchRegistryLabel(registry: BenchRegistry): string {
  return registry === 'olareg' ? 'olareg (with the Referrers API)' : 'distribution 2.8 (no Referrers API)';
}

/**
 * BENCH_WORKER_NODE_ARGS, checked: node flags for every worker a bench starts, ours and the floor's
 * alike (one rule for both, so a flag that changes speed changes both sides), e.g. `--trace-opt`
 * or `--trace-gc`, whose output goes to the worker's log (BENCH_KEEP keeps it). Space-separated,
 * each a `--flag` or `--flag=value`.
 */
export function benchWorkerNodeArgsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const flags = (env.BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter((f) => f !== '');
  const bad = flags.find((f) => !/^--[a-z0-9][a-z0-9-_]*(=\S+)?$/i.test(f));
  if (bad !== undefined) throw new Error(`BENCH_WORKER_NODE_ARGS: node flags separated by spaces, each --flag or --flag=value, not "${bad}"`);
  return flags;
}

/** statfs's f_type of a tmpfs (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;

/**
 * Where a bench keeps its stack's files (the dev server's database, the registry's storage, the
 * workers' logs): BENCH_DIR when set, else /dev/shm when it is a tmpfs, else the system's
 * temporary directory. On this project's machines /tmp is on the VM's ext4 disk, where the
 * registries' write-then-rename of every upload and index costs them kernel CPU that swings
 * threefold from run to run (ext4's inode allocator stepping over recently deleted inodes:
 * docs/benchmarks.md, "The registry's disk"); both sides' files (the floor's in the dev server
 * too) go to the same place.
 */
export function benchBaseDir(env: NodeJS.ProcessEnv = process.env, shm = '/dev/shm'): { dir: string; label: string } {
  if (env.BENCH_DIR !== undefined) {
    const dir = path.resolve(env.BENCH_DIR);
    let isDir = false;
    try {
      isDir = fsSync.statSync(dir).isDirectory();
    } catch {
      // Said below.
    }
    if (!isDir) throw new Error(`BENCH_DIR: an existing directory for the bench's stack files, not "${env.BENCH_DIR}"`);
    return { dir, label: `${dir} (BENCH_DIR)` };
  }
  try {
    if (fsSync.statfsSync(shm).type === TMPFS_MAGIC) {
      fsSync.accessSync(shm, fsSync.constants.W_OK);
      return { dir: shm, label: `${shm} (tmpfs)` };
    }
  } catch {
    // No writable tmpfs there: the system's temporary directory.
  }
  return { dir: os.tmpdir(), label: `${os.tmpdir()} (no writable tmpfs at ${shm})` };
}

/** BENCH_WARMUP, checked: promotions of each side before `npm run bench`'s first level, not measured (default 100; 0 for none). */
export function benchWarmupFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.BENCH_WARMUP ?? '100';
  const count = wholeNumber(value);
  if (count === undefined) throw new Error(`BENCH_WARMUP: how many promotions of each side warm the workers up before the first level, a whole number (0 for none), not "${value}"`);
  return count;
}

/** The number `value` writes in decimal digits alone, or undefined. */
function wholeNumber(value: string): number | undefined {
  const count = Number(value);
  return /^\d+$/.test(value) && Number.isSafeInteger(count) ? count : undefined;
}

/** Promotions of each side `npm run bench` runs at a level above 1 unless BENCH_BATCHES says how many batches. */
export const PROMOTIONS_PER_LEVEL = 150;

/**
 * BENCH_BATCHES, checked: how many batches of each side a level above 1 runs, taking turns. By
 * default as many as make PROMOTIONS_PER_LEVEL promotions, at least 3: the same sample at every
 * level (3 batches of 10, 1.8 s of ours, gave ratios 0.61 to 0.72 from run to run of one tree).
 */
export function benchBatchesFromEnv(env: NodeJS.ProcessEnv = process.env): (concurrency: number) => number {
  const value = env.BENCH_BATCHES;
  if (value === undefined) return (concurrency) => Math.max(3, Math.ceil(PROMOTIONS_PER_LEVEL / concurrency));
  const count = wholeNumber(value);
  if (count === undefined || count < 1) throw new Error(`BENCH_BATCHES: a whole number of batches per level, at least 1, not "${value}"`);
  return () => count;
}

/** BENCH_KEEP=1 keeps the bench's directory (the workers' logs, their configuration and keys) when it stops; 0 or unset removes it. */
export function benchKeepFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.BENCH_KEEP ?? '0';
  if (value !== '0' && value !== '1') throw new Error(`BENCH_KEEP: 1 keeps the bench's directory, 0 removes it, not "${value}"`);
  return value === '1';
}

/** BENCH_REGISTRY, checked: distribution (the default) or olareg. */
export function benchRegistryFromEnv(env: NodeJS.ProcessEnv = process.env): BenchRegistry {
  const value = env.BENCH_REGISTRY ?? 'distribution';
  if (!(BENCH_REGISTRIES as readonly string[]).includes(value)) throw new Error(`BENCH_REGISTRY: ${BENCH_REGISTRIES.join(' or ')}, not "${value}"`);
  return value as BenchRegistry;
}

/**
 * BENCH_REPOSITORIES targets (`byDefault` when unset), a repository each, that a bench spreads its
 * promotions over in turn: with one, `name` and `repositoryPath` themselves (as before the
 * setting); with R, `name-k` and `repositoryPath-k`.
 */
export function benchTargetsFromEnv(name: string, repositoryPath: string, env: NodeJS.ProcessEnv = process.env, byDefault = 1): Array<{ name: string; repositoryPath: string }> {
  const count = Number(env.BENCH_REPOSITORIES ?? byDefault);
  if (!Number.isInteger(count) || count < 1) throw new Error(`BENCH_REPOSITORIES: a whole number of repositories, at least 1, not "${env.BENCH_REPOSITORIES}"`);
  if (count === 1) return [{ name, repositoryPath }];
  return Array.from({ length: count }, (_, k) => ({ name: `${name}-${k}`, repositoryPath: `${repositoryPath}-${k}` }));
}

/** The count, with BENCH_REQUEST_LOG's lines written out at each read when the registry logs them. */
function withRequestLines(count: RequestCount, lines: RegistryRequestLog | undefined): RequestCount {
  if (!lines) return count;
  return {
    read: async () => {
      await lines.read();
      return count.read();
    },
    reset: async () => {
      await lines.reset();
      await count.reset();
    },
  };
}

/** The worker is the authority, so the bench writes the worker's configuration with every target it will use. */
export async function startBenchStack(prefix: string, targets: Record<string, BenchTarget>, options: BenchStackOptions = {}): Promise<BenchStack> {
  // Everything started is stopped, newest first: by close(), when a later start fails, and when
  // the bench is interrupted (a bench stopped with Ctrl-C or kill used to leave its worker running).
  const stopping = new StopList();
  try {
    const nodeArgs = benchWorkerNodeArgsFromEnv();
    const keep = benchKeepFromEnv();
    const base = benchBaseDir();
    console.log(`stack files: ${base.label}`);
    const dir = await fs.mkdtemp(path.join(base.dir, `countersign-${prefix}-`));
    // Written last, once everything is stopped, so the logs are whole.
    stopping.add(() => (keep ? console.log(`kept: ${dir} (the workers' logs: ${options.floor ? 'worker.log, floor-worker.log' : 'worker*.log'})`) : fs.rm(dir, { recursive: true, force: true })));
    const stack = await startEmbeddedStack({ dataDir: path.join(dir, 'data') });
    stopping.add(() => stack.stop());
    // The worker counts its own requests (its metrics endpoint). BENCH_REQUEST_LOG, for finding
    // which step makes which request, turns the registry's request log on as well: that costs the
    // registry CPU, so figures taken with it are not comparable.
    /** A registry of the kind the bench runs on, of its own, writing a line for every request it answers. */
    const startLoggingRegistry = async (name: string, logFile: string): Promise<{ address: string; pid: number }> => {
      const started = options.registry === 'olareg' ? await startOlareg({ logFile, logRequests: true, parentDir: dir }) : await startRegistry({ rootDir: path.join(dir, name), logFile, logRequests: true });
      stopping.add(() => started.stop());
      return started;
    };
    const requestLog = options.countRequests && process.env.BENCH_REQUEST_LOG ? path.join(dir, 'registry-requests.log') : undefined;
    let registry: { address: string; pid: number } = stack.registry;
    if (requestLog) registry = await startLoggingRegistry('registry', requestLog);
    else if (options.registry === 'olareg') {
      const olareg = await startOlareg({ parentDir: dir });
      stopping.add(() => olareg.stop());
      registry = olareg;
    }
    const requestLines = requestLog ? new RegistryRequestLog(requestLog, process.env.BENCH_REQUEST_LOG) : undefined;
    const registryAddress = registry.address;
    // By hand, cosign's requests can only be counted at the registry: the flow gets a registry of
    // its own, of the same kind, with its request log on (it runs alone, after the timed levels).
    const byHandLog = path.join(dir, 'by-hand-registry.log');
    const byHandRegistry = options.countRequests ? await startLoggingRegistry('by-hand-registry', byHandLog) : undefined;
    const metricsAddress = options.countRequests || options.metrics ? `127.0.0.1:${await freePort()}` : undefined;
    const keysDir = path.join(dir, 'keys');
    for (const name of ['dev', 'platform', BENCH_APPROVER, BENCH_INITIATOR]) await writeKeyPair(keysDir, name, BENCH_PASSWORD);
    const configFile = path.join(dir, 'countersign.yaml');
    await fs.writeFile(configFile, YAML.stringify(benchConfig(registryAddress, dir, targets)));
    const workerEnv = {
      ...process.env,
      COUNTERSIGN_CONFIG: configFile,
      COUNTERSIGN_DEV_KEY_PASSWORD: BENCH_PASSWORD,
      COUNTERSIGN_PLATFORM_KEY_PASSWORD: BENCH_PASSWORD,
      COUNTERSIGN_LOG_LEVEL: 'warn',
    };
    const logFile = path.join(dir, 'worker.log');
    const worker = spawnWorkerProcess({
      address: stack.temporal.address,
      logFile,
      // Only this worker serves metrics: one more (addWorker) would want the same port.
      env: { ...workerEnv, ...(metricsAddress ? { COUNTERSIGN_METRICS_LISTEN: metricsAddress } : {}) },
      // BENCH_CPU_PROF=<dir>: the worker writes a V8 CPU profile there when it exits.
      nodeArgs: [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`] : []), ...nodeArgs, ...(options.workerNodeArgs ?? [])],
    });
    // Waited for, so a --cpu-prof profile is written before the stack goes.
    stopping.add(() => stopChild(worker, 20_000));
    await waitForWorker(stack.temporal.address, { pid: worker.pid, logFile });
    const floor = options.floor ? await startFloorWorker(stack.temporal.address, path.join(dir, 'floor-worker.log'), nodeArgs) : undefined;
    if (floor) stopping.add(() => stopChild(floor, 5_000));
    const connection = await Connection.connect({ address: stack.temporal.address });
    stopping.add(() => connection.close());
    const client = new Client({ connection });
    const initiator = await FileSigner.load(path.join(keysDir, `${BENCH_INITIATOR}.key`), BENCH_PASSWORD);
    const approver = await FileSigner.load(path.join(keysDir, `${BENCH_APPROVER}.key`), BENCH_PASSWORD);
    let added = 0;
    return {
      dir,
      keysDir,
      stack,
      client,
      workerPid: worker.pid!,
      pids: { worker: worker.pid!, server: stack.temporal.pid, registry: registry.pid, ...(floor ? { floorWorker: floor.pid! } : {}) },
      registryAddress,
      requests: metricsAddress ? withRequestLines(workerRequestCount(metricsAddress), requestLines) : NOT_COUNTED,
      stepSeconds: async () => (metricsAddress ? workerStepSeconds(metricsAddress) : {}),
      ...(byHandRegistry ? { byHandRegistry: { address: byHandRegistry.address, pid: byHandRegistry.pid, requests: new RegistryRequestLog(byHandLog) } } : {}),
      approver,
      addWorker: async () => {
        const extraLog = path.join(dir, `worker-${(added += 1) + 1}.log`);
        const child = spawnWorkerProcess({ address: stack.temporal.address, logFile: extraLog, env: workerEnv, nodeArgs });
        stopping.add(() => stopChild(child, 5_000));
        await waitForPoller(connection, child.pid!, extraLog);
        return child;
      },
      promote: (request) => startPromotion(client, { ...request, initiator: BENCH_INITIATOR, signer: initiator }),
      promoteUntilGate: (request, pollMs) => startPromotion(client, { ...request, initiator: BENCH_INITIATOR, signer: initiator }, { untilGate: true, pollMs }),
      repository: (repositoryPath) => `${registryAddress}/${repositoryPath}`,
      close: () => stopping.stopAll(),
    };
  } catch (err) {
    await stopping.stopAll();
    throw err;
  }
}

/**
 * What a bench started, stopped newest first, once. While anything is on the list, SIGINT and
 * SIGTERM stop it all and then end the bench (exit 130 or 143, as a shell reports them).
 */
export class StopList {
  private readonly steps: Array<() => unknown> = [];
  private readonly onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`bench: ${signal}, stopping the worker, Temporal and the registry\n`);
    void this.stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };

  add(step: () => unknown): void {
    if (this.steps.length === 0) {
      process.on('SIGINT', this.onSignal);
      process.on('SIGTERM', this.onSignal);
    }
    this.steps.push(step);
  }

  async stopAll(): Promise<void> {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        process.stderr.write(`bench: while stopping: ${(err as Error).message}\n`);
      }
    }
  }
}

/** SIGTERM, then up to `graceMs` for the process to exit. */
async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs).unref())]);
}

/** Until a worker process with this pid polls the countersign task queue (the SDK names pollers pid@host). */
async function waitForPoller(connection: Connection, pid: number, logFile: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    const res = await connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: TASK_QUEUE }, taskQueueType: 1 });
    if ((res.pollers ?? []).some((p) => p.identity?.startsWith(`${pid}@`))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`worker ${pid} did not poll within 60 s; see ${logFile}`);
}

async function startFloorWorker(address: string, logFile: string, nodeArgs: string[]): Promise<ChildProcess> {
  const out = await fs.open(logFile, 'a');
  // BENCH_CPU_PROF profiles the floor's worker too, so the two workers' profiles can be read side by side.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF, 'floor')}`] : [];
  const child = spawn(process.execPath, [...profile, ...nodeArgs, '--import', TSX_LOADER, path.join(__dirname, 'floor', 'worker.ts')], {
    env: { ...process.env, TEMPORAL_ADDRESS: address },
    stdio: ['ignore', out.fd, out.fd],
  });
  await out.close();
  await waitForWorker(address, { pid: child.pid, logFile, taskQueue: FLOOR_TASK_QUEUE });
  return child;
}

function benchConfig(registry: string, dir: string, targets: Record<string, BenchTarget>) {
  return {
    approvers: { [BENCH_APPROVER]: { publicKey: `keys/${BENCH_APPROVER}.pub` } },
    initiators: { [BENCH_INITIATOR]: { publicKey: `keys/${BENCH_INITIATOR}.pub`, targets: ['*'] } },
    keys: { developer: { key: 'keys/dev.key', publicKey: 'keys/dev.pub' }, platform: { key: 'keys/platform.key', publicKey: 'keys/platform.pub' } },
    targets: Object.fromEntries(
      Object.entries(targets).map(([name, t]) => [
        name,
        {
          repository: `${registry}/${t.repositoryPath}`,
          sources: [dir],
          policy: { sourceRepo: BENCH_FACTS.sourceRepo, builderIds: [BENCH_FACTS.builderId] },
          approval: { approvers: [BENCH_APPROVER], deadline: t.deadline ?? '1h', ...(t.evidenceCheckEvery ? { evidenceCheckEvery: t.evidenceCheckEvery } : {}) },
          ...(t.signatureFormat ? { signatureFormat: t.signatureFormat } : {}),
        },
      ]),
    ),
  };
}

/** Current and peak resident memory of a process, from /proc. */
export function processMemoryMiB(pid: number): { rss: number; peak: number } {
  const status = fsSync.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

export function markdownTable(header: string[], rows: Array<Array<string | number>>): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---:').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
