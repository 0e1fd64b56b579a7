/**
 * The first step of every promotion: the worker checks the initiator's signed start request
 * against its own configuration and resolves the target into the plan the run pins. Nothing the
 * caller wrote chooses a policy, a roster, a key, a directory or a host: those come from the
 * worker's configuration for the target the request names, or the request is refused.
 */
import crypto from 'node:crypto';
import type { TargetConfig } from '../config';
import { CountersignError } from '../errors';
import { parseImageReference, repositoryOf } from '../oci/reference';
import { pinApprovalPolicy } from '../approval/roster';
import { checkPriorRuns, checkSignedRequest, realpathUnder, workerConfig, type AuthorizeDeps, type AuthorizeInput } from '../requests/authorize';
import { canonicalJson } from '../requests/statement';
import { parseStartRequest, type StartRequest } from '../requests/start-request';
import { promotionWorkflowId } from './id';
import { pinKey } from './pin-keys';
import { pinKeyless } from '../sigstore/config';
import type { PromotionPlan } from './plan';

export type { AuthorizeDeps, AuthorizeInput, PriorRun } from '../requests/authorize';

export async function authorizePromotion(deps: AuthorizeDeps, input: AuthorizeInput): Promise<PromotionPlan> {
  const config = workerConfig(deps);
  const now = (deps.now ?? (() => new Date()))();
  const request = checkSignedRequest(config, input, now, {
    noun: 'promotion',
    parse: parseStartRequest,
    targets: config.targets,
    unknownTarget: (name, known) => `no target "${name}" in the worker's configuration (targets: ${known.join(', ')})`,
    workflowId: (r) => promotionWorkflowId(r.target, r.digest),
  });
  const target = config.targets[request.target];
  const source = checkArtifact(target, request);
  const build = checkBuildFacts(target, request);
  const reopenedBy = await checkPriorRuns(
    deps,
    config,
    input,
    request,
    { allowed: target.approval.reopen ?? [], name: target.name, subject: 'target', runs: 'promotions', setting: 'approval.reopen' },
    now,
  );

  const keys = { developer: await pinKey(target.keys.developer, 'developer'), platform: await pinKey(target.keys.platform, 'platform') };
  if (source.kind === 'directory' && !keys.developer.ref && !target.keyless?.sign) {
    throw new CountersignError('KEY_MISSING', `target ${target.name} has no developer private key (keys.developer.key) nor keyless.sign in ${config.file}, needed to sign a build`);
  }
  if (!keys.platform.ref) throw new CountersignError('KEY_MISSING', `target ${target.name} has no platform private key (keys.platform.key) in ${config.file}`);
  if (keys.developer.fingerprint === keys.platform.fingerprint) {
    throw new CountersignError('KEY_INVALID', `target ${target.name}'s developer key is its platform key (${keys.platform.fingerprint.slice(0, 16)}): refusing to sign`);
  }
  const approval = await pinApprovalPolicy(target.approval, target.approvers, request.deadlineMs);
  const pinned = {
    target: target.name,
    repository: target.repository,
    digest: request.digest,
    policy: target.policy,
    approval,
    keys,
    releaseTag: target.releaseTag,
    signatureFormat: target.signatureFormat,
    ...(target.keyless ? { keyless: pinKeyless(target.keyless) } : {}),
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
    verifierId: config.verifierId,
  };
}

/** A directory under one of the target's sources; an image in the target's repository, by the requested digest. */
function checkArtifact(target: TargetConfig, request: StartRequest): PromotionPlan['source'] {
  const artifact = request.artifact;
  if (artifact.kind === 'directory') {
    const dir = realpathUnder(artifact.path, target.sources);
    if (!dir) {
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
