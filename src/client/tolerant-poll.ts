/**
 * The one poll loop clients wait with: read a run's status until `settle` gives an answer. A busy
 * or restarting worker misses a status query now and then (and a workflow task the SDK retries
 * after its update/timer replay error, temporalio/sdk-typescript#1966, fails one run's query):
 * unanswered queries (STACK_ERROR) count as waiting, and only a long silence is an error.
 */
import { CountersignError } from '../errors';

export const DEFAULT_POLL_MS = 250;
/** How long status queries may go unanswered before the wait gives up. */
export const DEFAULT_UNANSWERED_LIMIT_MS = 120_000;

export interface PollOptions<S> {
  onUpdate?: (status: S) => void;
  pollMs?: number;
  unansweredLimitMs?: number;
}

export async function pollTolerantly<S, R>(read: () => Promise<S>, settle: (status: S) => Promise<R | undefined> | R | undefined, options: PollOptions<S> = {}): Promise<R> {
  const pause = () => new Promise((r) => setTimeout(r, options.pollMs ?? DEFAULT_POLL_MS));
  let unansweredSince: number | undefined;
  for (;;) {
    let status: S;
    try {
      status = await read();
      unansweredSince = undefined;
    } catch (err) {
      if (!(err instanceof CountersignError && err.code === 'STACK_ERROR')) throw err;
      unansweredSince ??= Date.now();
      if (Date.now() - unansweredSince > (options.unansweredLimitMs ?? DEFAULT_UNANSWERED_LIMIT_MS)) throw err;
      await pause();
      continue;
    }
    options.onUpdate?.(status);
    const settled = await settle(status);
    if (settled !== undefined) return settled;
    await pause();
  }
}
