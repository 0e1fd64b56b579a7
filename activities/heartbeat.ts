import { Context } from '@temporalio/activity';

/** How often a long step heartbeats at most; a third of its heartbeat timeout when that is shorter. */
export const HEARTBEAT_EVERY_MS = 5_000;

/**
 * Runs `fn` while heartbeating for as long as it runs, so a slow call (a throttled KMS, a slow
 * registry) is never taken for a dead worker, and a worker that does die is noticed within the
 * heartbeat timeout. `fn` gets the attempt's cancellation signal: it fires when Temporal has
 * given up on this attempt (cancelled, timed out, superseded), and a step then writes nothing.
 */
export async function whileHeartbeating<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const context = Context.current();
  // A local activity has no heartbeat of its own: the worker running it keeps its workflow task alive.
  if (context.info.isLocal) return fn(context.cancellationSignal);
  const timeoutMs = context.info.heartbeatTimeoutMs;
  const everyMs = timeoutMs ? Math.max(100, Math.min(HEARTBEAT_EVERY_MS, Math.floor(timeoutMs / 3))) : HEARTBEAT_EVERY_MS;
  // No heartbeat at the start: Temporal times the first from the attempt's start, so a worker
  // that dies at once is noticed all the same, and a step over in milliseconds (most are) costs
  // the server no heartbeat write at all.
  const timer = setInterval(() => context.heartbeat(), everyMs);
  try {
    return await fn(context.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}
