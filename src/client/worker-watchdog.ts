/**
 * An update waits for a worker to take the run's workflow task; with no worker polling, Temporal
 * holds it and the SDK asks again for ever. `answeredByWorker` gives up instead, as the status
 * poll does when its queries go unanswered: when the run has had a workflow task waiting for a
 * worker for longer than the limit (read from the server's description, which no worker answers;
 * first read only after a few seconds, so a prompt answer costs nothing), the call is cancelled
 * and STACK_ERROR says so. A task a worker is running (a long build, a slow registry) is waited
 * for however long it takes. Every kind of task is seen: a new run's first, a timer's, a
 * signal's, and an update's (a vote, or waitForGate on a run already parked), which the
 * description shows as scheduled too (test/client/no-worker.test.ts). A given-up update stays
 * with the server meanwhile, in memory: a worker that comes later may still apply it.
 */
import type { Client } from '@temporalio/client';
import { CountersignError } from '../errors';
import { DEFAULT_UNANSWERED_LIMIT_MS } from './tolerant-poll';

/** How often the description is read while an answer expected soon (the gate) is awaited. */
const WATCH_EVERY_MS = 5_000;

/** temporal.api.enums.v1.PendingWorkflowTaskState: scheduled, no worker has it yet. */
const TASK_SCHEDULED = 1;

export interface WatchOptions {
  /** How long the run's workflow task may wait for a worker (default 120 s). */
  limitMs?: number;
  /** How often the run's description is read (default 5 s: an answer expected soon). */
  watchEveryMs?: number;
  /** Said after giving up, for what the call leaves behind (a vote the server still holds). */
  meanwhile?: string;
}

export async function answeredByWorker<T>(client: Client, workflowId: string, call: () => Promise<T>, options: WatchOptions = {}): Promise<T> {
  const { limitMs = DEFAULT_UNANSWERED_LIMIT_MS, watchEveryMs = WATCH_EVERY_MS } = options;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const unanswered = new Promise<never>((_, reject) => {
    const watch = async () => {
      if (settled) return;
      try {
        const waitingMs = await taskWaitingMs(client, workflowId);
        if (waitingMs !== undefined && waitingMs > limitMs) {
          reject(
            new CountersignError(
              'STACK_ERROR',
              `no worker took ${workflowId}'s workflow task in ${Math.round(waitingMs / 1000)} s (is a countersign worker running and polling its task queue?); the run is kept and goes on once a worker takes it${options.meanwhile ? `. ${options.meanwhile}` : ''}`,
            ),
          );
          controller.abort();
          return;
        }
      } catch {
        // The description could not be read now (a restarting server): read it again next time.
      }
      if (!settled) timer = setTimeout(() => void watch(), Math.min(watchEveryMs, limitMs));
    };
    timer = setTimeout(() => void watch(), Math.min(watchEveryMs, limitMs));
  });
  const answer = client.withAbortSignal(controller.signal, call);
  try {
    return await Promise.race([answer, unanswered]);
  } finally {
    settled = true;
    clearTimeout(timer);
    // Once given up, the cancelled call's own error is not this call's answer.
    answer.catch(() => undefined);
  }
}

/** How long the run's pending workflow task has waited for a worker, or undefined when a worker has it (or none is pending). */
async function taskWaitingMs(client: Client, workflowId: string): Promise<number | undefined> {
  const { raw } = await client.workflow.getHandle(workflowId).describe();
  const task = raw.pendingWorkflowTask;
  if (!task || task.state !== TASK_SCHEDULED || !task.scheduledTime) return undefined;
  const scheduledMs = Number(task.scheduledTime.seconds ?? 0) * 1000 + Math.floor((task.scheduledTime.nanos ?? 0) / 1e6);
  return Date.now() - scheduledMs;
}
