import path from 'node:path';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import {
  Client,
  isGrpcServiceError,
  WithStartWorkflowOperation,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowExecutionDescription,
  type WorkflowStartOptions,
} from '@temporalio/client';
import { TypedSearchAttributes, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { CountersignError } from '../errors';
import { CHART_RELEASE_ID } from '../helm/id';
import { buildImageFromDirectory } from '../oci/build';
import { parseImageReference, repositoryOf } from '../oci/reference';
import { CHART_RELEASE_WORKFLOW_TYPE } from '../../workflows/chart-release-messages';
import { signDecision } from '../approval/sign';
import type { Signer } from '../keys/signer';
import type { ApprovalView, SignedDecision } from '../../workflows/approval-messages';
import { signStartRequest, signStatement } from '../requests/sign';
import type { SignedStatement } from '../requests/statement';
import { START_REQUEST_TYPE, parseStartRequest, type ClaimedBuild, type StartRequest } from '../requests/start-request';
import { REOPEN_STATEMENT_TYPE, type ReopenStatement } from '../requests/reopen';
import { listPriorRuns, runRequestNonce } from './prior-runs';
import { pollTolerantly, type PollOptions } from './tolerant-poll';
import {
  BEFORE_GATE_STATES,
  PROMOTION_WORKFLOW_TYPE,
  SEARCH_ATTRIBUTES,
  TASK_QUEUE,
  TERMINAL_STATES,
  approvalQuery,
  decideUpdate,
  promotionId,
  statusQuery,
  waitForGateUpdate,
  type PromotionInput,
  type PromotionState,
  type PromotionStatus,
} from '../../workflows/promotion-messages';

export const STATE_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTES.state, SearchAttributeType.KEYWORD);
export const TARGET_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTES.target, SearchAttributeType.KEYWORD);
export const DIGEST_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTES.digest, SearchAttributeType.KEYWORD);
export const PLATFORM_KEY_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTES.platformKey, SearchAttributeType.KEYWORD);

export type PromoteSource = { directory: string } | { image: string };

export interface PromoteRequest {
  /** The target's name; the worker resolves everything else about it from its own configuration. */
  target: string;
  source: PromoteSource;
  /** Claimed build facts of a directory build (recorded in its provenance); not taken for an image. */
  build?: ClaimedBuild;
  /** For an image: the commit meant to be promoted, checked against its provenance. */
  commit?: string;
  /** Who is asking (an initiator in the worker's configuration), and the key that signs the request. */
  initiator: string;
  signer: Signer;
  /** A shorter approval deadline than the target's (ms), e.g. for tests and drills; never longer. */
  deadlineMs?: number;
  /** A signed re-open (countersign reopen), when the last run for this target and digest was REJECTED. */
  reopen?: SignedStatement;
  /** How long the signed request stays valid (default 10 minutes). */
  validityMs?: number;
}

export interface PromoteResult {
  promotionId: string;
  digest: string;
  /** The image reference for --image; for a directory, the worker decides the repository. */
  reference?: string;
  /** True when a promotion for the same target and digest was already running and this joined it. */
  attached: boolean;
}

/**
 * Starts a promotion with a signed start request, or joins the running one for the same target
 * and digest. The caller decides only the target, the artifact and the claimed build facts; the
 * worker checks the request against its configuration before any step runs.
 */
export async function startPromotion(client: Client, request: PromoteRequest): Promise<PromoteResult>;
/**
 * With `untilGate`, the same start carries a waitForGate update (update-with-start), so the answer
 * comes once the run is at the gate, past it or ended, in the run's first workflow task rather than
 * in a task of its own after it; `gate` is the status the update returned.
 */
