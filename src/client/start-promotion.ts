/**
 * Starting a promotion: the signed start request, the start (or joining the run already going for
 * the same target and digest), and with `untilGate` the waitForGate update riding on the start.
 */
import path from 'node:path';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { Client, isGrpcServiceError, WithStartWorkflowOperation, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type WorkflowStartOptions } from '@temporalio/client';
import { TypedSearchAttributes, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { CountersignError } from '../errors';
import { buildImageFromDirectory } from '../oci/build';
import { parseImageReference, repositoryOf } from '../oci/reference';
import type { Signer } from '../keys/signer';
import { signStartRequest } from '../requests/sign';
import type { SignedStatement } from '../requests/statement';
import { START_REQUEST_TYPE, parseStartRequest, type ClaimedBuild, type StartRequest } from '../requests/start-request';
import { runRequestNonce } from './prior-runs';
import { answeredByWorker } from './worker-watchdog';
import { waitForGate } from './promotion-status';
import type { PollOptions } from './tolerant-poll';
import { PROMOTION_WORKFLOW_TYPE, SEARCH_ATTRIBUTES, TASK_QUEUE, promotionId, waitForGateUpdate, type PromotionInput, type PromotionStatus } from '../../workflows/promotion-messages';

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
export async function startPromotion(client: Client, request: PromoteRequest, options: { untilGate: true } & Pick<PollOptions<PromotionStatus>, 'pollMs' | 'unansweredLimitMs'>): Promise<PromoteResult & { gate: PromotionStatus }>;
export async function startPromotion(client: Client, request: PromoteRequest, options?: { untilGate?: boolean } & Pick<PollOptions<PromotionStatus>, 'pollMs' | 'unansweredLimitMs'>): Promise<PromoteResult & { gate?: PromotionStatus }> {
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
  let runId: string | undefined;
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
  const runsNonce = gate?.requestNonce ?? (await runRequestNonce(client, workflowId, runId || (await client.workflow.getHandle(workflowId).describe()).runId));
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
  options: Pick<PollOptions<PromotionStatus>, 'pollMs' | 'unansweredLimitMs'>,
): Promise<{ runId: string | undefined; gate: PromotionStatus }> {
  const startWorkflowOperation = new WithStartWorkflowOperation(PROMOTION_WORKFLOW_TYPE, startOptions);
  let gate: PromotionStatus | undefined;
  let updateError: unknown;
  try {
    gate = await answeredByWorker(client, startOptions.workflowId, () => client.workflow.executeUpdateWithStart(waitForGateUpdate, { startWorkflowOperation }), { limitMs: options.unansweredLimitMs });
  } catch (err) {
    // No worker took the run's task: the start stands, the wait is given up (STACK_ERROR).
    if (err instanceof CountersignError) throw err;
    updateError = err;
  }
  // The start's own answer is settled by the time the call returns or throws, unless the SDK threw
  // before sending anything: then there is no start to wait for, only the call's error.
  const startAnswer = startWorkflowOperation.workflowHandle().then(
    () => ({}),
    (startError: unknown) => ({ startError }),
  );
  const start = updateError === undefined ? await startAnswer : ((await Promise.race([startAnswer, setImmediatePromise(undefined)])) ?? { startError: updateError });
  // The run's id is not asked for here: the gate's answer names it (and the request nonce the
  // caller needs it for), and the SDK's handle from update-with-start does not expose it.
  let runId: string | undefined;
  if ('startError' in start) {
    if (!isUnsupportedMultiOperation(start.startError)) throw start.startError;
    runId = (await client.workflow.start(PROMOTION_WORKFLOW_TYPE, startOptions)).firstExecutionRunId;
  }
  gate ??= await waitForGate(client, startOptions.workflowId, options);
  return { runId: runId ?? gate.approval.subject.runId, gate };
}

/** gRPC status codes a server answers update-with-start with when it lacks the feature or has it turned off. */
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNIMPLEMENTED = 12;

/** The server refused update-with-start as a feature it does not have (UNIMPLEMENTED) or has turned off (frontend.enableExecuteMultiOperation). */
function isUnsupportedMultiOperation(err: unknown): boolean {
  if (!isGrpcServiceError(err)) return false;
  return err.code === GRPC_UNIMPLEMENTED || (err.code === GRPC_PERMISSION_DENIED && /multi ?operation/i.test(err.details ?? err.message));
}
