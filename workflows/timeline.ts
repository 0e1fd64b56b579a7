/**
 * The step timeline every workflow keeps for `status`: enter a state (mirrored into the
 * CountersignState search attribute, which `list` filters on), begin a step, finish it with an
 * outcome, or record it as skipped. Times come from the workflow clock. No I/O.
 */
import { ActivityFailure, ApplicationFailure, patched, upsertSearchAttributes } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES } from './promotion-messages';

interface Entry {
  step: string;
  status: string;
  startedAt: string;
  finishedAt?: string;
  detail?: string;
  error?: string;
}

/** The ends every run can come to besides its own success. */
type Ending = 'REJECTED' | 'EXPIRED' | 'FAILED';

/** Marks runs that leave `unlisted` states out of the search attribute; runs without it upsert every state, as before. */
export const UNLISTED_STATES_PATCH = 'unlisted-states-not-upserted';

/**
 * `unlisted`: states no listing asks for, kept out of the CountersignState search attribute (each
 * upsert is a visibility write on the server); the attribute keeps the state before them.
 */
export function stepTimeline<E extends Entry, State extends string>(
  status: { state: State | Ending; timeline: E[]; error?: string },
  options: { unlisted?: readonly State[]; /** The workflow's own version marker already implies UNLISTED_STATES_PATCH. */ unlistedWithoutMarker?: boolean } = {},
) {
  const enter = (state: State | Ending): void => {
    status.state = state;
    // patched() only where a state is skipped, so histories from before the patch replay unchanged.
    if ((options.unlisted ?? []).includes(state as State) && (options.unlistedWithoutMarker || patched(UNLISTED_STATES_PATCH))) return;
    upsertSearchAttributes({ [SEARCH_ATTRIBUTES.state]: [state] });
  };
  const finish = (entry: E, outcome: E['status'], detail?: string): void => {
    entry.status = outcome;
    entry.finishedAt = new Date().toISOString();
    if (detail) entry.detail = detail;
  };
  return {
    enter,
    begin(step: E['step'], state: State): E {
      enter(state);
      const entry = { step, status: 'running', startedAt: new Date().toISOString() } as E;
      status.timeline.push(entry);
      return entry;
    },
    finish,
    /** A verification found problems: the step and the run end REJECTED, every failed check listed. */
    rejectChecks(entry: E, checks: ReadonlyArray<{ ok: boolean; message: string }>): void {
      const failed = checks.filter((c) => !c.ok).map((c) => c.message);
      finish(entry, 'rejected', `${failed.length} check(s) failed`);
      entry.error = failed.join('; ');
      status.error = `VERIFICATION_FAILED: ${failed.join('; ')}`;
      enter('REJECTED');
    },
    /** When the approval gate closed without approval, the step and the run end as it did (true). */
    endedAtGate(entry: E, outcome: { state: 'APPROVED' | 'REJECTED' | 'EXPIRED'; summary: string }): boolean {
      if (outcome.state === 'APPROVED') return false;
      finish(entry, outcome.state === 'EXPIRED' ? 'expired' : 'rejected', outcome.summary);
      status.error = `${outcome.state}: ${outcome.summary}`;
      enter(outcome.state);
      return true;
    },
    /** An activity failed for good: the running step (if one is) and the run end FAILED with the reason. */
    fail(entry: E | undefined, err: unknown): void {
      const message = failureMessage(err);
      if (entry && entry.status === 'running') {
        finish(entry, 'failed');
        entry.error = message;
      }
      status.error = message;
      enter('FAILED');
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
