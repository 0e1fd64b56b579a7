/**
 * A real environment for workflow tests: Temporal dev server and OCI registry on free loopback
 * ports, a worker in this process, freshly generated developer and platform keys, and a target.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import YAML from 'yaml';
import { parseConfig, type Config, type TargetConfig } from '../../src/config';
import type { ChartTargetConfig } from '../../src/helm/config';
import { STAGING_DIR_ENV } from '../../src/helm/staging';
import { FileSigner, writeKeyPair } from '../../src/keys/file-signer';
import { signAndDecide, startPromotion, type PromoteRequest, type PromoteResult } from '../../src/client/promotions';
import type { ApprovalView } from '../../workflows/approval-messages';
import { RegistryStore } from '../../src/oci/registry';
import { startEmbeddedStack, type EmbeddedStack } from '../../src/stack/embedded';
import { createWorker } from '../../workers/worker';
import { stablePort } from './stable-port';
import type { CountersignMetrics } from '../../src/metrics/metrics';

export const TEST_PASSWORD = 'pw-5b1e9c-test-only';
export const DEV_PASSWORD_ENV = 'COUNTERSIGN_TEST_DEV_PASSWORD';
export const PLATFORM_PASSWORD_ENV = 'COUNTERSIGN_TEST_PLATFORM_PASSWORD';
export const SOURCE_REPO = 'https://github.com/acme/hello';
export const BUILDER_ID = 'https://countersign.dev/builders/local@v1';
export const BUILD_COMMAND = 'countersign build examples/hello';
export const COMMIT = '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e';
/** People in the test roster; each has keys/<name>.key (TEST_PASSWORD) and keys/<name>.pub. */
export const APPROVERS = ['alice', 'bob', 'carol', 'dave', 'erin'];
/** The CI identity that starts promotions in tests (keys/ci.key); every approver may start them too. */
export const INITIATOR = 'ci';
const EXAMPLES = path.resolve(__dirname, '../../examples');

/** What a test passes to start a promotion; the initiator's key is found in the test keys. */
export type TestPromoteRequest = Omit<PromoteRequest, 'target' | 'initiator' | 'signer'> & { target?: TargetConfig | string; initiator?: string };

export interface TestEnv {
  dir: string;
  stack: EmbeddedStack;
  client: Client;
  store: RegistryStore;
  keysDir: string;
  target: TargetConfig;
  /** The worker's configuration (live: targetWith adds targets to it). */
  config: Config;
  workerEnv: NodeJS.ProcessEnv;
  /** Starts a promotion with a start request signed by `initiator` (default ci) for `target` (default prod). */
  promote(request: TestPromoteRequest): Promise<PromoteResult>;
  /** Opens `name`'s test key. */
  signer(name: string): Promise<FileSigner>;
  /** Starts an in-process worker (with this environment's configuration unless another is given); stop it with the returned function. */
  startWorker(options?: { config?: Config; metrics?: CountersignMetrics }): Promise<() => Promise<void>>;
  /** Stops every worker this environment started (close() does too). */
  stopWorkers(): Promise<void>;
  /** Writes the worker's configuration (the default roster, every target added so far) for a worker process; returns its path. */
  writeConfigFile(): Promise<string>;
  /** Signs a decision with the approver's test key and sends it through the update. */
  decideAs(id: string, approver: string, decision: 'approve' | 'reject', reason?: string): Promise<ApprovalView>;
  /**
   * Adds a target with overrides to the worker's configuration (named `name`, or prod-2, prod-3,
   * ...) and returns it. Roster overrides go in `approvers`.
   */
  targetWith(overrides: Record<string, unknown>, name?: string): TargetConfig;
  /**
   * Adds a chart target named `name` to the worker's configuration (charts:), approved by one of
   * alice and bob unless `chart.approval` says otherwise; `trust` adds trust stores it may sign with.
   */
  chartWith(chart: Record<string, unknown>, name: string, options?: { trust?: Record<string, unknown>; approvers?: Record<string, unknown>; console?: unknown }): ChartTargetConfig;
  /** The worker's private staging root for chart releases (COUNTERSIGN_STAGING_DIR in its environment). */
  stagingDir: string;
  close(): Promise<void>;
}

