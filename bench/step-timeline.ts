/**
 * Where one promotion's time goes, read from its workflow history: each queued activity from
 * scheduled to completed (queueing and retries included), and the rest of the run as what is left
 * of first event -> last event: workflow tasks, the local steps run inside them (their markers
 * carry no reliable duration; every step of a promotion started since LOCAL_PROD_SIGN_PATCH is
 * one), the gate and the approval's round trip. Used by npm run bench at level 1, so a cut is
 * chosen by figures, not guesses.
 */
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { stepsOf } from '../src/client/history-steps';

export type StepTimes = Record<string, number>;

/** The name under which everything but the queued activities is reported. */
export const OUTSIDE = 'workflow tasks, local steps, gate';

/** One run's queued activity times in ms, by activity type (summed when a type runs twice), plus `total` and OUTSIDE. */
export async function stepTimes(client: Client, workflowId: string): Promise<StepTimes> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const out: StepTimes = {};
  let inActivities = 0;
  for (const step of stepsOf(events)) {
    if (step.local || step.scheduledAtMs === undefined || step.completedAtMs === undefined) continue;
    const ms = step.completedAtMs - step.scheduledAtMs;
    out[step.name] = (out[step.name] ?? 0) + ms;
    inActivities += ms;
  }
  if (events.length > 0) {
    out.total = spanMs(events);
    out[OUTSIDE] = out.total - inActivities;
  }
  return out;
}

/** The median of each step over several runs, in the order the first run took them. */
export function medianSteps(runs: StepTimes[]): Array<{ step: string; p50Ms: number; minMs: number; maxMs: number }> {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  return names.map((step) => {
    const xs = runs.map((r) => r[step]).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    return { step, p50Ms: xs[Math.floor((xs.length - 1) / 2)], minMs: xs[0], maxMs: xs.at(-1)! };
  });
}

/** First event to last of a run's history, in ms: the run as the server saw it, without the client's calls around it. */
export async function historySpanMs(client: Client, workflowId: string): Promise<number> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return events.length > 0 ? spanMs(events) : NaN;
}

function spanMs(events: Array<{ eventTime?: Parameters<typeof tsToMs>[0] | null }>): number {
  return tsToMs(events.at(-1)!.eventTime) - tsToMs(events[0].eventTime);
}
