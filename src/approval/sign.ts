import type { Signer } from '../keys/signer';
import { APPROVAL_STATEMENT_TYPE } from './constants';
import { canonicalStatement, type ApprovalStatement } from './statement';
import type { SignedStatement as SignedDecision } from '../requests/statement';

export interface DecisionInput {
  promotionId: string;
  /** The run the gate names (ApprovalView.subject.runId). */
  runId?: string;
  digest: string;
  /** The evidence pack's digest the gate shows (ApprovalView.evidence.digest), when it shows one. */
  evidence?: string;
  decision: 'approve' | 'reject';
  reason?: string;
  approver: string;
  time?: Date;
}

/** Builds the approval statement and signs its exact bytes with the approver's key. */
export async function signDecision(input: DecisionInput, signer: Signer): Promise<SignedDecision> {
  const statement: ApprovalStatement = {
    _type: APPROVAL_STATEMENT_TYPE,
    promotionId: input.promotionId,
    ...(input.runId !== undefined ? { runId: input.runId } : {}),
    digest: input.digest,
    ...(input.evidence !== undefined ? { evidence: input.evidence } : {}),
    decision: input.decision,
    reason: input.reason?.trim() ? input.reason.trim() : undefined,
    approver: input.approver,
    time: (input.time ?? new Date()).toISOString(),
  };
  const text = canonicalStatement(statement);
  const signature = await signer.sign(Buffer.from(text, 'utf8'));
  return { statement: text, signature: signature.toString('base64') };
}
