/**
 * What every benchmark starts from: the embedded stack, bench keys, a target config, the worker as
 * its own process (so its memory can be read), and a client. Kept out of the measured loops.
 */
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import YAML from 'yaml';
import { startPromotion, type PromoteRequest, type PromoteResult } from '../src/client/promotions';
import { FileSigner, writeKeyPair } from '../src/keys/file-signer';
import type { Signer } from '../src/keys/signer';
import { startEmbeddedStack, type EmbeddedStack } from '../src/stack/embedded';
import { spawnWorkerProcess, waitForWorker } from '../src/stack/worker-process';

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
  approver: Signer;
  /** Starts a promotion with a start request signed by the bench initiator. */
  promote(request: Omit<PromoteRequest, 'initiator' | 'signer'>): Promise<PromoteResult>;
  /** `<registry>/<repositoryPath>` of a target. */
  repository(repositoryPath: string): string;
  close(): Promise<void>;
}

/** A target the worker's configuration holds: images at <registry>/<repositoryPath>. */
export interface BenchTarget {
  repositoryPath: string;
  deadline?: string;
}

/** The worker is the authority, so the bench writes the worker's configuration with every target it will use. */
export async function startBenchStack(prefix: string, targets: Record<string, BenchTarget>): Promise<BenchStack> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `countersign-${prefix}-`));
  const stack = await startEmbeddedStack({ dataDir: path.join(dir, 'data') });
  const keysDir = path.join(dir, 'keys');
  for (const name of ['dev', 'platform', BENCH_APPROVER, BENCH_INITIATOR]) await writeKeyPair(keysDir, name, BENCH_PASSWORD);
  const configFile = path.join(dir, 'countersign.yaml');
  await fs.writeFile(configFile, YAML.stringify(benchConfig(stack.registry.address, dir, targets)));
  const logFile = path.join(dir, 'worker.log');
  const worker = spawnWorkerProcess({
    address: stack.temporal.address,
    logFile,
    env: {
      ...process.env,
      COUNTERSIGN_CONFIG: configFile,
      COUNTERSIGN_DEV_KEY_PASSWORD: BENCH_PASSWORD,
      COUNTERSIGN_PLATFORM_KEY_PASSWORD: BENCH_PASSWORD,
      COUNTERSIGN_LOG_LEVEL: 'warn',
    },
  });
  await waitForWorker(stack.temporal.address, { pid: worker.pid, logFile });
  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection });
  const initiator = await FileSigner.load(path.join(keysDir, `${BENCH_INITIATOR}.key`), BENCH_PASSWORD);
  return {
    dir,
    keysDir,
    stack,
    client,
    workerPid: worker.pid!,
    approver: await FileSigner.load(path.join(keysDir, `${BENCH_APPROVER}.key`), BENCH_PASSWORD),
    promote: (request) => startPromotion(client, { ...request, initiator: BENCH_INITIATOR, signer: initiator }),
    repository: (repositoryPath) => `${stack.registry.address}/${repositoryPath}`,
    close: async () => {
      worker.kill('SIGTERM');
      await connection.close();
      await stack.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
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
          approval: { approvers: [BENCH_APPROVER], deadline: t.deadline ?? '1h' },
        },
      ]),
    ),
  };
}

/** Current and peak resident memory of a process, from /proc. */
export function processMemoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

export function markdownTable(header: string[], rows: Array<Array<string | number>>): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---:').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
