/**
 * The first step of every promotion: the worker checks the initiator's signed start request
 * against its own configuration and resolves the target into the plan the run pins. Nothing the
 * caller wrote chooses a policy, a roster, a key, a directory or a host: those come from the
 * worker's configuration for the target the request names, or the request is refused.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config, TargetConfig } from '../config';
import { CountersignError } from '../errors';
import { parseImageReference, repositoryOf } from '../oci/reference';
import { pinRoster } from '../approval/roster';
import { parseReopen, REOPEN_VALIDITY_MS } from '../requests/reopen';
import { statementSignedBy } from '../requests/sign';
import { canonicalJson, type SignedStatement } from '../requests/statement';
import { MAX_REQUEST_VALIDITY_MS, REQUEST_CLOCK_SKEW_MS, parseStartRequest, type StartRequest } from '../requests/start-request';
import { promotionWorkflowId } from './id';
import { pinKey } from './pin-keys';
import type { PromotionPlan } from './plan';

/** An earlier run of the same workflow id, as Temporal's visibility reports it. */
export interface PriorRun {
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, ... */
  status: string;
  /** The promotion's own final state (PROMOTED, REJECTED, ...) for a completed run. */
  state?: string;
  closedAt?: string;
  /** The nonce of the start request the run was started with. */
  requestNonce?: string;
}

export interface AuthorizeDeps {
  /** The worker's configuration; undefined when the worker was started without one. */
  config(): Config | undefined;
  /** Earlier runs of `workflowId`, newest first, the current run excluded. */
  priorRuns(workflowId: string, currentRunId: string): Promise<PriorRun[]>;
  now?: () => Date;
}

export interface AuthorizeInput {
  workflowId: string;
  runId: string;
  request: SignedStatement;
  reopen?: SignedStatement;
}

export async function authorizePromotion(deps: AuthorizeDeps, input: AuthorizeInput): Promise<PromotionPlan> {
  const config = deps.config();
  if (!config) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker): it starts nothing');
  const now = (deps.now ?? (() => new Date()))();
  const request = checkStartRequest(config, input, now);
  const target = config.targets[request.target];
  const source = checkArtifact(target, request);
  const build = checkBuildFacts(target, request);
  const reopenedBy = await checkPriorRuns(deps, config, target, input, request, now);

  const keys = { developer: await pinKey(target.keys.developer, 'developer'), platform: await pinKey(target.keys.platform, 'platform') };
  if (source.kind === 'directory' && !keys.developer.ref) {
    throw new CountersignError('KEY_MISSING', `target ${target.name} has no developer private key (keys.developer.key) in ${config.file}, needed to sign a build`);
  }
  if (!keys.platform.ref) throw new CountersignError('KEY_MISSING', `target ${target.name} has no platform private key (keys.platform.key) in ${config.file}`);
  if (keys.developer.fingerprint === keys.platform.fingerprint) {
    throw new CountersignError('KEY_INVALID', `target ${target.name}'s developer key is its platform key (${keys.platform.fingerprint.slice(0, 16)}): refusing to sign`);
  }
  const approval = {
    ...target.approval,
    deadlineMs: Math.min(request.deadlineMs ?? target.approval.deadlineMs, target.approval.deadlineMs),
    roster: await pinRoster(target.approvers),
  };
  const pinned = {
    target: target.name,
    repository: target.repository,
    digest: request.digest,
    policy: target.policy,
    approval,
    keys,
    releaseTag: target.releaseTag,
    signatureFormat: target.signatureFormat,
  };
  return {
    ...pinned,
    source,
    ...(build ? { build } : {}),
    ...(request.commit ?? build?.commit ? { requestedCommit: request.commit ?? build?.commit } : {}),
    initiator: request.initiator,
    policyDigest: `sha256:${crypto.createHash('sha256').update(canonicalJson(pinned)).digest('hex')}`,
    ...(reopenedBy ? { reopenedBy } : {}),
    configFile: config.file,
  };
}

