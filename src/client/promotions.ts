/**
 * The client side of promotions: starting one (start-promotion.ts), its status and waiting on it
 * (promotion-status.ts), re-opening, the approval gate and decisions, and listing.
 */
import { Client, WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowExecutionDescription } from '@temporalio/client';
import { CountersignError } from '../errors';
import { answeredByWorker } from './worker-watchdog';
import { CHART_RELEASE_ID } from '../helm/id';
import { CHART_RELEASE_WORKFLOW_TYPE } from '../../workflows/chart-release-messages';
import { signDecision } from '../approval/sign';
import type { Signer } from '../keys/signer';
import type { ApprovalView, SignedDecision } from '../../workflows/approval-messages';
import { signStatement } from '../requests/sign';
import type { SignedStatement } from '../requests/statement';
import { REOPEN_STATEMENT_TYPE, type ReopenStatement } from '../requests/reopen';
import { listPriorRuns } from './prior-runs';
import { describeOrUndefined } from './run-description';
import { DIGEST_KEY, STATE_KEY, TARGET_KEY } from './start-promotion';
import { PROMOTION_WORKFLOW_TYPE, SEARCH_ATTRIBUTES, approvalQuery, decideUpdate, type PromotionState } from '../../workflows/promotion-messages';

export * from './start-promotion';
export * from './promotion-status';

/** Signs a re-open of a promotion's (or chart release's) rejected run, for the initiator to pass to the next start. */
export async function signReopen(
  client: Client,
  promotionIdToReopen: string,
  request: { reopener: string; reason: string; signer: Signer },
): Promise<SignedStatement> {
  if (!request.reason.trim()) throw new CountersignError('BAD_INPUT', 'a re-open needs a reason (--reason)');
  const description = await describeOrUndefined(client, promotionIdToReopen);
  if (!description || (description.type !== PROMOTION_WORKFLOW_TYPE && description.type !== CHART_RELEASE_WORKFLOW_TYPE)) {
    throw new CountersignError('UNKNOWN_PROMOTION', `no promotion or chart release with id "${promotionIdToReopen}"`);
  }
  // The run that decided: refused starts since then ran nothing (the worker skips them the same way).
  const last = (await listPriorRuns(client, promotionIdToReopen, '')).find((r) => r.status !== 'RUNNING' && r.state !== 'REFUSED');
  if (description.status.name === 'RUNNING' || last?.state !== 'REJECTED') {
    const state = description.status.name === 'RUNNING' ? 'running' : (last?.state ?? description.status.name);
    throw new CountersignError('BAD_INPUT', `${promotionIdToReopen} is ${state}; only a REJECTED promotion is re-opened`);
  }
  // A promotion's result names its digest; a chart release's, its package's sha256.
  const rejected = (await client.workflow.getHandle(promotionIdToReopen, last.runId).result()) as { digest?: string; sha256?: string };
  const statement: ReopenStatement = {
    _type: REOPEN_STATEMENT_TYPE,
    promotionId: promotionIdToReopen,
    rejectedRunId: last.runId,
    digest: rejected.digest ?? `sha256:${rejected.sha256}`,
    reopener: request.reopener,
    reason: request.reason.trim(),
    time: new Date().toISOString(),
  };
  return signStatement(statement, request.signer);
}


/** No run with this id, named as what the id says it is (approve and status serve chart releases too). */
function unknownGatedRun(id: string): CountersignError {
  return CHART_RELEASE_ID.test(id)
    ? new CountersignError('UNKNOWN_PROMOTION', `no chart release with id "${id}"`)
    : new CountersignError('UNKNOWN_PROMOTION', `no promotion with id "${id}" (see countersign list)`);
}

/** The approval gate of a promotion (or any workflow with the gate): who is needed, by when. */
export async function getApproval(client: Client, id: string): Promise<ApprovalView> {
  const description = await describeOrUndefined(client, id);
  if (!description) throw unknownGatedRun(id);
  if (description.status.name !== 'RUNNING') throw await endedRefusal(client, id, description);
  try {
    return await client.workflow.getHandle(id).query(approvalQuery);
  } catch (cause) {
    throw new CountersignError('STACK_ERROR', `no worker answered for ${id} in time (is a countersign worker running?)`, { cause });
  }
}

/**
 * The refusal for a decision on a closed workflow. "Completed" alone does not tell an approver
 * whether they were too late (EXPIRED), outvoted (REJECTED) or not needed (PROMOTED), so the
 * workflow's own final state and its gate's summary are read from the result.
 */
async function endedRefusal(client: Client, id: string, description: WorkflowExecutionDescription): Promise<CountersignError> {
  const closedAt = description.closeTime?.toISOString();
  let state: string = description.status.name;
  let summary: string | undefined;
  if (description.status.name === 'COMPLETED') {
    // Every workflow with the gate (promotion, chart release, key ceremony) returns { state, approval }.
    const result = (await client.workflow.getHandle(id, description.runId).result()) as { state?: unknown; approval?: { summary?: unknown } } | undefined;
    if (typeof result?.state === 'string') state = result.state;
    if (typeof result?.approval?.summary === 'string') summary = result.approval.summary;
  }
  return new CountersignError(
    'APPROVAL_REFUSED',
    `${id} has ended: ${state}${closedAt ? ` at ${closedAt}` : ''}${summary ? ` (${summary})` : ''}; it is not awaiting approval`,
    { details: { state, closedAt } },
  );
}

