/**
 * The approval gate as the governance workflows (key ceremony, revocation, root, campaign) use it:
 * opened with no policy before the worker has resolved the plan, configured from the plan, then
 * run; a gate that does not approve ends the workflow in its own state with the gate's summary.
 * No I/O here; safe inside the workflow bundle.
 */
import { ApprovalGate } from './approval-gate';
import type { ApprovalPolicy, ApprovalView, GateSubject } from './approval-messages';

/** Until the plan is resolved the gate has no policy: every statement is refused as "not yet at the approval step". */
export const NO_POLICY: ApprovalPolicy = { groups: [], vetoOnReject: true, deadlineMs: 0, roster: {} };

/** The gate of a governance workflow before its plan exists. */
export function governanceGate(id: string, runId: string, noun: string): ApprovalGate {
  return new ApprovalGate({ id, runId, digest: '', initiator: '', noun }, NO_POLICY);
}

/** What a governance workflow's status shares: the gate's view, and the state and error it ends with (its states include REJECTED and EXPIRED). */
interface GatedStatus {
  state: string;
  approval: ApprovalView;
  error?: string;
}

/**
 * Configures the gate from the plan, sets `waiting` while it is open, and runs it. True when it
 * approved; otherwise the status is REJECTED or EXPIRED with the gate's summary, and false.
 */
export async function passGate<T extends GatedStatus>(gate: ApprovalGate, subject: GateSubject, policy: ApprovalPolicy, status: T, waiting: T['state']): Promise<boolean> {
  gate.configure(subject, policy);
  status.state = waiting;
  const outcome = await gate.run();
  status.approval = gate.view();
  if (outcome.state === 'APPROVED') return true;
  status.state = outcome.state as T['state'];
  status.error = `${outcome.state}: ${outcome.summary}`;
  return false;
}
