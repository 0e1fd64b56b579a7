/**
 * Where one run's time goes, read from its workflow history, in phases that mean the same for a
 * promotion and for the floor: every moment from the first event to the last is given to what the
 * run was waiting on then. A workflow task running on the worker (for a promotion, the local
 * steps run inside it), one queued on the server, a queued activity running or waiting for a
 * worker, or none of these: the run waits outside (the gate, until the client's approval comes).
 * Where two overlap, the first named in PHASES counts. Used by npm run bench at level 1, so a
 * cut is chosen by figures, not guesses. Event times are taken to the nanosecond the server records.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Run phases, in the order they are reported; `total` is first event to last. */
export const PHASES = ['workflow task running', 'workflow task queued', 'activity running', 'activity queued', 'outside (gate, approval round trip)', 'total'] as const;
export type Phase = (typeof PHASES)[number];
export type PhaseTimes = Record<Phase, number>;

/** One run's time in each phase, in ms. */
export async function phaseTimes(client: Client, workflowId: string): Promise<PhaseTimes> {
  return phasesOf((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []);
}

export function phasesOf(events: HistoryEvent[]): PhaseTimes {
  // Intervals, not gaps between events: the server writes an activity's started event only when it
  // completes (with the time it started), so events are not in time order.
  const intervals: Array<{ phase: Phase; from: number; to: number }> = [];
  const at = new Map(events.map((e) => [String(e.eventId), exactMs(e)]));
  const from = (id: unknown) => at.get(String(id));
  const add = (phase: Phase, start: number | undefined, end: number) => {
    if (start !== undefined && end > start) intervals.push({ phase, from: start, to: end });
  };
  for (const event of events) {
    const now = exactMs(event);
    const taskStarted = event.workflowTaskStartedEventAttributes;
    if (taskStarted) add('workflow task queued', from(taskStarted.scheduledEventId), now);
    const taskEnded = event.workflowTaskCompletedEventAttributes ?? event.workflowTaskFailedEventAttributes ?? event.workflowTaskTimedOutEventAttributes;
    if (taskEnded) add('workflow task running', from(taskEnded.startedEventId), now);
    const activityStarted = event.activityTaskStartedEventAttributes;
    if (activityStarted) add('activity queued', from(activityStarted.scheduledEventId), now);
    const activityEnded =
      event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    if (activityEnded) add('activity running', from(activityEnded.startedEventId), now);
  }
  const out = Object.fromEntries(PHASES.map((p) => [p, 0])) as PhaseTimes;
  if (events.length === 0) return out;
  const times = events.map(exactMs);
  const [first, last] = [Math.min(...times), Math.max(...times)];
  // Each stretch between two boundaries goes to the first phase (in PHASES order) covering it.
  const bounds = [...new Set([first, last, ...intervals.flatMap((i) => [i.from, i.to])])].filter((t) => t >= first && t <= last).sort((a, b) => a - b);
  for (let k = 1; k < bounds.length; k++) {
    const [start, end] = [bounds[k - 1], bounds[k]];
    const covering = intervals.filter((i) => i.from <= start && i.to >= end).map((i) => PHASES.indexOf(i.phase));
    const phase = covering.length > 0 ? PHASES[Math.min(...covering)] : 'outside (gate, approval round trip)';
    out[phase] += end - start;
  }
  out.total = last - first;
  return out;
}

/** The median of each phase over several runs, with the fastest and slowest, in ms to a tenth. */
export function medianPhases(runs: PhaseTimes[]): Array<{ phase: Phase; p50Ms: number; minMs: number; maxMs: number }> {
  const tenth = (x: number) => Math.round(x * 10) / 10;
  return PHASES.map((phase) => {
    const xs = runs.map((r) => r[phase]).sort((a, b) => a - b);
    return { phase, p50Ms: tenth(xs[Math.floor((xs.length - 1) / 2)]), minMs: tenth(xs[0]), maxMs: tenth(xs.at(-1)!) };
  });
}

function exactMs(event: HistoryEvent): number {
  const time = event.eventTime;
  return Number(time?.seconds ?? 0) * 1000 + (time?.nanos ?? 0) / 1e6;
}
