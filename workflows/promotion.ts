import { ApplicationFailure, ContinueAsNew, continueAsNew, patched, proxyActivities, proxyLocalActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { EvidenceCheck, PromotionActivities, VerificationReport } from '../activities/promotion';
import type { SealedPlan } from '../src/promotion/plan';
import type { Sealed } from '../src/seal/seal';
import { readStartRequestClaim } from '../src/requests/claim';
import { ApprovalGate } from './approval-gate';
import type { ApprovalPolicy, EvidenceFound, GateCarry } from './approval-messages';
import { stepTimeline } from './timeline';
import type { CheckResult, PromotionCarry, PromotionInput, PromotionState, PromotionStatus, TimelineEntry } from './promotion-messages';
import { BEFORE_GATE_STATES, SEARCH_ATTRIBUTES, statusQuery, UNLISTED_SINCE_FEWER_WRITES, UNLISTED_STATES, waitForGateUpdate } from './promotion-messages';
import { LOCAL_PROD_SIGN_PATCH, LOCAL_TO_GATE_PATCH, newestMarker } from './version-marker';
import { answerWhen } from './waiting-update';

// The worker checks the signed start request and resolves the target from its own configuration.
// A refusal is final; a visibility record still catching up (HISTORY_LAGGING) is retried.
const AUTHORIZE = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
} as const;

// Opening keys: a file key is local (a missing file or wrong passphrase fails at once, non-retryable);
// a KMS key asks KMS, whose outage or throttling (KMS_UNAVAILABLE) is waited out for 15 minutes.
const KEYS = {
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '15 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '15 seconds' },
} as const;

// Building, attesting and developer signing talk to the registry (and to KMS for a KMS developer
// key). An outage is waited out: attempts back off to 15 s apart and go on for 30 minutes in all.
// A code that cannot clear up (an empty build, a digest mismatch, a wrong key) fails at once.
// Queued (runs before LOCAL_TO_GATE_PATCH), they heartbeat while they run, so a killed worker's
// step is retried within the heartbeat timeout; local, within the workflow task's timeout.
const TO_GATE = {
  startToCloseTimeout: '10 minutes',
  scheduleToCloseTimeout: '30 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '15 seconds' },
} as const;

/** The steps up to the gate, queued through the server: runs started before LOCAL_TO_GATE_PATCH. */
const QUEUED_TO_GATE = {
  checkKeys: proxyActivities<PromotionActivities>(KEYS).checkKeys,
  ...pick(proxyActivities<PromotionActivities>({ ...TO_GATE, heartbeatTimeout: '30 seconds' })),
};
/** The same steps run by the worker that runs the workflow task (docs/architecture.md, "Local steps"). */
const LOCAL_TO_GATE: typeof QUEUED_TO_GATE = {
  checkKeys: proxyLocalActivities<PromotionActivities>(KEYS).checkKeys,
  ...pick(proxyLocalActivities<PromotionActivities>(TO_GATE)),
};
function pick({ build, resolveImage, attestImage, devSign }: Pick<PromotionActivities, 'build' | 'resolveImage' | 'attestImage' | 'devSign'>) {
  return { build, resolveImage, attestImage, devSign };
}

// Verification reads the registry; a mismatch comes back as a report (REJECTED, never retried),
// so retries are for I/O only, and wait out an outage like the steps before. The evidence pack is
// read the same way when the gate opens and on its check schedule. At the opening a failure ends
// the run FAILED (there is nothing to show approvers); later, the gate keeps the pack it last
// read and counts the miss.
const READS = {
  startToCloseTimeout: '5 minutes',
  scheduleToCloseTimeout: '30 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '15 seconds' },
} as const;

/** Runs started before votes were bound to the evidence pack replay without its reads (docs/architecture.md). */
export const EVIDENCE_PATCH = 'evidence-bound-quorum';

