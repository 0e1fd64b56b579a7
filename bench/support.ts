/**
 * What every benchmark starts from: the embedded stack, bench keys, a target config, the worker as
 * its own process (so its memory can be read), and a client. Kept out of the measured loops.
 */
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { parseConfig, type TargetConfig } from '../src/config';
import { FileSigner, writeKeyPair } from '../src/keys/file-signer';
import type { Signer } from '../src/keys/signer';
import { startEmbeddedStack, type EmbeddedStack } from '../src/stack/embedded';
import { spawnWorkerProcess, waitForWorker } from '../src/stack/worker-process';

export const BENCH_PASSWORD = 'bench-only-passphrase';
export const BENCH_APPROVER = 'bench-approver';
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
  /** A target named `name` storing images at <registry>/<repositoryPath>. */
  target(name: string, repositoryPath: string, deadline?: string): TargetConfig;
  close(): Promise<void>;
}

export async function startBenchStack(prefix: string): Promise<BenchStack> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `countersign-${prefix}-`));
  const stack = await startEmbeddedStack({ dataDir: path.join(dir, 'data') });
  const keysDir = path.join(dir, 'keys');
  for (const name of ['dev', 'platform', BENCH_APPROVER]) await writeKeyPair(keysDir, name, BENCH_PASSWORD);
  const logFile = path.join(dir, 'worker.log');
  const worker = spawnWorkerProcess({
    address: stack.temporal.address,
    logFile,
    env: { ...process.env, COUNTERSIGN_DEV_KEY_PASSWORD: BENCH_PASSWORD, COUNTERSIGN_PLATFORM_KEY_PASSWORD: BENCH_PASSWORD, COUNTERSIGN_LOG_LEVEL: 'warn' },
  });
  await waitForWorker(stack.temporal.address, { pid: worker.pid, logFile });
  const connection = await Connection.connect({ address: stack.temporal.address });
  return {
    dir,
    keysDir,
    stack,
    client: new Client({ connection }),
    workerPid: worker.pid!,
    approver: await FileSigner.load(path.join(keysDir, `${BENCH_APPROVER}.key`), BENCH_PASSWORD),
    target: (name, repositoryPath, deadline = '1h') =>
      parseConfig(
        {
          approvers: { [BENCH_APPROVER]: { publicKey: `keys/${BENCH_APPROVER}.pub` } },
          targets: {
            [name]: {
              repository: `${stack.registry.address}/${repositoryPath}`,
              policy: { sourceRepo: BENCH_FACTS.sourceRepo, builderIds: [BENCH_FACTS.builderId] },
              approval: { approvers: [BENCH_APPROVER], deadline },
              keys: { developer: { key: 'keys/dev.key', publicKey: 'keys/dev.pub' }, platform: { key: 'keys/platform.key', publicKey: 'keys/platform.pub' } },
            },
          },
        },
        path.join(dir, 'countersign.yaml'),
      ).targets[name],
    close: async () => {
      worker.kill('SIGTERM');
      await connection.close();
      await stack.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
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