export async function startPromotion(client: Client, request: PromoteRequest, options: { untilGate: true } & Pick<PollOptions<PromotionStatus>, 'pollMs'>): Promise<PromoteResult & { gate: PromotionStatus }>;
export async function startPromotion(client: Client, request: PromoteRequest, options?: { untilGate?: boolean } & Pick<PollOptions<PromotionStatus>, 'pollMs'>): Promise<PromoteResult & { gate?: PromotionStatus }> {
  let digest: string;
  let artifact: StartRequest['artifact'];
  if ('directory' in request.source) {
    const dir = path.resolve(request.source.directory);
    digest = (await buildImageFromDirectory(dir)).digest;
    artifact = { kind: 'directory', path: dir };
  } else {
    const ref = parseImageReference(request.source.image);
    if (!ref.digest) {
      throw new CountersignError('BAD_REFERENCE', `image "${request.source.image}" has no digest; a tag is never trusted: pass reference@sha256:<digest>`);
    }
    digest = ref.digest;
    artifact = { kind: 'image', reference: `${repositoryOf(ref)}@${digest}` };
  }
  const startRequest: Omit<StartRequest, 'issuedAt' | 'expiresAt' | 'nonce'> = {
    _type: START_REQUEST_TYPE,
    target: request.target,
    digest,
    artifact,
    ...(artifact.kind === 'directory' && request.build ? { build: request.build } : {}),
    ...(request.commit ? { commit: request.commit } : {}),
    ...(request.deadlineMs !== undefined ? { deadlineMs: request.deadlineMs } : {}),
    initiator: request.initiator,
  };
  const { signed, nonce } = await signStartRequest(startRequest, parseStartRequest, request.signer, request.validityMs);
  const input: PromotionInput = { request: signed, ...(request.reopen ? { reopen: request.reopen } : {}) };
  const workflowId = promotionId(request.target, digest);
  const startOptions = {
    taskQueue: TASK_QUEUE,
    workflowId,
    args: [input] as [PromotionInput],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: new TypedSearchAttributes([
      { key: STATE_KEY, value: 'AUTHORIZING' },
      { key: TARGET_KEY, value: request.target },
      { key: DIGEST_KEY, value: digest },
    ]),
  };
  let runId: string;
  let gate: PromotionStatus | undefined;
  if (options?.untilGate) {
    ({ runId, gate } = await startAtGate(client, startOptions, options));
  } else {
    runId = (await client.workflow.start(PROMOTION_WORKFLOW_TYPE, startOptions)).firstExecutionRunId;
  }
  // The run the start call returned either carries this request (this call started it) or another
  // caller's (this call joined it): decided from the run itself, not from a look taken before
  // starting, which ten simultaneous triggers all take before any of them starts.
  // The gate's answer names the run's request nonce (a worker before it did not: read it then).
  const runsNonce = gate?.requestNonce ?? (await runRequestNonce(client, workflowId, runId));
  const attached = runsNonce !== nonce;
  return { promotionId: workflowId, digest, ...(artifact.kind === 'image' ? { reference: artifact.reference } : {}), attached, ...(gate ? { gate } : {}) };
}

/**
 * Starts (or joins) the run with the waitForGate update riding on the start. When the update cannot
 * answer (a worker without the handler, a run that continued as new meanwhile) the run is still
 * started, and the gate is waited for as waitForGate does; a server without update-with-start
 * (an older Temporal, or one with frontend.enableExecuteMultiOperation off) gets a plain start and
 * waitForGate.
 */
async function startAtGate(
  client: Client,
  startOptions: WorkflowStartOptions & { workflowIdConflictPolicy: WorkflowIdConflictPolicy },
  options: Pick<PollOptions<PromotionStatus>, 'pollMs'>,
): Promise<{ runId: string; gate: PromotionStatus }> {
  const startWorkflowOperation = new WithStartWorkflowOperation(PROMOTION_WORKFLOW_TYPE, startOptions);
  let gate: PromotionStatus | undefined;
  let updateError: unknown;
  try {
    gate = await client.workflow.executeUpdateWithStart(waitForGateUpdate, { startWorkflowOperation });
  } catch (err) {
    updateError = err;
  }
  // The start's own answer is settled by the time the call returns or throws, unless the SDK threw
  // before sending anything: then there is no start to wait for, only the call's error.
  const startAnswer = startWorkflowOperation.workflowHandle().then(
    (handle) => ({ runId: (handle as { firstExecutionRunId?: string }).firstExecutionRunId }),
    (startError: unknown) => ({ startError }),
  );
  const start = updateError === undefined ? await startAnswer : ((await Promise.race([startAnswer, setImmediatePromise(undefined)])) ?? { startError: updateError });
  let runId: string | undefined;
  if ('startError' in start) {
    if (!isUnsupportedMultiOperation(start.startError)) throw start.startError;
    runId = (await client.workflow.start(PROMOTION_WORKFLOW_TYPE, startOptions)).firstExecutionRunId;
  } else {
    // The SDK's handle carries the run the start answered with (started or joined); its type does not say so.
    runId = start.runId;
  }
  runId ??= (await client.workflow.getHandle(startOptions.workflowId).describe()).runId;
  gate ??= await waitForGate(client, startOptions.workflowId, options);
  return { runId, gate };
}

