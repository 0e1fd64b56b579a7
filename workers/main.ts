/**
 * The worker process: `npm run worker` or `countersign worker`. Configured by environment:
 * TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE (default "default"), TLS to
 * Temporal from TEMPORAL_TLS, TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY and
 * TEMPORAL_TLS_SERVER_NAME over the `temporal:` section of its configuration,
 * COUNTERSIGN_CONFIG (its configuration file; default ./countersign.yaml), COUNTERSIGN_MAX_CACHED_WORKFLOWS
 * (default DEFAULT_MAX_CACHED_WORKFLOWS, 100), COUNTERSIGN_WORKFLOW_STACK_TRACES (1 keeps the SDK's
 * workflow stack traces; off by default, see STACK_TRACES_OFF_MODULE in worker.ts), passphrases in the variables the targets name
 * (COUNTERSIGN_*_KEY_PASSWORD by default), COUNTERSIGN_STAGING_DIR (chart releases' private
 * staging; default $COUNTERSIGN_HOME/staging), COUNTERSIGN_METRICS_LISTEN (host:port of /metrics over the
 * config's `metrics.listen`; docs/operations.md), OTEL_EXPORTER_OTLP_* and OTEL_SERVICE_NAME (traces).
 */
import path from 'node:path';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../src/config';
import { envFlag } from '../src/env-flag';
import { CountersignError } from '../src/errors';
import { createLogger } from '../src/log';
import { describeTls, temporalConnectionSettings } from '../src/temporal/connection';
import { metricsListen } from '../src/metrics/config';
import { CountersignMetrics } from '../src/metrics/metrics';
import { startTracing } from '../src/telemetry/tracing';
import { startMetricsServer, type MetricsServer } from '../src/metrics/server';
import { freePort } from '../src/stack/ports';
import { createWorker, ensureSearchAttributes, installRuntime } from './worker';

/** COUNTERSIGN_MAX_CACHED_WORKFLOWS: a whole number of workflows (0 turns the cache off), or unset. */
export function maxCachedWorkflowsFrom(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.COUNTERSIGN_MAX_CACHED_WORKFLOWS;
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^\d+$/.test(raw.trim())) {
    throw new CountersignError('BAD_INPUT', `COUNTERSIGN_MAX_CACHED_WORKFLOWS: "${raw}" is not a whole number of workflows (0 turns the cache off)`);
  }
  return Number(raw.trim());
}

/** COUNTERSIGN_WORKFLOW_STACK_TRACES (src/env-flag.ts): on keeps the SDK's workflow stack traces; off, blank or unset leaves them off. */
export function workflowStackTracesFrom(env: NodeJS.ProcessEnv): boolean {
  return envFlag(env, 'COUNTERSIGN_WORKFLOW_STACK_TRACES', 'BAD_INPUT') ?? false;
}

/** COUNTERSIGN_CONFIG in the worker's own environment, else countersign.yaml in its working folder. */
export function workerConfigFile(env: NodeJS.ProcessEnv): string {
  return path.resolve(env.COUNTERSIGN_CONFIG ?? DEFAULT_CONFIG_FILE);
}

export async function runWorker(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const log = createLogger('countersign-worker');
  const maxCachedWorkflows = maxCachedWorkflowsFrom(env);
  const workflowStackTraces = workflowStackTracesFrom(env);
  // The worker is the authority: its configuration, validated before it polls anything.
  const config = loadConfig(workerConfigFile(env), env);
  // Settings that hold but that a customer's verifier refuses (a target's admission: and its format).
  for (const warning of config.warnings) log.warn({ config: config.file }, warning);
  const { address, namespace, tls } = temporalConnectionSettings(env, config.temporal);
  const listen = metricsListen(env, config.metrics);
  // The SDK's exporter listens on loopback only; /metrics reads it and serves both halves.
  const sdkMetricsAddress = listen ? `127.0.0.1:${await freePort()}` : undefined;
  installRuntime({ shutdownSignals: ['SIGINT', 'SIGTERM'], sdkMetricsAddress });
  await ensureSearchAttributes(address, namespace, tls);
  const metrics = new CountersignMetrics({ knownTargets: () => Object.keys(config.targets), processMetrics: true });
  // OTEL_* in the worker's own environment: spans for every workflow and activity (docs/operations.md).
  const tracing = startTracing('countersign-worker', env);
  const { worker, close } = await createWorker({ address, namespace, tls, env, log, maxCachedWorkflows, workflowStackTraces, config, metrics, tracing });
  let metricsServer: MetricsServer | undefined;
  if (listen) {
    metricsServer = await startMetricsServer({ listen, metrics, sdkUrl: `http://${sdkMetricsAddress}/metrics` });
    log.info({ metrics: `http://${metricsServer.address}/metrics` }, 'metrics served');
  }
  log.info(
    {
      address,
      namespace,
      tls: describeTls(tls),
      taskQueue: worker.options.taskQueue,
      maxCachedWorkflows: worker.options.maxCachedWorkflows,
      workflowStackTraces,
      config: config.file,
      targets: Object.keys(config.targets),
    },
    'worker started',
  );
  try {
    await worker.run();
  } finally {
    await metricsServer?.close();
    await close();
    await tracing?.shutdown();
    log.info('worker stopped');
  }
}

if (require.main === module) {
  runWorker().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
