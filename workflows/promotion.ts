import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PromotionActivities } from '../activities/promotion';
import type {
  CheckResult,
  DecisionRequest,
  PromotionInput,
  PromotionState,
  PromotionStatus,
  StepName,
  TimelineEntry,
  Vote,
} from './promotion-messages';
import { SEARCH_ATTRIBUTES, decideUpdate, statusQuery } from './promotion-messages';

// Opening keys is local and fast; a missing file or wrong passphrase fails at once (non-retryable).
const { checkKeys } = proxyActivities<PromotionActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3 },
});

// Building and attesting read the source tree; a few attempts cover a flaky registry.
const { build, resolveImage, attest, devSign } = proxyActivities<PromotionActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

// Verification is read-only; a mismatch comes back as a report, so retries are for I/O only.
const { platformVerify } = proxyActivities<PromotionActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

// The production signature must eventually land once: retry longer, and notice a dead worker
// quickly through the heartbeat; the activity itself refuses to sign twice.
const { prodSign, release } = proxyActivities<PromotionActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
});

/** build -> attest -> dev sign -> platform verify -> approval -> prod sign -> release. */
export async function promotion(input: PromotionInput): Promise<PromotionStatus> {
  const target = { repository: input.repository, digest: input.digest, signatureFormat: input.signatureFormat ?? 'legacy' };
  const status: PromotionStatus = {
    promotionId: workflowInfo().workflowId,
    state: 'CHECKING_KEYS',
    target: input.target,
    digest: input.digest,
    repository: input.repository,
    timeline: [],
    checks: [],
    votes: [],
    approval: { required: input.approval.required, approvers: input.approval.approvers },
  };
  let deadlineAt = 0;

  setHandler(statusQuery, () => status);
  setHandler(
    decideUpdate,
    (request: DecisionRequest) => {
      const vote: Vote = { ...request, at: new Date().toISOString() };
      status.votes.push(vote);
      return status;
    },
    { validator: (request: DecisionRequest) => validateDecision(status, input, deadlineAt, request) },
  );

  const enter = (state: PromotionState) => {
    status.state = state;
    upsertSearchAttributes({ [SEARCH_ATTRIBUTES.state]: [state] });
  };
  const begin = (step: StepName, state: PromotionState): TimelineEntry => {
    enter(state);
    const entry: TimelineEntry = { step, status: 'running', startedAt: new Date().toISOString() };
    status.timeline.push(entry);
    return entry;
  };
  const finish = (entry: TimelineEntry, outcome: TimelineEntry['status'], detail?: string) => {
    entry.status = outcome;
    entry.finishedAt = new Date().toISOString();
    if (detail) entry.detail = detail;
  };
  const skip = (step: StepName, detail: string) => {
    const at = new Date().toISOString();
    status.timeline.push({ step, status: 'skipped', startedAt: at, finishedAt: at, detail });
  };

  let current: TimelineEntry | undefined;
  try {
    current = begin('keys', 'CHECKING_KEYS');
    const needed = [{ role: 'platform', ...platformKey(input) }];
    if (input.source.kind === 'directory') needed.unshift({ role: 'developer', ...devKey(input), fingerprint: input.keys.developer.fingerprint });
    const keys = await checkKeys(needed);
    finish(current, 'succeeded', keys.checked.join(', '));

    if (input.source.kind === 'directory') {
      current = begin('build', 'BUILDING');
      const built = await build(input.source.path, target);
      finish(current, 'succeeded', `${built.files} files -> ${built.digest}`);

      current = begin('attest', 'ATTESTING');
      const statements = await attest(input.source.path, target, {
        ...input.build,
        invocationId: `${workflowInfo().workflowId}/${workflowInfo().runId}`,
        startedOn: built.startedOn,
        finishedOn: built.finishedOn,
      });
      finish(current, 'succeeded', `provenance ${statements.provenanceDigest}, sbom ${statements.sbomDigest}`);

      current = begin('dev-sign', 'DEV_SIGNING');
      const signed = await devSign(target, devKey(input), [statements.provenanceDigest, statements.sbomDigest]);
      finish(current, 'succeeded', `developer key ${input.keys.developer.fingerprint.slice(0, 16)}${signed.signatureAdded ? '' : ' (signature already present)'}`);
    } else {
      current = begin('build', 'BUILDING');
      await resolveImage(target);
      finish(current, 'succeeded', `existing image ${input.repository}@${input.digest}`);
      skip('attest', "attested by the developer's CI");
      skip('dev-sign', "signed by the developer's CI");
    }

    current = begin('platform-verify', 'VERIFYING');
    const report = await platformVerify(target, input.keys.developer.publicKeyPem, input.policy, input.build.commit || undefined);
    status.checks = report.checks as CheckResult[];
    if (!report.ok) {
      const failed = report.checks.filter((c) => !c.ok).map((c) => c.message);
      finish(current, 'rejected', `${failed.length} check(s) failed`);
      current.error = failed.join('; ');
      status.error = `VERIFICATION_FAILED: ${failed.join('; ')}`;
      enter('REJECTED');
      return status;
    }
    finish(current, 'succeeded', `${report.checks.length} checks passed`);

    current = begin('approval', 'AWAITING_APPROVAL');
    deadlineAt = Date.now() + input.approval.deadlineMs;
    status.approval.deadline = new Date(deadlineAt).toISOString();
    const decided = await condition(() => decision(status, input) !== 'pending', input.approval.deadlineMs);
    if (!decided) {
      finish(current, 'expired', `no decision by ${status.approval.deadline}`);
      status.error = `EXPIRED: no approval quorum (${approvals(status)}/${input.approval.required}) before ${status.approval.deadline}`;
      enter('EXPIRED');
      return status;
    }
    if (decision(status, input) === 'rejected') {
      const veto = status.votes.find((v) => v.decision === 'reject')!;
      finish(current, 'rejected', `rejected by ${veto.approver}: ${veto.reason}`);
      status.error = `REJECTED by ${veto.approver}: ${veto.reason}`;
      enter('REJECTED');
      return status;
    }
    finish(current, 'succeeded', `approved by ${status.votes.filter((v) => v.decision === 'approve').map((v) => v.approver).join(', ')}`);

    current = begin('prod-sign', 'PROD_SIGNING');
    const prod = await prodSign(target, platformKey(input));
    finish(current, 'succeeded', `platform key ${prod.keyFingerprint.slice(0, 16)}${prod.added ? '' : ' (signature already present)'}`);

    current = begin('release', 'RELEASING');
    const released = await release(target, input.releaseTag);
    status.releaseReference = released.reference;
    finish(current, 'succeeded', released.reference);
    current = undefined;
    enter('PROMOTED');
    return status;
  } catch (err) {
    const message = failureMessage(err);
    if (current && current.status === 'running') {
      finish(current, 'failed');
      current.error = message;
    }
    status.error = message;
    enter('FAILED');
    return status;
  }
}