/** Signed by an initiator the configuration lists, in date, for a target they may start, for this workflow. */
function checkStartRequest(config: Config, input: AuthorizeInput, now: Date): StartRequest {
  if (!input.request || typeof input.request !== 'object') throw new CountersignError('REQUEST_UNSIGNED', 'the promotion has no signed start request');
  let request: StartRequest;
  try {
    request = parseStartRequest(input.request);
  } catch (err) {
    throw new CountersignError('REQUEST_INVALID', (err as Error).message);
  }
  const initiator = config.initiators[request.initiator];
  if (!initiator) {
    throw new CountersignError('REQUEST_UNKNOWN_SIGNER', `${request.initiator} is not an initiator in the worker's configuration (initiators: in ${config.file})`);
  }
  if (!statementSignedBy(input.request, fs.readFileSync(initiator.publicKey, 'utf8'))) {
    throw new CountersignError('REQUEST_BAD_SIGNATURE', `the start request does not verify with ${request.initiator}'s key in the worker's configuration`);
  }
  const issuedAt = Date.parse(request.issuedAt);
  const expiresAt = Date.parse(request.expiresAt);
  if (expiresAt - issuedAt > MAX_REQUEST_VALIDITY_MS) {
    throw new CountersignError('REQUEST_INVALID', `the start request is valid for ${Math.round((expiresAt - issuedAt) / 60_000)} minutes; at most ${MAX_REQUEST_VALIDITY_MS / 60_000} are accepted`);
  }
  if (issuedAt > now.getTime() + REQUEST_CLOCK_SKEW_MS) throw new CountersignError('REQUEST_INVALID', `the start request was issued in the future (${request.issuedAt})`);
  if (expiresAt <= now.getTime()) throw new CountersignError('REQUEST_EXPIRED', `the start request expired at ${request.expiresAt}: sign a new one`);
  if (!config.targets[request.target]) {
    throw new CountersignError('UNKNOWN_TARGET', `no target "${request.target}" in the worker's configuration (targets: ${Object.keys(config.targets).join(', ')})`);
  }
  if (!initiator.targets.includes('*') && !initiator.targets.includes(request.target)) {
    throw new CountersignError('REQUEST_OUT_OF_SCOPE', `${request.initiator} may start ${initiator.targets.join(', ')}, not ${request.target}`);
  }
  const expectedId = promotionWorkflowId(request.target, request.digest);
  if (input.workflowId !== expectedId) {
    throw new CountersignError('REQUEST_INVALID', `the start request is for ${expectedId}, but this run is ${input.workflowId}`);
  }
  return request;
}

/** A directory under one of the target's sources; an image in the target's repository, by the requested digest. */
function checkArtifact(target: TargetConfig, request: StartRequest): PromotionPlan['source'] {
  const artifact = request.artifact;
  if (artifact.kind === 'directory') {
    const dir = realpathOrUndefined(artifact.path);
    const allowed = target.sources.map(realpathOrUndefined).filter((d): d is string => d !== undefined);
    if (!path.isAbsolute(artifact.path) || !dir || !allowed.some((root) => dir === root || dir.startsWith(`${root}${path.sep}`))) {
      throw new CountersignError(
        'SOURCE_NOT_ALLOWED',
        `${artifact.path} is not under a source directory of target ${target.name} (sources: ${target.sources.join(', ') || 'none configured'})`,
      );
    }
    return { kind: 'directory', path: dir };
  }
  const ref = parseImageReference(artifact.reference);
  if (ref.digest !== request.digest) throw new CountersignError('REQUEST_INVALID', `the image ${artifact.reference} is not pinned to the requested digest ${request.digest}`);
  const repository = repositoryOf(ref);
  if (repository !== target.repository) {
    throw new CountersignError('IMAGE_OUTSIDE_TARGET', `${repository} is not target ${target.name}'s repository ${target.repository}`);
  }
  return { kind: 'image', reference: `${repository}@${request.digest}` };
}

function checkBuildFacts(target: TargetConfig, request: StartRequest): PromotionPlan['build'] {
  const commit = request.build?.commit || request.commit;
  const problems: string[] = [];
  if (commit !== undefined && !/^[0-9a-f]{7,64}$/i.test(commit)) problems.push(`commit "${commit}" is not a hex commit id (7 to 64 digits)`);
  if (!commit && target.policy.requireCommit) problems.push(`target ${target.name} requires the commit (--commit)`);
  if (request.artifact.kind === 'image') {
    if (request.build !== undefined) problems.push("build facts are not taken for an image: its own provenance is the evidence");
    if (problems.length > 0) throw new CountersignError('BAD_INPUT', problems.join('; '));
    return undefined;
  }
  const b = request.build;
  if (!b?.sourceRepo) problems.push('the source repository (--source-repo) is required for a directory build');
  if (!b?.builderId) problems.push('the builder id (--builder-id) is required for a directory build');
  if (!b?.buildCommand) problems.push('the build command (--build-command) is required for a directory build');
  if (problems.length > 0) throw new CountersignError('BAD_INPUT', problems.join('; '));
  return { sourceRepo: b!.sourceRepo, commit: b!.commit ?? '', buildCommand: b!.buildCommand, builderId: b!.builderId, ...(b!.ref ? { ref: b!.ref } : {}) };
}

