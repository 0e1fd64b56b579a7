import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CountersignError } from '../errors';
import { connectTemporalClient } from '../temporal/connect';
import type { TemporalTls } from '../temporal/connection';
import { TASK_QUEUE } from '../temporal-names';
import { readFileTail } from './service';

export const WORKER_ENTRY = path.resolve(__dirname, '../../workers/main.ts');

/**
 * tsx's loader as a file URL resolved from this project. A bare `--import tsx` is resolved from the
 * child's working directory, so a worker started from any folder but the repository's died with
 * "Cannot find package 'tsx'".
 */
export const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

/**
 * Starts the worker as its own process (node + tsx), optionally detached so it outlives the CLI.
 * Its environment is `env` (this process's by default), so key passphrases and the TEMPORAL_TLS_*
 * settings reach it; for the plain loopback dev stack pass plainTemporalEnv(env).
 */
export function spawnWorkerProcess(opts: { address: string; namespace?: string; logFile: string; detached?: boolean; env?: NodeJS.ProcessEnv; /** Extra node flags (the bench's --cpu-prof, which NODE_OPTIONS refuses). */ nodeArgs?: string[] }) {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const out = fs.openSync(opts.logFile, 'a');
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', TSX_LOADER, WORKER_ENTRY], {
    env: {
      ...(opts.env ?? process.env),
      TEMPORAL_ADDRESS: opts.address,
      TEMPORAL_NAMESPACE: opts.namespace ?? 'default',
      COUNTERSIGN_LOG_FORMAT: 'json',
    },
    stdio: ['ignore', out, out],
    detached: opts.detached ?? false,
  });
  fs.closeSync(out);
  if (opts.detached) child.unref();
  return child;
}

/** Resolves once a worker polls the countersign task queue (or `taskQueue`; asked over `tls` when given); fails early if `pid` dies. */
export async function waitForWorker(
  address: string,
  opts: { namespace?: string; tls?: TemporalTls; pid?: number; logFile?: string; timeoutMs?: number; taskQueue?: string } = {},
): Promise<void> {
  const connection = await connectTemporalClient({ address, tls: opts.tls });
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  try {
    for (;;) {
      const res = await connection.workflowService.describeTaskQueue({
        namespace: opts.namespace ?? 'default',
        taskQueue: { name: opts.taskQueue ?? TASK_QUEUE },
        taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
      });
      if ((res.pollers ?? []).length > 0) return;
      if (opts.pid !== undefined && !alive(opts.pid)) {
        const tail = opts.logFile ? readFileTail(opts.logFile, 4000) : '';
        throw new CountersignError('STACK_ERROR', `the worker exited during startup${tail ? `:\n${tail}` : ''}`);
      }
      if (Date.now() > deadline) throw new CountersignError('STACK_ERROR', `no worker polled task queue ${opts.taskQueue ?? TASK_QUEUE} within ${opts.timeoutMs ?? 60_000} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await connection.close();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