export interface TestEnvOptions {
  temporalDynamicConfig?: Record<string, string | number | boolean>;
  ui?: boolean;
  /**
   * The registry's and Temporal's ports from below the ephemeral range (test/support/stable-port.ts),
   * for a test that stops one and starts it again on the same port.
   */
  stablePorts?: boolean;
}

export async function startTestEnv(options: TestEnvOptions = {}): Promise<TestEnv> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-test-'));
  const stack = await startEmbeddedStack({ dataDir: path.join(dir, 'data'), temporalDynamicConfig: options.temporalDynamicConfig, ui: options.ui, ...(options.stablePorts ? { pickPort: stablePort } : {}) });
  const keysDir = path.join(dir, 'keys');
  await writeKeyPair(keysDir, 'dev', TEST_PASSWORD);
  await writeKeyPair(keysDir, 'platform', TEST_PASSWORD);
  for (const name of [...APPROVERS, INITIATOR]) await writeKeyPair(keysDir, name, TEST_PASSWORD);
  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection });
  const stagingDir = path.join(dir, 'worker-staging');
  const workerEnv = { [DEV_PASSWORD_ENV]: TEST_PASSWORD, [PLATFORM_PASSWORD_ENV]: TEST_PASSWORD, [STAGING_DIR_ENV]: stagingDir };
  const workers = new Set<() => Promise<void>>();

  let targets = 0;
  const configFile = path.join(dir, 'countersign.yaml');
  const initiators = Object.fromEntries([INITIATOR, ...APPROVERS].map((name) => [name, { publicKey: `keys/${name}.pub`, targets: ['*'] }]));
  const rawTargets: Record<string, unknown> = {};
  const defaultRoster = Object.fromEntries(APPROVERS.map((name) => [name, { publicKey: `keys/${name}.pub`, identities: [`${name}@example.com`] }]));
  const parseTarget = (overrides: Record<string, unknown>, name: string): Config => {
    const base = {
      repository: `${stack.registry.address}/apps/hello`,
      releaseTag: 'prod',
      sources: [EXAMPLES, dir],
      policy: { sourceRepo: SOURCE_REPO, builderIds: [BUILDER_ID], buildCommand: BUILD_COMMAND, requireCommit: true },
      approval: { approvers: ['alice', 'bob'], required: 1, deadline: '1h' },
      keys: {
        developer: { key: 'keys/dev.key', publicKey: 'keys/dev.pub', passwordEnv: DEV_PASSWORD_ENV },
        platform: { key: 'keys/platform.key', publicKey: 'keys/platform.pub', passwordEnv: PLATFORM_PASSWORD_ENV },
      },
    };
    // A roster override (and the console origin its passkeys need) shapes that target alone.
    const { approvers: roster, console: consoleSection, ...targetOverrides } = overrides as { approvers?: Record<string, unknown>; console?: unknown };
    const merged = deepMerge(base, targetOverrides);
    const approvers = roster ?? defaultRoster;
    if (!roster) rawTargets[name] = merged;
    return parseConfig({ approvers, initiators, targets: { [name]: merged }, ...(consoleSection ? { console: consoleSection } : {}) }, configFile);
  };
  const config = parseTarget({}, 'prod');
  const targetWith = (overrides: Record<string, unknown>, name?: string): TargetConfig => {
    const targetName = name ?? `prod-${(targets += 1) + 1}`;
    const parsed = parseTarget(overrides, targetName);
    config.targets[targetName] = parsed.targets[targetName];
    return parsed.targets[targetName];
  };
  const rawCharts: Record<string, unknown> = {};
  const rawTrust: Record<string, unknown> = {};
  const chartWith = (chart: Record<string, unknown>, name: string, options: { trust?: Record<string, unknown>; approvers?: Record<string, unknown>; console?: unknown } = {}): ChartTargetConfig => {
    const merged = { sources: [dir], approval: { approvers: ['alice', 'bob'], required: 1, deadline: '1h' }, ...chart };
    const trust = { ...rawTrust, ...options.trust };
    // Extra approvers (passkeys, with the console origin they need) shape this chart target alone, as targetWith's do.
    const approvers = { ...defaultRoster, ...options.approvers };
    const parsed = parseConfig({ approvers, initiators, trust, targets: { prod: rawTargets.prod }, charts: { [name]: merged }, ...(options.console ? { console: options.console } : {}) }, configFile);
    Object.assign(rawTrust, options.trust);
    if (!options.approvers) rawCharts[name] = merged;
    Object.assign(config.trust, parsed.trust);
    config.charts[name] = parsed.charts[name];
    return parsed.charts[name];
  };
  const writeConfigFile = async () => {
    await fs.writeFile(configFile, YAML.stringify({ approvers: defaultRoster, initiators, trust: rawTrust, targets: rawTargets, charts: rawCharts }));
    return configFile;
  };
  const signer = (name: string) => FileSigner.load(path.join(keysDir, `${name}.key`), TEST_PASSWORD);
  const promote = async (request: TestPromoteRequest): Promise<PromoteResult> => {
    const initiator = request.initiator ?? INITIATOR;
    const target = request.target === undefined ? 'prod' : typeof request.target === 'string' ? request.target : request.target.name;
    return startPromotion(client, { ...request, target, initiator, signer: await signer(initiator) });
  };

  const startWorker = async (options: { config?: Config; metrics?: CountersignMetrics } = {}) => {
    const { worker, close: closeWorker } = await createWorker({ address: stack.temporal.address, env: workerEnv, config: () => options.config ?? config, metrics: options.metrics });
    const running = worker.run();
    const stop = async () => {
      workers.delete(stop);
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await closeWorker();
    };
    workers.add(stop);
    return stop;
  };

  const decideAs = async (id: string, approver: string, decision: 'approve' | 'reject', reason?: string) => {
    return signAndDecide(client, id, { approver, decision, reason, signer: await signer(approver) });
  };

  return {
    dir,
    stack,
    decideAs,
    client,
    store: new RegistryStore(stack.registry.address),
    keysDir,
    target: config.targets.prod,
    config,
    promote,
    writeConfigFile,
    signer,
    workerEnv,
    startWorker,
    stopWorkers: async () => {
      for (const stop of [...workers]) await stop();
    },
    targetWith,
    chartWith,
    stagingDir,
    close: async () => {
      for (const stop of [...workers]) await stop();
      await connection.close();
      await stack.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Copies a fixture directory so a test can change it without touching the committed one. */
export async function copyDir(from: string, to: string): Promise<string> {
  await fs.cp(from, to, { recursive: true });
  return to;
}

export function buildFacts(overrides: Partial<{ sourceRepo: string; commit: string; buildCommand: string; builderId: string; commitAuthor: string }> = {}) {
  return { sourceRepo: SOURCE_REPO, commit: COMMIT, buildCommand: BUILD_COMMAND, builderId: BUILDER_ID, ...overrides };
}

function deepMerge(base: Record<string, any>, over: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && typeof base[k] === 'object' ? deepMerge(base[k], v) : v;
  }
  return out;
}

/**
 * A test environment for one describe block: started (with a worker unless `worker: false`) in
 * before(), closed in after(). The returned object forwards to the environment once it exists.
 */
export function useTestEnv(options: TestEnvOptions & { worker?: boolean; setup?: (env: TestEnv) => Promise<void> | void } = {}): TestEnv {
  let current: TestEnv | undefined;
  before(async () => {
    current = await startTestEnv(options);
    await options.setup?.(current);
    if (options.worker !== false) await current.startWorker();
  });
  after(async () => {
    await current?.close();
  });
  return new Proxy({} as TestEnv, {
    get(_target, key) {
      if (!current) throw new Error('the test environment is used before its before() hook ran');
      const value = (current as unknown as Record<string | symbol, unknown>)[key];
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
}
