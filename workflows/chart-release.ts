import { CancellationScope, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ChartActivities } from '../activities/chart';
import { readChartRequestClaim } from '../src/requests/chart-start-request';
import { ApprovalGate } from './approval-gate';
import type { ApprovalPolicy } from './approval-messages';
import { failureMessage, stepTimeline } from './timeline';
import type { ChartReleaseInput, ChartReleaseState, ChartReleaseStatus, ChartTimelineEntry } from './chart-release-messages';
import { CHART_BEFORE_GATE_STATES, chartStatusQuery, chartWaitForGateUpdate } from './chart-release-messages';
import { SEARCH_ATTRIBUTES } from './promotion-messages';
import { answerWhen } from './waiting-update';

// The worker checks the signed start request and resolves the chart target from its own
// configuration. A refusal is final; a visibility record still catching up (HISTORY_LAGGING) is retried.
const { chartAuthorize } = proxyActivities<ChartActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
});

// Packaging and verifying are local file work; signing may ask KMS (a cosign key held there). An
// outage (KMS_UNAVAILABLE) is waited out for 15 minutes; a bad chart or key fails at once.
const { chartPackage, chartSign, chartVerify } = proxyActivities<ChartActivities>({
  startToCloseTimeout: '5 minutes',
  scheduleToCloseTimeout: '15 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '15 seconds' },
});

// Publishing talks to a registry: retry longer; every part of it is idempotent.
const { chartPublish } = proxyActivities<ChartActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
});

// Removing the staged files must happen whatever else went wrong: a local, idempotent rm, retried
// patiently (a busy disk, a worker restarting) but bounded, so a run always ends.
const { chartCleanup } = proxyActivities<ChartActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** Until the plan is resolved the gate has no policy: every vote is refused as "not yet at the approval step". */
const NO_POLICY: ApprovalPolicy = { groups: [], vetoOnReject: true, deadlineMs: 0, roster: {} };

/** authorize -> package (checked against the request) -> approval -> sign -> verify -> publish; staged files removed at the end. */
export async function chartRelease(input: ChartReleaseInput): Promise<ChartReleaseStatus> {
  const { workflowId, firstExecutionRunId: runId } = workflowInfo();
  const claim = readChartRequestClaim(input?.request);
  const subject = (digest: string, initiator: string) => ({ id: workflowId, runId, digest, initiator, noun: 'chart release' });
  const gate = new ApprovalGate(subject(claim.sha256 ? `sha256:${claim.sha256}` : '', ''), NO_POLICY);
  const status: ChartReleaseStatus = {
    releaseId: workflowId,
    state: 'AUTHORIZING',
    target: claim.target,
    name: claim.name,
    version: claim.version,
    sha256: claim.sha256,
    timeline: [],
    checks: [],
    approval: gate.view(),
  };
  setHandler(chartStatusQuery, () => ({ ...status, approval: gate.view() }));
  answerWhen(chartWaitForGateUpdate, () => !CHART_BEFORE_GATE_STATES.includes(status.state), () => ({ ...status, approval: gate.view() }));
  const { enter, begin, finish, rejectChecks, endedAtGate, fail } = stepTimeline<ChartTimelineEntry, ChartReleaseState>(status);

  let current: ChartTimelineEntry | undefined;
  let staging = false;
  try {
    current = begin('authorize', 'AUTHORIZING');
    const plan = await chartAuthorize({ workflowId, runId, request: input.request, reopen: input.reopen });
    Object.assign(status, { target: plan.target, name: plan.name, version: plan.version, sha256: plan.sha256, initiator: plan.initiator, policyDigest: plan.policyDigest });
    if (plan.reopenedBy) status.reopenedBy = plan.reopenedBy;
    // The caller may set search attributes at start; the worker's resolution is what list, rotation and revocation see.
    upsertSearchAttributes({
      [SEARCH_ATTRIBUTES.target]: [`chart:${plan.target}`],
      [SEARCH_ATTRIBUTES.digest]: [`sha256:${plan.sha256}`],
      [SEARCH_ATTRIBUTES.platformKey]: [plan.signing.pgp.fingerprint],
    });
    gate.configure(subject(`sha256:${plan.sha256}`, plan.initiator), plan.approval);
    finish(current, 'succeeded', `${plan.initiator} may release to ${plan.target}; policy ${plan.policyDigest.slice(0, 19)}${plan.reopenedBy ? `; re-opened by ${plan.reopenedBy.reopener}: ${plan.reopenedBy.reason}` : ''}`);
    // Every step gets the plan as authorize sealed it, and checks the seal before it acts.
    const run = { runId, plan };

    current = begin('package', 'PACKAGING');
    staging = true;
    const pkg = await chartPackage(run);
    status.checks = pkg.checks;
    if (!pkg.ok) {
      rejectChecks(current, pkg.checks);
      return status;
    }
    finish(current, 'succeeded', `${pkg.files} files -> ${plan.fileName} sha256:${plan.sha256}, unsigned until approved`);

    current = begin('approval', 'AWAITING_APPROVAL');
    const outcome = await gate.run();
    status.approval = gate.view();
    if (endedAtGate(current, outcome)) return status;
    finish(current, 'succeeded', outcome.summary);

    current = begin('sign', 'SIGNING');
    const signed = await chartSign(run, { decisions: gate.signedVotes() });
    finish(current, 'succeeded', `OpenPGP key ${plan.signing.pgp.fingerprint} at ${signed.signedAt}${signed.bundle ? ', sigstore bundle with the cosign key' : ''}`);

    current = begin('verify', 'VERIFYING');
    const report = await chartVerify(run);
    status.checks = [...pkg.checks, ...report.checks];
    if (!report.ok) {
      rejectChecks(current, report.checks);
      return status;
    }
    finish(current, 'succeeded', `${report.checks.length} checks passed`);

    current = begin('publish', 'PUBLISHING');
    const published = await chartPublish(run, report);
    status.published = { repositoryDir: published.repository?.dir, ociReference: published.oci?.reference, ociDigest: published.oci?.digest };
    finish(current, 'succeeded', [published.repository && `repository ${published.repository.dir}`, published.oci && `oci ${published.oci.reference}`].filter(Boolean).join(', '));
    current = undefined;
    enter('RELEASED');
    return status;
  } catch (err) {
    fail(current, err);
    // A start request the worker would not accept ran nothing: say so apart from a step that broke.
    if (current?.step === 'authorize') enter('REFUSED');
    return status;
  } finally {
    // Released, rejected, expired or failed: what was staged goes (the published copies stay).
    if (staging) await cleanup(status, finish);
  }
}

/** The cleanup step: recorded in the timeline; it never changes how the run ended. */
async function cleanup(status: ChartReleaseStatus, finish: (entry: ChartTimelineEntry, outcome: ChartTimelineEntry['status'], detail?: string) => void): Promise<void> {
  const entry: ChartTimelineEntry = { step: 'cleanup', status: 'running', startedAt: new Date().toISOString() };
  status.timeline.push(entry);
  try {
    // Even a cancelled run removes its files.
    const { removed } = await CancellationScope.nonCancellable(() => chartCleanup());
    finish(entry, 'succeeded', removed.length > 0 ? `removed ${removed.join(', ')}` : 'nothing staged');
  } catch (err) {
    finish(entry, 'failed');
    entry.error = failureMessage(err);
  }
}
