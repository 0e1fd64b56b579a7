import path from 'node:path';
import type { Duration } from '@temporalio/common';
import type { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import { Client, Connection as ClientConnection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type LogLevel, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createCampaignActivities } from '../activities/campaign';
import { createChartActivities } from '../activities/chart';
import { createKeyActivities } from '../activities/keys';
import { createNotifyActivities } from '../activities/notify';
import { createPromotionActivities } from '../activities/promotion';
import { createRootActivities } from '../activities/root';
import { RegistryStore } from '../src/oci/registry';
import { startIndexRefresher } from '../src/trust/index-refresh';
import { listPriorRuns } from '../src/client/prior-runs';
import type { Config } from '../src/config';
import type { AuthorizeDeps } from '../src/requests/authorize';
import { connectTemporalClient, explainConnectFailure } from '../src/temporal/connect';
import type { TemporalTls } from '../src/temporal/connection';
import type { Store } from '../src/oci/store';
import { CountersignError } from '../src/errors';
import { loadSealKeyring, type SealKeyring } from '../src/seal/keyring';
import { SEARCH_ATTRIBUTE_TYPES, TASK_QUEUE } from '../workflows/promotion-messages';
import { CountersignMetrics } from '../src/metrics/metrics';
import { metricsActivityInterceptor, metricsSinks } from './observe';
import { OpenTelemetryActivityInboundInterceptor, makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { Resource } from '@opentelemetry/resources';
import { droppingSpanProcessor, type Tracing } from '../src/telemetry/tracing';

export const WORKFLOWS_PATH = path.resolve(__dirname, '../workflows/index.ts');
/**
 * Bundled with every workflow: promotion metrics (workflows/observe-interceptors.ts) and tracing
 * (workflows/workflow-tracing.ts), with spans in a worker that traces and none in one that does
 * not. Both give a run's calls the same shape, so either worker replays the other's runs; runs
 * started before TRACING_SHAPE_PATCH keep Temporal's OpenTelemetry interceptors, whose spans leave
 * the sandbox through the `exporter` sink (dropped when this worker does not trace).
 */
export function workflowInterceptorModules(options: { tracing: boolean }): string[] {
  return [path.resolve(__dirname, '../workflows/observe-interceptors.ts'), path.resolve(__dirname, `../workflows/tracing-${options.tracing ? 'on' : 'off'}-interceptors.ts`)];
}

/**
 * Workflows kept in memory between tasks unless the worker is told otherwise. Each cached workflow
 * holds its own copy of every module of the bundle (the SDK's sandbox gives each workflow its own
 * module state), about 0.9 MiB of live heap in the workflow thread, and V8 lets that heap grow to
 * 2-3 times what is live before it collects. The SDK's default is sized from the heap limit, not
 * from the work: about 2,300 on a 4 GiB heap, so a worker with thousands of promotions parked at
 * the gate grew past 1.7 GiB holding runs that wait for days. A parked run costs little to evict:
 * its decision replays it from history (test/workflows/evicted-at-gate.test.ts). 100 keeps the 50
 * promotions in flight of the throughput bench warm; 200 measured over 1 GiB with 500 parked
 * (docs/benchmarks.md, "Promotions parked at the approval gate").
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 100;

/** Queued steps (prod sign, the chart and governance steps) one worker runs at once. */
export const DEFAULT_ACTIVITY_SLOTS = 20;

/**
 * Local steps (authorize, the keys check, build, attest, dev sign, platform verify, the evidence
 * reads and release: docs/architecture.md, "Local steps") one worker runs at once, as many as its
 * queued activity slots (DEFAULT_ACTIVITY_SLOTS). The SDK's own
 * default is 100, and a build holds its directory's files in memory: before the steps became local,
 * builds were bounded by the 20 activity slots. Measured at 50 promotions at once: the same throughput
 * with 20 as with 100 (docs/benchmarks.md, "Workflow stack traces off").
 */
export const DEFAULT_LOCAL_STEP_SLOTS = 20;

/**
 * Modules every workflow shares instead of evaluating its own copy (the SDK's preloadModules, with
 * its reusable V8 context): the approvers' signature check and the P-256 and SHA-256 code under it.
 * They hold no per-workflow state (the only module state is @noble/curves' cache of precomputed
 * points, a pure memo: a verification's result never depends on it), and the SDK freezes what
 * they export. Sharing saves each workflow evaluating them and building the base point's table.
 */
const SHARED_WORKFLOW_MODULES = ['@noble/curves/p256', '@noble/hashes/sha256', path.resolve(__dirname, '../workflows/approval-signature.ts')];

/**
 * Preloaded by a worker without workflow stack traces (the default; COUNTERSIGN_WORKFLOW_STACK_TRACES=1
 * keeps them): it sets the sandbox's Error.stackTraceLimit to 0 before the SDK freezes the
 * sandbox's globals. The SDK cannot turn off the promise hook behind its `__stack_trace` query (the
 * Temporal UI's stack trace tab), which captures a stack trace for every promise a workflow makes
 * and maps each frame through the bundle's source map: a sixth of the workflow thread's time. With
 * no frames to capture the hook costs little (4 ms less worker CPU per promotion at 50 at once, of
 * 44: docs/benchmarks.md, "Workflow stack traces off"); the query then answers without frames, and
 * errors raised in workflow code carry their messages without frames. Histories are the same
 * either way, so runs move freely between workers with and without it.
 */
export const STACK_TRACES_OFF_MODULE = path.resolve(__dirname, '../workflows/stack-traces-off.ts');

/** What a worker preloads into its workflow sandbox for the stack trace setting: STACK_TRACES_OFF_MODULE unless they are kept. */
export function stackTracePreloads(stackTraces: boolean): string[] {
  return stackTraces ? [] : [STACK_TRACES_OFF_MODULE];
}

/**
 * The capacity every countersign worker runs with, each setting overridable: activity and local
 * step slots, the workflow cache and the shutdown grace time. The floor's worker
 * (bench/floor/worker.ts) takes the same, so the bench compares like with like.
 */
export function workerCapacity(options: Pick<WorkerOptions, 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentLocalActivityExecutions' | 'maxCachedWorkflows' | 'shutdownGraceTime'> = {}) {
  return {
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? DEFAULT_ACTIVITY_SLOTS,
    maxConcurrentLocalActivityExecutions: options.maxConcurrentLocalActivityExecutions ?? DEFAULT_LOCAL_STEP_SLOTS,
    maxCachedWorkflows: options.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
    shutdownGraceTime: options.shutdownGraceTime ?? '10s',
  };
}

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/** Bundles the workflow code once per process, tracing mode and stack trace setting; tests and benches start many workers. */
export function workflowBundle(options: { tracing?: boolean; stackTraces?: boolean } = {}): Promise<WorkflowBundleWithSourceMap> {
  const tracing = options.tracing ?? false;
  const stackTraces = options.stackTraces ?? false;
  const key = `${tracing}:${stackTraces}`;
  let bundle = bundles.get(key);
  if (!bundle) {
    const preloadModules = [...SHARED_WORKFLOW_MODULES, ...stackTracePreloads(stackTraces)];
    bundle = bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: workflowInterceptorModules({ tracing }), preloadModules, logger: quietBundlerLogger });
    bundles.set(key, bundle);
  }
  return bundle;
}