/** Signs a decision as `approver` for the subject the gate names, and sends it. */
export async function signAndDecide(
  client: Client,
  id: string,
  request: {
    approver: string;
    decision: 'approve' | 'reject';
    reason?: string;
    signer: Signer;
    evidence?: string;
    /**
     * The gate's view the caller already holds (waitForGate's answer carries it), to sign over
     * without asking again. The run checks the statement either way: a view out of date signs
     * over a pack or run it no longer shows, and the vote is refused.
     */
    view?: ApprovalView;
    /** How long the vote may wait for a worker before STACK_ERROR (default 120 s; see src/client/worker-watchdog.ts). */
    unansweredLimitMs?: number;
  },
): Promise<ApprovalView> {
  const view = request.view ?? (await getApproval(client, id));
  const signed = await signDecision(
    {
      promotionId: view.subject.id,
      runId: view.subject.runId,
      digest: view.subject.digest,
      // The pack the approver read, when they say which (a pack that changed since is refused as
      // EVIDENCE_STALE); else the one the gate shows now. A vote counts until the gate sees it change.
      ...(request.evidence !== undefined ? { evidence: request.evidence } : view.evidence ? { evidence: view.evidence.digest } : {}),
      decision: request.decision,
      reason: request.reason,
      approver: request.approver,
    },
    request.signer,
  );
  return decide(client, id, signed, request.unansweredLimitMs);
}

/**
 * Sends a signed decision; the workflow's validator answers at once, with the reason when refused.
 * With no worker to take it, STACK_ERROR after `unansweredLimitMs`: the server holds the vote
 * meanwhile and may still apply it when a worker comes.
 */
export async function decide(client: Client, id: string, decision: SignedDecision, unansweredLimitMs?: number): Promise<ApprovalView> {
  try {
    return await answeredByWorker(client, id, () => client.workflow.getHandle(id).executeUpdate(decideUpdate, { args: [decision] }), {
      limitMs: unansweredLimitMs,
      meanwhile: `Temporal holds the vote meanwhile and may still count it then: see countersign status ${id} before signing again`,
    });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      const description = await describeOrUndefined(client, id);
      if (!description) throw unknownGatedRun(id);
      throw await endedRefusal(client, id, description);
    }
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause as (Error & { type?: string }) | undefined;
      const reason = cause?.message ?? err.message;
      // A vote over a pack the gate no longer shows has its own code: the approver re-reads and signs again.
      throw new CountersignError(cause?.type === 'EVIDENCE_STALE' || cause?.type === 'EVIDENCE_UNKNOWN' ? cause.type : 'APPROVAL_REFUSED', reason);
    }
    throw err;
  }
}

export interface PromotionSummary {
  /** promotion (an image) or chart (a chart release) */
  kind: 'promotion' | 'chart';
  promotionId: string;
  state: PromotionState | string;
  target: string;
  digest: string;
  startedAt?: string;
  closedAt?: string;
}

/** Lists promotions, newest first, filtered by state and target through search attributes. */
export async function listPromotions(
  client: Client,
  filter: { state?: string; target?: string; limit?: number; kind?: 'promotion' | 'chart' | 'all' } = {},
): Promise<PromotionSummary[]> {
  const types = { promotion: [PROMOTION_WORKFLOW_TYPE], chart: [CHART_RELEASE_WORKFLOW_TYPE], all: [PROMOTION_WORKFLOW_TYPE, CHART_RELEASE_WORKFLOW_TYPE] }[filter.kind ?? 'all'];
  // A promotion parked at the gate for long continues as new: its earlier runs are not promotions of their own.
  const clauses = [`(${types.map((t) => `WorkflowType = '${t}'`).join(' OR ')})`, `ExecutionStatus != 'ContinuedAsNew'`];
  if (filter.state) clauses.push(`${SEARCH_ATTRIBUTES.state} = '${quote(filter.state.toUpperCase())}'`);
  if (filter.target) clauses.push(`${SEARCH_ATTRIBUTES.target} = '${quote(filter.target)}'`);
  const out: PromotionSummary[] = [];
  for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
    out.push({
      kind: wf.type === CHART_RELEASE_WORKFLOW_TYPE ? 'chart' : 'promotion',
      promotionId: wf.workflowId,
      state: wf.typedSearchAttributes.get(STATE_KEY) ?? wf.status.name,
      target: wf.typedSearchAttributes.get(TARGET_KEY) ?? '',
      digest: wf.typedSearchAttributes.get(DIGEST_KEY) ?? '',
      startedAt: wf.startTime.toISOString(),
      closedAt: wf.closeTime?.toISOString(),
    });
    if (out.length >= (filter.limit ?? 100)) break;
  }
  return out;
}

function quote(value: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(value)) throw new CountersignError('BAD_INPUT', `filter value "${value}" has characters that are not allowed`);
  return value;
}