// The production signature must eventually land once: retry longer. The bound on one attempt is
// long (a slow KMS is not a dead worker): the activity itself re-checks the registry after
// signing and reads back what it wrote, so even an attempt that outlives it never adds a second
// signature (docs/architecture.md, "Exactly once"). Release retries the same way. Queued (runs
// before LOCAL_PROD_SIGN_PATCH), prod sign heartbeats, so a dead worker is noticed within the
// heartbeat timeout; local, within the workflow task's timeout, as the other local steps.
const LAST_STEPS = {
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
} as const;
const QUEUED_PROD_SIGN = proxyActivities<PromotionActivities>({ ...LAST_STEPS, heartbeatTimeout: '30 seconds' }).prodSign;
/** Run by the worker that runs the workflow task which took the approval (docs/architecture.md, "Local steps"). */
const LOCAL_PROD_SIGN: typeof QUEUED_PROD_SIGN = proxyLocalActivities<PromotionActivities>(LAST_STEPS).prodSign;

/**
 * Runs started before this marker ran authorize, platform verify, the evidence reads and release
 * as queued activities, and replay with them; they also carry their own markers for the evidence
 * reads and unlisted states, which later runs imply. Later runs take the four as local
 * activities: they are short and repeatable (reads, and one tag set to one digest), so the worker
 * that runs the workflow task runs them too, without a round trip through the server's task
 * queue for each (docs/architecture.md, "Local steps").
 */
export const LOCAL_STEPS_PATCH = 'local-short-steps';

const QUEUED_STEPS = {
  authorize: proxyActivities<PromotionActivities>(AUTHORIZE).authorize,
  platformVerify: proxyActivities<PromotionActivities>({ ...READS, heartbeatTimeout: '30 seconds' }).platformVerify,
  evidence: proxyActivities<PromotionActivities>({ ...READS, heartbeatTimeout: '30 seconds' }).evidence,
  release: proxyActivities<PromotionActivities>({ ...LAST_STEPS, heartbeatTimeout: '30 seconds' }).release,
};
const LOCAL_STEPS: typeof QUEUED_STEPS = {
  authorize: proxyLocalActivities<PromotionActivities>(AUTHORIZE).authorize,
  platformVerify: proxyLocalActivities<PromotionActivities>(READS).platformVerify,
  evidence: proxyLocalActivities<PromotionActivities>(READS).evidence,
  release: proxyLocalActivities<PromotionActivities>(LAST_STEPS).release,
};

/** Until the plan is resolved the gate has no policy: every vote is refused as "not yet at the approval step". */
const NO_POLICY: ApprovalPolicy = { groups: [], vetoOnReject: true, deadlineMs: 0, roster: {} };

/**
 * authorize -> keys -> build -> attest -> dev sign -> platform verify -> approval -> prod sign -> release.
 * A run parked at the gate long enough to grow a long history continues as new from the gate
 * (input.carried), with the plan it pinned and the gate's votes and timers.
 */
