/**
 * The real stack a fault scenario runs on: the test environment's Temporal dev server and
 * registry (test/support/env.ts), the worker as its own process, local-kms for a KMS platform
 * key, and holding proxies (test/support/holding-proxy.ts) as the fault injectors in front of the
 * registry and KMS. What it adds is the faults themselves: kill -9 of the worker, SIGKILL of the
 * Temporal server and a restart on the same database file and port, the registry stopped and
 * started again on the same port and data.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import type { TargetConfig } from '../../src/config';
import { KmsSigner } from '../../src/keys/kms-signer';
import { startRegistry, type RunningRegistry } from '../../src/stack/registry';
import { isPidAlive } from '../../src/stack/service';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/stack/temporal';
import { spawnWorkerProcess } from '../../src/stack/worker-process';
import { SEARCH_ATTRIBUTE_TYPES, TASK_QUEUE } from '../../src/temporal-names';
import { copyDir, startTestEnv, type TestEnv } from '../../test/support/env';
import { startHoldingProxy, type HoldingProxy } from '../../test/support/holding-proxy';
import { createTestKey, type KmsTestServer } from '../../test/support/kms-server';
import { localKmsPath, startLocalKms } from '../../test/support/local-kms';

const HELLO = path.resolve(__dirname, '../../examples/hello');

export interface KmsKey {
  /** The awskms:// reference through the KMS fault proxy. */
  ref: string;
  /** keys/<name>.pub, the GetPublicKey PEM, for the target's publicKey. */
  publicKey: string;
  pem: string;
}

export interface FaultStack {
  env: TestEnv;
  /** Adds a target to the worker's configuration (a worker started later sees it). */
  target(name: string, overrides?: Record<string, unknown>): TargetConfig;
  /** A copy of examples/hello whose VERSION file makes its digest unique to `name`. */
  source(name: string): Promise<string>;
  /** A fresh holding proxy in front of the registry, closed with the stack. */
  registryProxy(): Promise<HoldingProxy>;
  /** local-kms, started on first use; undefined when it is not installed. */
  kms(): Promise<KmsTestServer | undefined>;
  /** A platform key in local-kms, reached through `proxy` (a fault proxy in front of local-kms: kmsProxy()). */
  kmsKey(name: string, proxy: HoldingProxy): Promise<KmsKey>;
  /** A fresh holding proxy in front of local-kms, closed with the stack. */
  kmsProxy(): Promise<HoldingProxy>;
  /** Writes the configuration and starts a worker process; resolves once that process polls. */
  startWorker(): Promise<ChildProcess>;
  /** kill -9 of every worker process this stack started. */
  killWorkers(): Promise<void>;
  /** SIGKILL of the Temporal dev server; `restartTemporal` starts it again on the same database file and port. */
  killTemporal(): Promise<void>;
  restartTemporal(): Promise<void>;
  /** Stops the registry process (its data stays); `startRegistry` brings it back on the same port. */
  stopRegistry(): Promise<void>;
  startRegistry(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultStack(): Promise<FaultStack> {
  // Temporal and the registry are started again on their ports: ports from below the ephemeral range, which no outgoing connection takes meanwhile.
  const env = await startTestEnv({ stablePorts: true });
  const workers: ChildProcess[] = [];
  const proxies: HoldingProxy[] = [];
  let kms: KmsTestServer | undefined;
  let temporal: TemporalDevServer | undefined;
  let registry: RunningRegistry | undefined;
  let workerCount = 0;

  const killWorkers = async () => {
    for (const child of workers) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await gone;
    }
  };

  const stack: FaultStack = {
    env,
    target: (name, overrides = {}) => env.targetWith(overrides, name),
    source: async (name) => {
      const dir = await copyDir(HELLO, path.join(env.dir, 'src', name));
      await fs.writeFile(path.join(dir, 'VERSION'), `fault ${name}\n`);
      return dir;
    },
    registryProxy: async () => {
      const proxy = await startHoldingProxy(env.stack.registry.address);
      proxies.push(proxy);
      return proxy;
    },
    kms: async () => {
      if (kms) return kms;
      if (!localKmsPath()) return undefined;
      kms = await startLocalKms();
      Object.assign(env.workerEnv, kms.env);
      return kms;
    },
    kmsProxy: async () => {
      const server = await stack.kms();
      if (!server) throw new Error('local-kms is not installed: run `bash scripts/toolchain.sh local-kms`');
      const proxy = await startHoldingProxy(server.address);
      proxies.push(proxy);
      return proxy;
    },
    kmsKey: async (name, proxy) => {
      const server = (await stack.kms())!;
      const key = await createTestKey(server, { alias: `platform-${name}` });
      const pem = await new KmsSigner(key.ref, { env: server.env }).publicKeyPem();
      await fs.writeFile(path.join(env.keysDir, `kms-${name}.pub`), pem);
      return { ref: key.ref.replace(server.address, proxy.address), publicKey: `keys/kms-${name}.pub`, pem };
    },
    startWorker: async () => {
      const logFile = path.join(env.dir, `worker-${(workerCount += 1)}.log`);
      const workerEnv = { ...process.env, ...env.workerEnv, COUNTERSIGN_CONFIG: await env.writeConfigFile() };
      const child = spawnWorkerProcess({ address: env.stack.temporal.address, logFile, env: workerEnv });
      workers.push(child);
      await waitForPoller(env.stack.temporal.address, child, logFile);
      return child;
    },
    killWorkers,
    killTemporal: async () => {
      const pid = (temporal ?? env.stack.temporal).pid;
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 200 && isPidAlive(pid); i++) await sleep(50);
      if (isPidAlive(pid)) throw new Error(`the Temporal server (pid ${pid}) outlived SIGKILL`);
    },
    restartTemporal: async () => {
      temporal = await startTemporalDevServer({
        dbFile: env.stack.temporal.dbFile,
        port: env.stack.temporal.port,
        searchAttributes: SEARCH_ATTRIBUTE_TYPES,
        logFile: path.join(env.dir, 'temporal-restarted.log'),
      });
    },
    stopRegistry: async () => {
      await (registry ?? env.stack.registry).stop();
    },
    startRegistry: async () => {
      registry = await startRegistry({ rootDir: env.stack.registry.rootDir, port: env.stack.registry.port });
    },
    close: async () => {
      await killWorkers();
      for (const p of proxies) await p.close();
      await temporal?.stop();
      await registry?.stop();
      await env.close();
      await kms?.close();
    },
  };
  return stack;
}

/** Resolves once this worker process (not an earlier, killed one still listed) polls the task queue. */
async function waitForPoller(address: string, child: ChildProcess, logFile: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    for (let i = 0; ; i++) {
      const res = await connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: TASK_QUEUE }, taskQueueType: 1 });
      if ((res.pollers ?? []).some((p) => p.identity?.startsWith(`${child.pid}@`))) return;
      if (child.exitCode !== null || child.signalCode !== null || i > 480) {
        throw new Error(`worker ${child.pid} did not poll: ${(await fs.readFile(logFile, 'utf8').catch(() => '')).slice(-2000)}`);
      }
      await sleep(250);
    }
  } finally {
    await connection.close();
  }
}
