import fs from 'node:fs/promises';
import path from 'node:path';
import {
  Client,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { TypedSearchAttributes, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { TargetConfig } from '../config';
import { CountersignError } from '../errors';
import { keyFingerprint, parsePublicKeyPem } from '../keys/public-key';
import { buildImageFromDirectory } from '../oci/build';
import { parseImageReference, repositoryOf } from '../oci/reference';
import { RegistryStore } from '../oci/registry';
import { pinRoster } from '../approval/roster';
import { CHART_RELEASE_WORKFLOW_TYPE } from '../../workflows/chart-release-messages';
import { pinTrustedKey } from '../trust/pin';
import { signDecision } from '../approval/sign';
import type { Signer } from '../keys/signer';
import type { ApprovalView, SignedDecision } from '../../workflows/approval-messages';
import type { BuildFacts } from '../provenance/slsa';
import {
  PROMOTION_WORKFLOW_TYPE,
  SEARCH_ATTRIBUTES,
  TASK_QUEUE,
  TERMINAL_STATES,
  approvalQuery,
  decideUpdate,
  promotionId,
  statusQuery,
  type KeyPin,
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
  target: TargetConfig;
  source: PromoteSource;
  build: BuildFacts;
  initiator: string;
  /** Overrides the target's approval deadline (ms), e.g. for tests and drills. */
  deadlineMs?: number;
}

export interface PromoteResult {
  promotionId: string;
  digest: string;
  repository: string;
  /** True when a promotion for the same target and digest was already running and this joined it. */
  attached: boolean;
}

/**
 * Starts a promotion, or joins the running one for the same target and digest. All input is
 * checked here first, so a bad request starts nothing.
 */
export async function startPromotion(client: Client, request: PromoteRequest): Promise<PromoteResult> {
  const { target } = request;
  validateBuildFacts(request.build, target);
  let repository: string;
  let digest: string;
  let source: PromotionInput['source'];
  if ('directory' in request.source) {
    const dir = path.resolve(request.source.directory);
    digest = (await buildImageFromDirectory(dir)).digest;
    repository = target.repository;
    source = { kind: 'directory', path: dir };
  } else {
    const ref = parseImageReference(request.source.image);
    if (!ref.digest) {
      throw new CountersignError('BAD_REFERENCE', `image "${request.source.image}" has no digest; a tag is never trusted: pass reference@sha256:<digest>`);
    }
    digest = ref.digest;
    repository = repositoryOf(ref);
    source = { kind: 'image', reference: `${repository}@${digest}` };
  }
  const keys = {
    developer: await pinKey(target.keys.developer, 'developer'),
    platform: await pinKey(target.keys.platform, 'platform'),
  };
  if (source.kind === 'directory' && !keys.developer.ref) {
    throw new CountersignError('KEY_MISSING', `target ${target.name} has no developer private key (keys.developer.key), needed to sign a build`);
  }
  if (!keys.platform.ref) throw new CountersignError('KEY_MISSING', `target ${target.name} has no platform private key (keys.platform.key)`);

  await preflightRegistry(repository, source.kind === 'image' ? digest : undefined);

  const input: PromotionInput = {
    target: target.name,
    source,
    repository,
    digest,
    build: request.build,
    policy: target.policy,
    approval: {
      ...target.approval,
      deadlineMs: request.deadlineMs ?? target.approval.deadlineMs,
      roster: await pinRoster(target.approvers),
    },
    keys,
    releaseTag: target.releaseTag,
    signatureFormat: target.signatureFormat,
    initiator: request.initiator,
  };
  const workflowId = promotionId(target.name, digest);
  const before = await describeOrUndefined(client, workflowId);
  const handle = await client.workflow.start(PROMOTION_WORKFLOW_TYPE, {
    taskQueue: TASK_QUEUE,
    workflowId,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: new TypedSearchAttributes([
      { key: STATE_KEY, value: 'CHECKING_KEYS' },
      { key: TARGET_KEY, value: target.name },
      { key: DIGEST_KEY, value: digest },
      { key: PLATFORM_KEY_KEY, value: keys.platform.fingerprint },
    ]),
  });
  const attached = before?.status.name === 'RUNNING' && before.runId === handle.firstExecutionRunId;
  return { promotionId: workflowId, digest, repository, attached };
}

/**
 * Fails fast, before anything starts, when the registry cannot be reached or an existing image is
 * not there: otherwise the workflow would only find out after its retries.
 */
async function preflightRegistry(repository: string, existingDigest: string | undefined): Promise<void> {
  const slash = repository.indexOf('/');
  const store = new RegistryStore(repository.slice(0, slash), { timeoutMs: 10_000 });
  await store.ping();
  if (existingDigest && !(await store.getManifest(repository.slice(slash + 1), existingDigest))) {
    throw new CountersignError('MANIFEST_UNKNOWN', `image ${repository}@${existingDigest} does not exist`);
  }
}

function validateBuildFacts(build: BuildFacts, target: TargetConfig): void {
  const problems: string[] = [];
  if (!build.sourceRepo) problems.push('--source-repo is required');
  if (!build.builderId) problems.push('--builder-id is required');
  if (!build.buildCommand) problems.push('--build-command is required');
  if (build.commit && !/^[0-9a-f]{7,64}$/i.test(build.commit)) problems.push(`--commit "${build.commit}" is not a hex commit id (7 to 64 digits)`);
  if (!build.commit && target.policy.requireCommit) problems.push(`--commit is required by target ${target.name}`);
  if (problems.length > 0) throw new CountersignError('BAD_INPUT', problems.join('; '));
}

async function pinKey(key: TargetConfig['keys']['developer'], role: string): Promise<KeyPin> {
  if (key.trust) return pinTrustedKey(key.trust);
  let pem: string;
  try {
    pem = await fs.readFile(key.publicKey, 'utf8');
  } catch {
    throw new CountersignError('KEY_MISSING', `${role} public key ${key.publicKey} not found`);
  }
  parsePublicKeyPem(pem);
  // The private key is the worker's to open (it may live on another machine): the workflow's
  // first step checks it there, before anything is built or signed.
  return { ref: key.key, passwordEnv: key.passwordEnv, publicKeyPem: pem, fingerprint: keyFingerprint(pem) };
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

/** Waits until the promotion reaches a terminal state or `predicate` holds, polling its status. */
export async function waitForPromotion(
  client: Client,
  id: string,
  options: {
    onUpdate?: (status: PromotionStatus) => void;
    until?: (status: PromotionStatus) => boolean;
    pollMs?: number;
    /** How long status queries may go unanswered before giving up (default 2 minutes). */
    unansweredLimitMs?: number;
  } = {},
): Promise<PromotionStatus> {
  const until = options.until ?? ((s: PromotionStatus) => TERMINAL_STATES.includes(s.state));
  let unansweredSince: number | undefined;
  for (;;) {
    let status: PromotionStatus;
    try {
      status = await getPromotionStatus(client, id);
      unansweredSince = undefined;
    } catch (err) {
      // A busy or restarting worker misses a query now and then; only a long silence is an error.
      if (!(err instanceof CountersignError && err.code === 'STACK_ERROR')) throw err;
      unansweredSince ??= Date.now();
      if (Date.now() - unansweredSince > (options.unansweredLimitMs ?? 120_000)) throw err;
      await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
      continue;
    }
    options.onUpdate?.(status);
    if (until(status) || TERMINAL_STATES.includes(status.state)) return status;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
  }
}

/** The approval gate of a promotion (or any workflow with the gate): who is needed, by when. */
export async function getApproval(client: Client, id: string): Promise<ApprovalView> {
  const description = await describeOrUndefined(client, id);
  if (!description) throw new CountersignError('UNKNOWN_PROMOTION', `no promotion with id "${id}" (see countersign list)`);
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
  request: { approver: string; decision: 'approve' | 'reject'; reason?: string; signer: Signer },
): Promise<ApprovalView> {
  const view = await getApproval(client, id);
  const signed = await signDecision(
    { promotionId: view.subject.id, digest: view.subject.digest, decision: request.decision, reason: request.reason, approver: request.approver },
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
      if (!description) throw new CountersignError('UNKNOWN_PROMOTION', `no promotion with id "${id}"`);
      throw await endedRefusal(client, id, description);
    }
    if (err instanceof WorkflowUpdateFailedError) {
      const reason = (err.cause as Error | undefined)?.message ?? err.message;
      throw new CountersignError('APPROVAL_REFUSED', reason);
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
  const clauses = [`(${types.map((t) => `WorkflowType = '${t}'`).join(' OR ')})`];
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
