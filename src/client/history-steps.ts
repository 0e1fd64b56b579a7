/**
 * The activities a run took, read from its history, whether queued through the server (an
 * ActivityTaskScheduled event, then its completion) or run by the worker beside the workflow
 * task (a local activity: one `core_local_activity` marker, written once it finished).
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;

/** The marker the SDK's core writes for each local activity that finished (succeeded or failed). */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

export interface RunStep {
  /** The activity type. */
  name: string;
  local: boolean;
  /** The attempt that finished (local) or last started (queued); 0 when not known. */
  attempt: number;
  /** The result, when the step completed: decode it with `stepResult`. */
  result?: Payload;
  /** Queued steps: scheduled and completed times (ms since the epoch) from their events. */
  scheduledAtMs?: number;
  completedAtMs?: number;
}

/** Every activity step in `events`, in the order it was scheduled (local ones in the order recorded). */
export function stepsOf(events: HistoryEvent[]): RunStep[] {
  const steps: RunStep[] = [];
  const queued = new Map<string, RunStep>();
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const step: RunStep = { name: scheduled.activityType?.name ?? '?', local: false, attempt: 0, scheduledAtMs: timeOf(event) };
      queued.set(String(event.eventId), step);
      steps.push(step);
    }
    const started = event.activityTaskStartedEventAttributes;
    const startedStep = started && queued.get(String(started.scheduledEventId));
    if (startedStep) startedStep.attempt = started.attempt ?? 0;
    const completed = event.activityTaskCompletedEventAttributes;
    const completedStep = completed && queued.get(String(completed.scheduledEventId));
    if (completedStep) {
      completedStep.completedAtMs = timeOf(event);
      completedStep.result = completed.result?.payloads?.[0] ?? undefined;
    }
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName === LOCAL_ACTIVITY_MARKER) {
      const data = decode<{ activity_type?: string; attempt?: number }>(marker.details?.data?.payloads?.[0]);
      const succeeded = !marker.failure;
      steps.push({
        name: data?.activity_type ?? '?',
        local: true,
        attempt: data?.attempt ?? 0,
        ...(succeeded ? { result: marker.details?.result?.payloads?.[0] ?? undefined } : {}),
      });
    }
  }
  return steps;
}

/** A completed step's result (undefined when it has none or it does not decode). */
export function stepResult<T>(step: RunStep | undefined): T | undefined {
  return decode<T>(step?.result);
}

function decode<T>(payload: Payload | null | undefined): T | undefined {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload<T>(payload);
  } catch {
    return undefined;
  }
}

/** Event time in ms; `seconds` is a Long from the client and a number from historyFromJSON. */
function timeOf(event: HistoryEvent): number {
  const t = event.eventTime;
  if (!t) return 0;
  const seconds = typeof t.seconds === 'number' ? t.seconds : Number(t.seconds?.toString() ?? 0);
  return seconds * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}
