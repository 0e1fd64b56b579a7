import { proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { PromotionActivities } from '../activities/promotion';
import type { PromotionPlan } from '../src/promotion/plan';
import { readStartRequestClaim } from '../src/requests/claim';
import { ApprovalGate } from './approval-gate';
import type { ApprovalPolicy } from './approval-messages';
import { stepTimeline } from './timeline';
import type { CheckResult, PromotionInput, PromotionState, PromotionStatus, TimelineEntry } from './promotion-messages';
import { SEARCH_ATTRIBUTES, statusQuery } from './promotion-messages';

// The worker checks the signed start request and resolves the target from its own configuration.
// A refusal is final; a visibility record still catching up (HISTORY_LAGGING) is retried.
const { authorize } = proxyActivities<PromotionActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
});

// Opening keys is local and fast; a missing file or wrong passphrase fails at once (non-retryable).
const { checkKeys } = proxyActivities<PromotionActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3 },
});

// Building and attesting read the source tree; a few attempts cover a flaky registry. These
// steps heartbeat while they run, so a killed worker's step is retried within the heartbeat
// timeout rather than after the whole start-to-close timeout.
const { build, resolveImage, attestImage, devSign } = proxyActivities<PromotionActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

// Verification is read-only; a mismatch comes back as a report, so retries are for I/O only.
const { platformVerify } = proxyActivities<PromotionActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

// The production signature must eventually land once: retry longer, and notice a dead worker
// through the heartbeat, which both activities send every few seconds for as long as they run
// (a slow KMS is not a dead worker). The bound on one attempt is long: the activity itself
// re-checks the registry after signing and reads back what it wrote, so even an attempt that
// outlives it never adds a second signature (docs/architecture.md, "Exactly once").
const { prodSign, release } = proxyActivities<PromotionActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
});

/** Until the plan is resolved the gate has no policy: every vote is refused as "not yet at the approval step". */
const NO_POLICY: ApprovalPolicy = { groups: [], vetoOnReject: true, deadlineMs: 0, roster: {} };