/** gRPC status codes a server answers update-with-start with when it lacks the feature or has it turned off. */
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNIMPLEMENTED = 12;

/** The server refused update-with-start as a feature it does not have (UNIMPLEMENTED) or has turned off (frontend.enableExecuteMultiOperation). */
function isUnsupportedMultiOperation(err: unknown): boolean {
  if (!isGrpcServiceError(err)) return false;
  return err.code === GRPC_UNIMPLEMENTED || (err.code === GRPC_PERMISSION_DENIED && /multi ?operation/i.test(err.details ?? err.message));
}

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

async function describeOrUndefined(client: Client, workflowId: string) {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Current status of a promotion, running or finished. */
export async function getPromotionStatus(client: Client, id: string): Promise<PromotionStatus> {
  const handle = client.workflow.getHandle(id);
  const description = await describeOrUndefined(client, id);
  if (!description || description.type !== PROMOTION_WORKFLOW_TYPE) {
    throw new CountersignError('UNKNOWN_PROMOTION', `no promotion with id "${id}" (see countersign list)`);
  }
  if (description.status.name === 'COMPLETED') return (await handle.result()) as PromotionStatus;
  if (description.status.name === 'RUNNING') {
    try {
      return await handle.query(statusQuery);
    } catch (cause) {
      throw new CountersignError('STACK_ERROR', `no worker answered the status query for ${id} in time (is a countersign worker running and keeping up?)`, { cause });
    }
  }
  throw new CountersignError('INTERNAL', `promotion ${id} ended as ${description.status.name} without a result`);
}

/** Waits until the promotion reaches a terminal state or `until` holds, polling its status. */
export async function waitForPromotion(
  client: Client,
  id: string,
  options: PollOptions<PromotionStatus> & { until?: (status: PromotionStatus) => boolean } = {},
): Promise<PromotionStatus> {
  const until = options.until ?? ((s: PromotionStatus) => TERMINAL_STATES.includes(s.state));
  return pollTolerantly(() => getPromotionStatus(client, id), (s) => (until(s) || TERMINAL_STATES.includes(s.state) ? s : undefined), options);
}

/**
 * Waits until the promotion is at the approval gate, past it or ended, without polling: the
 * waitForGate update returns when the gate opens. Falls back to the tolerant poll when the update
 * cannot answer: a worker without the handler, a run that ended or continued as new meanwhile, or
 * the SDK's update/timer replay error (temporalio/sdk-typescript#1966).
 */
export async function waitForGate(client: Client, id: string, options: PollOptions<PromotionStatus> = {}): Promise<PromotionStatus> {
  try {
    const status = await client.workflow.getHandle(id).executeUpdate(waitForGateUpdate);
    options.onUpdate?.(status);
    return status;
  } catch {
    return waitForPromotion(client, id, { ...options, until: (s) => !BEFORE_GATE_STATES.includes(s.state) });
  }
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
  return decide(client, id, signed);
}

/** Sends a signed decision; the workflow's validator answers at once, with the reason when refused. */
export async function decide(client: Client, id: string, decision: SignedDecision): Promise<ApprovalView> {
  try {
    return await client.workflow.getHandle(id).executeUpdate(decideUpdate, { args: [decision] });
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
