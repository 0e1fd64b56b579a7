/** A run's final status read as its result: the history's long poll, which the server answers when the run closes. */
import type { Client } from '@temporalio/client';
import { CountersignError } from '../errors';
import { answeredByWorker } from './worker-watchdog';

/**
 * The run's result when it is a final status (`isFinal`), followed across continue-as-new; undefined
 * when it cannot be read so (an unknown id, a run ended without a result, a lost connection, a
 * result of another shape): the caller's status read then says which.
 */
export async function finalResult<S extends { state: string }>(client: Client, id: string, finalStates: readonly string[], unansweredLimitMs?: number): Promise<S | undefined> {
  try {
    // A run waits at a gate for hours with nothing pending; a task no worker takes is said (STACK_ERROR).
    const result = (await answeredByWorker(client, id, () => client.workflow.getHandle(id).result(), { limitMs: unansweredLimitMs, watchEveryMs: LONG_WAIT_WATCH_EVERY_MS })) as S | undefined;
    return result && typeof result === 'object' && finalStates.includes(result.state) ? result : undefined;
  } catch (err) {
    if (err instanceof CountersignError && err.code === 'STACK_ERROR') throw err;
    return undefined;
  }
}

/** How often a wait for a run's end reads its description, to notice a task no worker takes: the server's, no worker's, work. */
const LONG_WAIT_WATCH_EVERY_MS = 30_000;

/** The least a caller's status read after untilRunCloses is given, even once `timeoutMs` has run out. */
const STATUS_READ_MS = 120_000;

/**
 * Resolves once the run has closed, however it ended (its result's long poll answered or failed),
 * or once `timeoutMs` has passed: for a wait of hours (co-signers, a gate) that asks no worker
 * anything meanwhile. The caller then reads the status once, as it would have polled it, within
 * the time this resolves with: what is left of `timeoutMs`, and at least 120 s.
 */
export async function untilRunCloses(client: Client, id: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  const closed = client.workflow.getHandle(id).result().then(
    () => undefined,
    () => undefined,
  );
  try {
    await Promise.race([closed, timedOut]);
  } finally {
    clearTimeout(timer);
  }
  return Math.max(timeoutMs - (Date.now() - started), STATUS_READ_MS);
}