const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string, meta?: unknown) => console.error(message, meta ?? ''),
  log: () => undefined,
};

export interface WorkerOptions {
  address: string;
  namespace?: string;
  /** TLS (mTLS) to Temporal, from src/temporal/connection.ts; plain TCP when omitted. */
  tls?: TemporalTls;
  taskQueue?: string;
  /** Where passphrases and the chart staging directory (COUNTERSIGN_STAGING_DIR) are read from (the worker's own environment by default). */
  env?: NodeJS.ProcessEnv;
  maxConcurrentActivityTaskExecutions?: number;
  /** Local steps run at once (DEFAULT_LOCAL_STEP_SLOTS when omitted). */
  maxConcurrentLocalActivityExecutions?: number;
  /** Workflows kept in memory between tasks (DEFAULT_MAX_CACHED_WORKFLOWS when omitted; 0 turns the cache off). */
  maxCachedWorkflows?: number;
  shutdownGraceTime?: Duration;
  /** Step outcomes are logged here when given. */
  log?: Logger;
  /**
   * The worker's own configuration: targets, policies, rosters, initiators, keys. Promotions are
   * authorised and resolved against it (a function is read at each start, so a test can add targets).
   * Without one, every promotion is refused at its first step.
   */
  config?: Config | (() => Config | undefined);
  /** Where this worker's metrics are counted (src/metrics/); a fresh set per worker when omitted. */
  metrics?: CountersignMetrics;
  /** OpenTelemetry tracing (src/telemetry/tracing.ts): spans for every workflow and activity when given. */
  tracing?: Tracing;
  /** The SDK's workflow stack traces (`__stack_trace` query, the UI's stack tab) and frames in workflow errors: off unless true (see STACK_TRACES_OFF_MODULE). */
  workflowStackTraces?: boolean;
}

let runtimeInstalled = false;

/**
 * Quiets the SDK's own logging to warnings (COUNTERSIGN_SDK_LOG_LEVEL to change) unless the
 * process installed a runtime itself. Must run before the first connection.
 */
