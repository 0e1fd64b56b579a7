/**
 * The step timeline every workflow keeps for `status`: enter a state (mirrored into the
 * CountersignState search attribute, which `list` filters on), begin a step, finish it with an
 * outcome, or record it as skipped. Times come from the workflow clock. No I/O.
 */
import { ActivityFailure, ApplicationFailure, upsertSearchAttributes } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES } from './promotion-messages';

interface Entry {
  step: string;
  status: string;
  startedAt: string;
  finishedAt?: string;
  detail?: string;
  error?: string;
}

export function stepTimeline<E extends Entry, State extends string>(status: { state: State; timeline: E[] }) {
  const enter = (state: State): void => {
    status.state = state;
    upsertSearchAttributes({ [SEARCH_ATTRIBUTES.state]: [state] });
  };
  return {
    enter,
    begin(step: E['step'], state: State): E {
      enter(state);
      const entry = { step, status: 'running', startedAt: new Date().toISOString() } as E;
      status.timeline.push(entry);
      return entry;
    },
    finish(entry: E, outcome: E['status'], detail?: string): void {
      entry.status = outcome;
      entry.finishedAt = new Date().toISOString();
      if (detail) entry.detail = detail;
    },
    skip(step: E['step'], detail: string): void {
      const at = new Date().toISOString();
      status.timeline.push({ step, status: 'skipped', startedAt: at, finishedAt: at, detail } as E);
    },
  };
}

/** "CODE: message" for an activity's failure, or the error's own message. */
export function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const text = cause.message ?? '';
    return cause.type && !text.startsWith(`${cause.type}:`) ? `${cause.type}: ${text}` : text;
  }
  return cause instanceof Error ? cause.message : String(cause);
}
