/**
 * Where one promotion's time goes, read from its workflow history: each activity from scheduled
 * to completed (queueing and retries included), and the rest of the run (workflow tasks, the gate,
 * the approval's round trip) as what is left of first event -> last event. Used by npm run bench
 * at level 1, so a cut is chosen by figures, not guesses.
 */
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';

export type StepTimes = Record<string, number>;

/** One run's activity times in ms, by activity type (summed when a type runs twice), plus `total` and `outside activities`. */
export async function stepTimes(client: Client, workflowId: string): Promise<StepTimes> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Map<string, { name: string; at: number }>();
  const out: StepTimes = {};
  let inActivities = 0;
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), { name: s.activityType?.name ?? '?', at: tsToMs(e.eventTime) });
    const done = e.activityTaskCompletedEventAttributes;
    const from = done && scheduled.get(String(done.scheduledEventId));
    if (from) {
      const ms = tsToMs(e.eventTime) - from.at;
      out[from.name] = (out[from.name] ?? 0) + ms;
      inActivities += ms;
    }
  }
  if (events.length > 0) {
    out.total = tsToMs(events.at(-1)!.eventTime) - tsToMs(events[0].eventTime);
    out['outside activities'] = out.total - inActivities;
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