/**
 * A request is used once, and a rejection stands: a new run after a REJECTED one needs a signed
 * re-open, naming that run, by someone the target's configuration allows.
 */
async function checkPriorRuns(
  deps: AuthorizeDeps,
  config: Config,
  target: TargetConfig,
  input: AuthorizeInput,
  request: StartRequest,
  now: Date,
): Promise<PromotionPlan['reopenedBy']> {
  const runs = await deps.priorRuns(input.workflowId, input.runId);
  const lagging = runs.find((r) => r.status === 'RUNNING');
  if (lagging) {
    // Only one run of an id runs at a time: this is the previous run's record not yet closed in visibility.
    throw new CountersignError('HISTORY_LAGGING', `run ${lagging.runId} of ${input.workflowId} still shows as running; checking again`);
  }
  const reused = runs.find((r) => r.requestNonce === request.nonce);
  if (reused) throw new CountersignError('REQUEST_REPLAYED', `this start request already started run ${reused.runId} of ${input.workflowId}: sign a new one`);
  // A refused run ran nothing and decided nothing: it neither launders a rejection nor uses up a re-open.
  const last = runs.find((r) => r.status !== 'RUNNING' && r.state !== 'REFUSED');
  if (last?.state !== 'REJECTED') {
    if (input.reopen) throw new CountersignError('REQUEST_INVALID', `a re-open was given, but the last run of ${input.workflowId} was not REJECTED`);
    return undefined;
  }
  const allowed = target.approval.reopen ?? [];
  const how = allowed.length > 0 ? `a signed re-open by one of ${allowed.join(', ')} (countersign reopen ${input.workflowId})` : `a re-open, and target ${target.name} allows none (approval.reopen)`;
  if (!input.reopen) {
    throw new CountersignError('REJECTED_BEFORE', `${input.workflowId} was REJECTED in run ${last.runId}${last.closedAt ? ` at ${last.closedAt}` : ''}; a new run needs ${how}`);
  }
  let reopen;
  try {
    reopen = parseReopen(input.reopen);
  } catch (err) {
    throw new CountersignError('REQUEST_INVALID', (err as Error).message);
  }
  if (reopen.promotionId !== input.workflowId || reopen.digest !== request.digest) {
    throw new CountersignError('REQUEST_INVALID', `the re-open is for ${reopen.promotionId} (${reopen.digest}), not ${input.workflowId} (${request.digest})`);
  }
  if (reopen.rejectedRunId !== last.runId) {
    throw new CountersignError('REQUEST_INVALID', `the re-open names run ${reopen.rejectedRunId}, but the rejected run is ${last.runId}`);
  }
  if (!allowed.includes(reopen.reopener)) throw new CountersignError('REQUEST_OUT_OF_SCOPE', `${reopen.reopener} may not re-open ${target.name} promotions; needs ${how}`);
  const person = config.roster[reopen.reopener];
  if (!person || !statementSignedBy(input.reopen, fs.readFileSync(person.publicKey, 'utf8'))) {
    throw new CountersignError('REQUEST_BAD_SIGNATURE', `the re-open does not verify with ${reopen.reopener}'s roster key`);
  }
  const signedAt = Date.parse(reopen.time);
  if (signedAt > now.getTime() + REQUEST_CLOCK_SKEW_MS || now.getTime() - signedAt > REOPEN_VALIDITY_MS) {
    throw new CountersignError('REQUEST_EXPIRED', `the re-open was signed at ${reopen.time}; re-opens are valid for ${REOPEN_VALIDITY_MS / 3_600_000} hours`);
  }
  return { reopener: reopen.reopener, reason: reopen.reason, rejectedRunId: last.runId };
}

function realpathOrUndefined(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}
