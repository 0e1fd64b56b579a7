import { ApplicationFailure, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { PromotionActivities } from '../activities/promotion';
import { ApprovalGate } from './approval-gate';
import { stepTimeline } from './timeline';
import type { CheckResult, KeyTrust, PromotionInput, PromotionState, PromotionStatus, TimelineEntry } from './promotion-messages';
import { statusQuery } from './promotion-messages';

// Opening keys is local and fast; a missing file or wrong passphrase fails at once (non-retryable).
const { checkKeys } = proxyActivities<PromotionActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3 },
});

// Building and attesting read the source tree; a few attempts cover a flaky registry.
const { build, resolveImage, attest, attestImage, devSign } = proxyActivities<PromotionActivities>({
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
  const gate = new ApprovalGate(
    { id: workflowInfo().workflowId, digest: input.digest, initiator: input.initiator, developerKeyFingerprint: input.keys.developer.fingerprint },
    input.approval,
  );
  const status: PromotionStatus = {
    promotionId: workflowInfo().workflowId,
    state: 'CHECKING_KEYS',
    target: input.target,
    digest: input.digest,
    repository: input.repository,
    timeline: [],
    checks: [],
    approval: gate.view(),
  };

  setHandler(statusQuery, () => ({ ...status, approval: gate.view() }));

  const { enter, begin, finish, skip, rejectChecks, endedAtGate, fail } = stepTimeline<TimelineEntry, PromotionState>(status);

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
      const facts = { ...input.build, invocationId: `${workflowInfo().workflowId}/${workflowInfo().runId}`, startedOn: built.startedOn, finishedOn: built.finishedOn };
      // Attest by digest, from what was pushed; runs that started before this rebuild the directory.
      const statements = patched('attest-pushed-image') ? await attestImage(target, facts) : await attest(input.source.path, target, facts);
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
    const report = await platformVerify(target, input.keys.developer.publicKeyPem, input.policy, input.build.commit || undefined, input.keys.developer.trust);
    status.checks = report.checks as CheckResult[];
    if (!report.ok) {
      rejectChecks(current, report.checks);
      return status;
    }
    finish(current, 'succeeded', `${report.checks.length} checks passed`);

    gate.excludeIdentity(report.facts?.commitAuthor, 'authored the commit');
    current = begin('approval', 'AWAITING_APPROVAL');
    const outcome = await gate.run();
    status.approval = gate.view();
    if (endedAtGate(current, outcome)) return status;
    finish(current, 'succeeded', outcome.summary);

    current = begin('prod-sign', 'PROD_SIGNING');
    const prod = await prodSign(target, platformKey(input), approvalRecord(input, gate));
    finish(current, 'succeeded', `platform key ${prod.keyFingerprint.slice(0, 16)}${prod.added ? '' : ' (signature already present)'}, approval record attached`);

    current = begin('release', 'RELEASING');
    const released = await release(target, input.releaseTag);
    status.releaseReference = released.reference;
    finish(current, 'succeeded', released.reference);
    current = undefined;
    enter('PROMOTED');
    return status;
  } catch (err) {
    fail(current, err);
    return status;
  }
}

function devKey(input: PromotionInput): { ref: string; passwordEnv: string } {
  if (!input.keys.developer.ref) throw ApplicationFailure.nonRetryable('no developer private key configured for this target', 'KEY_MISSING');
  return { ref: input.keys.developer.ref, passwordEnv: input.keys.developer.passwordEnv };
}

function platformKey(input: PromotionInput): { ref: string; passwordEnv: string; fingerprint: string; trust?: KeyTrust } {
  const { ref, passwordEnv, fingerprint, trust } = input.keys.platform;
  if (!ref) throw ApplicationFailure.nonRetryable('no platform private key configured for this target', 'KEY_MISSING');
  return trust ? { ref, passwordEnv, fingerprint, trust } : { ref, passwordEnv, fingerprint };
}

/** The approval record attached to the released image: every signed statement and how it counted. */
function approvalRecord(input: PromotionInput, gate: ApprovalGate) {
  return {
    promotionId: workflowInfo().workflowId,
    target: input.target,
    digest: input.digest,
    initiator: input.initiator,
    // When the production signature was requested: verifiers check the key was valid then (docs/trust.md).
    signedAt: new Date().toISOString(),
    // The whole policy in force, as pinned at start (a later config edit never shows here).
    policy: {
      groups: input.approval.groups,
      vetoOnReject: input.approval.vetoOnReject,
      deadlineMs: input.approval.deadlineMs,
      reminderEveryMs: input.approval.reminderEveryMs,
      escalateAfterReminders: input.approval.escalateAfterReminders,
      escalation: input.approval.escalation,
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