function devKey(input: PromotionInput): { ref: string; passwordEnv: string } {
  if (!input.keys.developer.ref) throw ApplicationFailure.nonRetryable('no developer private key configured for this target', 'KEY_MISSING');
  return { ref: input.keys.developer.ref, passwordEnv: input.keys.developer.passwordEnv };
}

function platformKey(input: PromotionInput): { ref: string; passwordEnv: string; fingerprint: string } {
  if (!input.keys.platform.ref) throw ApplicationFailure.nonRetryable('no platform private key configured for this target', 'KEY_MISSING');
  return { ref: input.keys.platform.ref, passwordEnv: input.keys.platform.passwordEnv, fingerprint: input.keys.platform.fingerprint };
}

function approvals(status: PromotionStatus): number {
  return status.votes.filter((v) => v.decision === 'approve').length;
}

function decision(status: PromotionStatus, input: PromotionInput): 'pending' | 'approved' | 'rejected' {
  if (status.votes.some((v) => v.decision === 'reject')) return 'rejected';
  return approvals(status) >= input.approval.required ? 'approved' : 'pending';
}

/** Refuses a decision before it reaches history; the message is what the approver sees. */
function validateDecision(status: PromotionStatus, input: PromotionInput, deadlineAt: number, request: DecisionRequest): void {
  const refuse = (why: string) => {
    throw ApplicationFailure.nonRetryable(why, 'APPROVAL_REFUSED');
  };
  if (!request || typeof request.approver !== 'string' || request.approver.trim() === '') refuse('an approver name is required');
  if (request.decision !== 'approve' && request.decision !== 'reject') refuse(`decision must be approve or reject, not "${request.decision}"`);
  if (status.state !== 'AWAITING_APPROVAL') refuse(`promotion ${status.promotionId} is ${status.state}, not awaiting approval`);
  if (Date.now() >= deadlineAt) refuse(`the approval deadline ${status.approval.deadline} has passed`);
  if (!input.approval.approvers.includes(request.approver)) {
    refuse(`${request.approver} is not an approver for target ${input.target} (approvers: ${input.approval.approvers.join(', ')})`);
  }
  if (status.votes.some((v) => v.approver === request.approver)) refuse(`${request.approver} has already voted on ${status.promotionId}`);
  if (request.decision === 'reject' && (typeof request.reason !== 'string' || request.reason.trim() === '')) {
    refuse('a rejection needs a reason');
  }
}

function failureMessage(err: unknown): string {
  let cause: unknown = err;
  if (err instanceof ActivityFailure && err.cause) cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    const text = cause.message ?? '';
    return cause.type && !text.startsWith(`${cause.type}:`) ? `${cause.type}: ${text}` : text;
  }
  return cause instanceof Error ? cause.message : String(cause);
}