/** authorize -> keys -> build -> attest -> dev sign -> platform verify -> approval -> prod sign -> release. */
export async function promotion(input: PromotionInput): Promise<PromotionStatus> {
  const { workflowId, firstExecutionRunId: runId } = workflowInfo();
  const claim = readStartRequestClaim(input?.request);
  const gate = new ApprovalGate({ id: workflowId, runId, digest: claim.digest, initiator: '' }, NO_POLICY);
  const status: PromotionStatus = {
    promotionId: workflowId,
    state: 'AUTHORIZING',
    target: claim.target,
    digest: claim.digest,
    repository: '',
    timeline: [],
    checks: [],
    approval: gate.view(),
  };
  setHandler(statusQuery, () => ({ ...status, approval: gate.view() }));
  const { enter, begin, finish, skip, rejectChecks, endedAtGate, fail } = stepTimeline<TimelineEntry, PromotionState>(status);

  let current: TimelineEntry | undefined;
  try {
    current = begin('authorize', 'AUTHORIZING');
    const plan = await authorize({ workflowId, runId, request: input.request, reopen: input.reopen });
    Object.assign(status, { target: plan.target, digest: plan.digest, repository: plan.repository, initiator: plan.initiator, policyDigest: plan.policyDigest });
    if (plan.reopenedBy) status.reopenedBy = plan.reopenedBy;
    // The caller may set search attributes at start; the worker's resolution is what list, rotation and revocation see.
    upsertSearchAttributes({
      [SEARCH_ATTRIBUTES.target]: [plan.target],
      [SEARCH_ATTRIBUTES.digest]: [plan.digest],
      [SEARCH_ATTRIBUTES.platformKey]: [plan.keys.platform.fingerprint],
    });
    gate.configure({ id: workflowId, runId, digest: plan.digest, initiator: plan.initiator, developerKeyFingerprint: plan.keys.developer.fingerprint }, plan.approval);
    finish(current, 'succeeded', `${plan.initiator} may start ${plan.target}; policy ${plan.policyDigest.slice(0, 19)}${plan.reopenedBy ? `; re-opened by ${plan.reopenedBy.reopener}: ${plan.reopenedBy.reason}` : ''}`);
    const target = { repository: plan.repository, digest: plan.digest, signatureFormat: plan.signatureFormat };

    current = begin('keys', 'CHECKING_KEYS');
    const needed = [{ role: 'platform', ...signingKey(plan, 'platform') }];
    if (plan.source.kind === 'directory') needed.unshift({ role: 'developer', ...signingKey(plan, 'developer') });
    const keys = await checkKeys(needed);
    finish(current, 'succeeded', keys.checked.join(', '));

    let thisRunsInvocation: string | undefined;
    if (plan.source.kind === 'directory') {
      current = begin('build', 'BUILDING');
      const built = await build(plan.source.path, target);
      finish(current, 'succeeded', `${built.files} files -> ${built.digest}`);

      current = begin('attest', 'ATTESTING');
      const facts = { ...plan.build!, invocationId: `${workflowId}/${workflowInfo().runId}`, startedOn: built.startedOn, finishedOn: built.finishedOn };
      thisRunsInvocation = facts.invocationId;
      const statements = await attestImage(target, facts);
      finish(current, 'succeeded', `provenance ${statements.provenanceDigest}, sbom ${statements.sbomDigest}`);

      current = begin('dev-sign', 'DEV_SIGNING');
      const signed = await devSign(target, signingKey(plan, 'developer'), [statements.provenanceDigest, statements.sbomDigest]);
      finish(current, 'succeeded', `developer key ${plan.keys.developer.fingerprint.slice(0, 16)}${signed.signatureAdded ? '' : ' (signature already present)'}`);
    } else {
      current = begin('build', 'BUILDING');
      await resolveImage(target);
      finish(current, 'succeeded', `existing image ${plan.repository}@${plan.digest}`);
      skip('attest', "attested by the developer's CI");
      skip('dev-sign', "signed by the developer's CI");
    }

    current = begin('platform-verify', 'VERIFYING');
    const report = await platformVerify(target, plan.keys.developer.publicKeyPem, plan.policy, plan.requestedCommit, plan.keys.developer.trust, thisRunsInvocation);
    status.checks = report.checks as CheckResult[];
    if (report.notices?.length) status.notices = report.notices;
    if (!report.ok) {
      rejectChecks(current, report.checks);
      return status;
    }
    finish(current, 'succeeded', `${report.checks.length} checks passed`);

    for (const author of report.commitAuthors ?? []) gate.excludeIdentity(author, 'authored the commit');
    current = begin('approval', 'AWAITING_APPROVAL');
    const outcome = await gate.run();
    status.approval = gate.view();
    if (endedAtGate(current, outcome)) return status;
    finish(current, 'succeeded', outcome.summary);

    current = begin('prod-sign', 'PROD_SIGNING');
    const prod = await prodSign(target, signingKey(plan, 'platform'), approvalRecord(plan, gate));
    finish(current, 'succeeded', `platform key ${prod.keyFingerprint.slice(0, 16)}${prod.added ? '' : ' (signature already present)'}, approval record ${prod.approvalRecordAdded ? 'attached' : '(already present)'}`);

    current = begin('release', 'RELEASING');
    const released = await release(target, plan.releaseTag);
    status.releaseReference = released.reference;
    finish(current, 'succeeded', released.reference);
    current = undefined;
    enter('PROMOTED');
    return status;
  } catch (err) {
    fail(current, err);
    // A start request the worker would not accept ran nothing: say so apart from a step that broke.
    if (current?.step === 'authorize') enter('REFUSED');
    return status;
  }
}

/** A key the plan resolved from the worker's configuration (authorize refused a target without it). */
function signingKey(plan: PromotionPlan, role: 'developer' | 'platform') {
  const { ref, passwordEnv, fingerprint, trust } = plan.keys[role];
  return { ref: ref ?? '', passwordEnv, fingerprint, ...(trust ? { trust } : {}) };
}

/** The approval record attached to the released image: every signed statement and how it counted. */
function approvalRecord(plan: PromotionPlan, gate: ApprovalGate) {
  const { workflowId, firstExecutionRunId } = workflowInfo();
  return {
    promotionId: workflowId,
    runId: firstExecutionRunId,
    target: plan.target,
    digest: plan.digest,
    initiator: plan.initiator,
    // When the production signature was requested: verifiers check the key was valid then (docs/trust.md).
    signedAt: new Date().toISOString(),
    policyDigest: plan.policyDigest,
    ...(plan.reopenedBy ? { reopenedBy: plan.reopenedBy } : {}),
    // The whole policy in force, as pinned at start (a later config edit never shows here).
    policy: {
      groups: plan.approval.groups,
      vetoOnReject: plan.approval.vetoOnReject,
      deadlineMs: plan.approval.deadlineMs,
      reminderEveryMs: plan.approval.reminderEveryMs,
      escalateAfterReminders: plan.approval.escalateAfterReminders,
      escalation: plan.approval.escalation,
    },
    decisions: gate.record().map((v) => ({
      approver: v.approver,
      decision: v.decision,
      reason: v.reason,
      countedFor: v.countedFor,
      signedAt: v.signedAt,
      acceptedAt: v.acceptedAt,
      keyFingerprint: v.keyFingerprint,
      statement: v.signed.statement,
      signature: v.signed.signature,
    })),
  };
}