export async function promotion(input: PromotionInput): Promise<PromotionStatus> {
  const { workflowId, firstExecutionRunId: runId, continuedFromExecutionRunId } = workflowInfo();
  // One marker for this version: its runs also read the evidence pack and leave unlisted states
  // out, without a marker of their own for each (each marker is one more visibility write).
  // FEWER_WRITES_PATCH stands for this one too, and writes less visibility; LOCAL_TO_GATE_PATCH
  // stands for both, and runs the steps up to the gate locally; LOCAL_PROD_SIGN_PATCH (the tracing
  // interceptor has already written it in a new run) stands for all three, and runs prod sign
  // locally too. Newest first: a new run writes one marker.
  const marker = newestMarker(patched);
  const localProdSign = marker === LOCAL_PROD_SIGN_PATCH;
  const localToGate = localProdSign || marker === LOCAL_TO_GATE_PATCH;
  const prodSign = localProdSign ? LOCAL_PROD_SIGN : QUEUED_PROD_SIGN;
  const fewerWrites = marker !== undefined;
  const currentVersion = fewerWrites || patched(LOCAL_STEPS_PATCH);
  const { authorize, platformVerify, evidence, release } = currentVersion ? LOCAL_STEPS : QUEUED_STEPS;
  const { checkKeys, build, resolveImage, attestImage, devSign } = localToGate ? LOCAL_TO_GATE : QUEUED_TO_GATE;
  const evidenceBound = () => currentVersion || patched(EVIDENCE_PATCH);
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
    ...(claim.nonce ? { requestNonce: claim.nonce } : {}),
  };
  setHandler(statusQuery, () => ({ ...status, approval: gate.view() }));
  answerWhen(waitForGateUpdate, () => !BEFORE_GATE_STATES.includes(status.state), () => ({ ...status, approval: gate.view() }));
  const unlisted = fewerWrites ? [...UNLISTED_STATES, ...UNLISTED_SINCE_FEWER_WRITES] : UNLISTED_STATES;
  const { enter, begin, finish, skip, rejectChecks, endedAtGate, fail } = stepTimeline<TimelineEntry, PromotionState>(status, { unlisted, unlistedWithoutMarker: currentVersion });
  /** `state`: written in the same upsert (AUTHORIZING, in a run with FEWER_WRITES_PATCH). */
  const pinPlan = (plan: SealedPlan, state?: PromotionState) => {
    // The caller may set search attributes at start; the worker's resolution is what list, rotation and revocation see.
    upsertSearchAttributes({
      ...(state ? { [SEARCH_ATTRIBUTES.state]: [state] } : {}),
      [SEARCH_ATTRIBUTES.target]: [plan.target],
      [SEARCH_ATTRIBUTES.digest]: [plan.digest],
      [SEARCH_ATTRIBUTES.platformKey]: [plan.keys.platform.fingerprint],
    });
    gate.configure({ id: workflowId, runId, digest: plan.digest, initiator: plan.initiator, developerKeyFingerprint: plan.keys.developer.fingerprint }, plan.approval);
  };

  let current: TimelineEntry | undefined;
  try {
    let plan: SealedPlan;
    let report: Sealed<VerificationReport> | undefined;
    if (input?.carried !== undefined) {
      // Only this workflow writes a carried state, when it continues as new; a caller's is refused.
      if (!continuedFromExecutionRunId) {
        current = begin('authorize', 'AUTHORIZING');
        throw ApplicationFailure.nonRetryable('a carried state is accepted only from the earlier run of the same promotion, never in a start', 'REQUEST_INVALID');
      }
      ({ plan, report } = input.carried);
      Object.assign(status, input.carried.status);
      pinPlan(plan);
      gate.resume(input.carried.gate);
      current = status.timeline.find((t) => t.step === 'approval' && t.status === 'running');
      enter('AWAITING_APPROVAL');
    } else {
      current = begin('authorize', 'AUTHORIZING');
      plan = await authorize({ workflowId, runId, request: input.request, reopen: input.reopen });
      Object.assign(status, { target: plan.target, digest: plan.digest, repository: plan.repository, initiator: plan.initiator, policyDigest: plan.policyDigest });
      if (plan.reopenedBy) status.reopenedBy = plan.reopenedBy;
      pinPlan(plan, fewerWrites ? 'AUTHORIZING' : undefined);
      finish(current, 'succeeded', `${plan.initiator} may start ${plan.target}; policy ${plan.policyDigest.slice(0, 19)}${plan.reopenedBy ? `; re-opened by ${plan.reopenedBy.reopener}: ${plan.reopenedBy.reason}` : ''}`);
    }
    // Every step gets the plan as authorize sealed it, and checks the seal before it acts.
    const run = { runId, plan };
    // The last sealed evidence read: the next read keeps its release pin, and production signing
    // checks every counted vote was signed over it.
    let lastEvidence: Sealed<EvidenceCheck> | undefined = input?.carried?.evidence;
    const readEvidence = async (): Promise<EvidenceFound> => {
      lastEvidence = await evidence(run, report!, lastEvidence);
      return { digest: lastEvidence.digest, release: lastEvidence.release };
    };
    let checkEvidence: (() => Promise<EvidenceFound>) | undefined;
    let opening: EvidenceFound | undefined;

    if (input?.carried === undefined) {
      current = begin('keys', 'CHECKING_KEYS');
      const keys = await checkKeys(run);
      finish(current, 'succeeded', keys.checked.join(', '));

      let thisRunsInvocation: string | undefined;
      if (plan.source.kind === 'directory') {
        current = begin('build', 'BUILDING');
        const built = await build(run);
        finish(current, 'succeeded', `${built.files} files -> ${built.digest}`);

        current = begin('attest', 'ATTESTING');
        thisRunsInvocation = `${workflowId}/${workflowInfo().runId}`;
        const statements = await attestImage(run, { invocationId: thisRunsInvocation, startedOn: built.startedOn, finishedOn: built.finishedOn });
        finish(current, 'succeeded', `provenance ${statements.provenanceDigest}, sbom ${statements.sbomDigest}`);

        current = begin('dev-sign', 'DEV_SIGNING');
        const signed = await devSign(run, statements);
        const by = plan.keyless?.sign ? 'keyless (Fulcio certificate)' : `developer key ${plan.keys.developer.fingerprint.slice(0, 16)}`;
        finish(current, 'succeeded', `${by}${signed.signatureAdded ? '' : ' (signature already present)'}`);
      } else {
        current = begin('build', 'BUILDING');
        await resolveImage(run);
        finish(current, 'succeeded', `existing image ${plan.repository}@${plan.digest}`);
        skip('attest', "attested by the developer's CI");
        skip('dev-sign', "signed by the developer's CI");
      }

      current = begin('platform-verify', 'VERIFYING');
      report = await platformVerify(run, thisRunsInvocation);
      status.checks = report.checks as CheckResult[];
      if (report.notices?.length) status.notices = report.notices;
      if (!report.ok) {
        rejectChecks(current, report.checks);
        return status;
      }
      finish(current, 'succeeded', `${report.checks.length} checks passed`);

      for (const author of report.commitAuthors ?? []) gate.excludeIdentity(author, 'authored the commit');
      if (evidenceBound()) {
        checkEvidence = readEvidence;
        // Read before the run says it awaits approval: from then on the gate takes votes, over this pack.
        try {
          opening = await readEvidence();
        } catch (err) {
          current = begin('approval', 'AWAITING_APPROVAL');
          throw err;
        }
      }
      current = begin('approval', 'AWAITING_APPROVAL');
    } else if (evidenceBound()) checkEvidence = readEvidence;
    const approvalStep = current!;
    const outcome = await gate.run({ handOver: (carry) => handOver(input, { plan, report: report!, status, evidence: lastEvidence }, carry), checkEvidence, opening });
    status.approval = gate.view();
    if (endedAtGate(approvalStep, outcome)) return status;
    finish(approvalStep, 'succeeded', outcome.summary);

    current = begin('prod-sign', 'PROD_SIGNING');
    const prod = await prodSign(run, report!, approvalRecord(plan, gate), ...(lastEvidence ? [lastEvidence] : []));
    finish(current, 'succeeded', `platform key ${prod.keyFingerprint.slice(0, 16)}${prod.added ? '' : ' (signature already present)'}, approval record ${prod.approvalRecordAdded ? 'attached' : '(already present)'}`);

    current = begin('release', 'RELEASING');
    const released = await release(run);
    status.releaseReference = released.reference;
    finish(current, 'succeeded', released.reference);
    current = undefined;
    enter('PROMOTED');
    return status;
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    fail(current, err);
    // A start request the worker would not accept ran nothing: say so apart from a step that broke.
    if (current?.step === 'authorize') enter('REFUSED');
    return status;
  }
}

/** Ends this run and goes on in a fresh one at the gate, with the same signed request as its core. */
function handOver(
  input: PromotionInput,
  held: { plan: SealedPlan; report: Sealed<VerificationReport>; status: PromotionStatus; evidence?: Sealed<EvidenceCheck> },
  gate: GateCarry,
): Promise<never> {
  const { approval: _view, ...rest } = held.status;
  const carried: PromotionCarry = { plan: held.plan, report: held.report, status: rest, gate, ...(held.evidence ? { evidence: held.evidence } : {}) };
  return continueAsNew<typeof promotion>({ request: input.request, ...(input.reopen ? { reopen: input.reopen } : {}), carried });
}

/** The approval record attached to the released image: every signed statement and how it counted. */
function approvalRecord(plan: SealedPlan, gate: ApprovalGate) {
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
      ...(v.signed.passkey ? { passkey: v.signed.passkey } : {}),
    })),
  };
}
