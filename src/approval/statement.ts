/** The statement an approver signs, and its canonical bytes. No I/O: the workflow verifies it in its sandbox. */
import { APPROVAL_STATEMENT_TYPE } from './constants';

/** What an approver signs. Serialised with canonicalStatement(); the signature covers those bytes. */
export interface ApprovalStatement {
  _type: typeof APPROVAL_STATEMENT_TYPE;
  promotionId: string;
  /** The run the vote is for; required by every gate that publishes one (all current ones do). */
  runId?: string;
  digest: string;
  /**
   * The evidence pack's digest the approver decided on (src/evidence/pack.ts). A gate that shows a
   * pack (a promotion's) counts a vote only while its pack is still that one.
   */
  evidence?: string;
  decision: 'approve' | 'reject';
  reason?: string;
  approver: string;
  time: string;
}

/** Canonical statement bytes: fixed key order, no whitespace. */
export function canonicalStatement(statement: ApprovalStatement): string {
  const ordered: Record<string, unknown> = {
    _type: statement._type,
    approver: statement.approver,
    decision: statement.decision,
    digest: statement.digest,
    ...(statement.evidence !== undefined ? { evidence: statement.evidence } : {}),
    promotionId: statement.promotionId,
  };
  if (statement.runId !== undefined) ordered.runId = statement.runId;
  if (statement.reason !== undefined) ordered.reason = statement.reason;
  ordered.time = statement.time;
  return JSON.stringify(ordered);
}