export function installRuntime(options: { shutdownSignals?: NodeJS.Signals[]; sdkMetricsAddress?: string } = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.COUNTERSIGN_SDK_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
  // The SDK's runtime metrics are served on a loopback port the metrics endpoint reads (src/metrics/server.ts).
  const telemetryOptions = options.sdkMetricsAddress ? { metrics: { prometheus: { bindAddress: options.sdkMetricsAddress } } } : undefined;
  try {
    Runtime.install({ logger: new DefaultLogger(level), shutdownSignals: options.shutdownSignals ?? [], ...(telemetryOptions ? { telemetryOptions } : {}) });
  } catch {
    // A runtime already exists (installed by the embedding program); keep it.
  }
}

/** Creates a worker with the promotion and chart release workflows and real activities, ready to run. */
export async function createWorker(options: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection; metrics: CountersignMetrics; close(): Promise<void> }> {
  installRuntime();
  const connection = await explainConnectFailure(options, NativeConnection.connect({ address: options.address, tls: options.tls?.config }));
  const configOf = typeof options.config === 'function' ? options.config : () => options.config as Config | undefined;
  const metrics = options.metrics ?? new CountersignMetrics({ knownTargets: () => Object.keys(configOf()?.targets ?? {}) });
  const stores = new Map<string, Store>();
  const deps = {
    storeFor: (host: string): Store => {
      let store = stores.get(host);
      if (!store) {
        store = new RegistryStore(host, { onRequest: (method) => metrics.registryRequest(method) });
        stores.set(host, store);
      }
      return store;
    },
    env: options.env ?? process.env,
    log: options.log,
  };
  let historyClient: Promise<Client> | undefined;
  // One client connection for reading earlier runs, opened on first use and closed with the worker's.
  const client = () =>
    (historyClient ??= connectTemporalClient(options, { purpose: 'to read earlier runs' }).then((c) => {
      clientConnections.push(c);
      return new Client({ connection: c, namespace: options.namespace ?? 'default' });
    }));
  const clientConnections: ClientConnection[] = [];
  const authorize: AuthorizeDeps = { config: configOf, priorRuns: async (id, runId) => listPriorRuns(await client(), id, runId) };
  // The seal key is opened now when the configuration is known, so a worker that could not check
  // seals never starts polling; a test's configuration given later is opened on first use.
  let keyring: SealKeyring | undefined = configOf() ? loadSealKeyring(configOf()!.seal) : undefined;
  const seal = (): SealKeyring => {
    if (keyring) return keyring;
    const config = configOf();
    if (!config) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker) and so no seal key');
    return (keyring = loadSealKeyring(config.seal));
  };
  const activities = {
    ...createPromotionActivities({ ...deps, authorize, seal }),
    ...createChartActivities({ ...deps, authorize, seal }),
    ...createNotifyActivities({ ...deps, config: configOf }),
    ...createKeyActivities({ ...deps, authorize, seal, temporal: { address: options.address, namespace: options.namespace, tls: options.tls } }),
    ...createCampaignActivities({ ...deps, authorize, seal, temporal: { address: options.address, namespace: options.namespace, tls: options.tls } }),
    ...createRootActivities({ ...deps, authorize, seal }),
  };
  const worker = await Worker.create({
    connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    workflowBundle: await workflowBundle({ tracing: options.tracing !== undefined, stackTraces: options.workflowStackTraces ?? false }),
    activities,
    ...workerCapacity(options),
    interceptors: {
      activity: [metricsActivityInterceptor(metrics), ...(options.tracing ? [(ctx: Context) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx) })] : [])],
    },
    sinks: {
      ...metricsSinks(metrics),
      exporter: makeWorkflowExporter(options.tracing?.spanProcessor ?? droppingSpanProcessor(), options.tracing?.resource ?? Resource.empty()),
    },
  });
  // Signed trust indexes expire; the worker holds their keys, so it signs them again in time.
  const stopRefresher = startIndexRefresher({ config: configOf, env: deps.env, log: options.log });
  /** Closes the worker's connection and the history reader's (call after the worker has stopped). */
  const close = async () => {
    stopRefresher();
    await Promise.all(clientConnections.map((c) => c.close().catch(() => undefined)));
    await connection.close();
  };
  return { worker, connection, metrics, close };
}

/** Registers the search attributes on a server that lacks them (a fresh cluster; the dev server gets them as flags). */
export async function ensureSearchAttributes(address: string, namespace = 'default', tls?: TemporalTls): Promise<void> {
  const connection = await connectTemporalClient({ address, tls });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.keys(SEARCH_ATTRIBUTE_TYPES).filter((name) => !(name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, 2 /* INDEXED_VALUE_TYPE_KEYWORD */])),
    });
  } finally {
    await connection.close();
  }
}
