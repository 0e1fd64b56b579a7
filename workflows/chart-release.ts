import { ActivityFailure, ApplicationFailure, condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ChartActivities } from '../activities/chart';
import type {
  ChartDecisionRequest,
  ChartReleaseInput,
  ChartReleaseState,
  ChartReleaseStatus,
  ChartStepName,
  ChartTimelineEntry,
} from './chart-release-messages';
import { chartDecideUpdate, chartStatusQuery } from './chart-release-messages';

// Packaging, signing and verifying are local file work: a few quick attempts cover a busy disk.
const { chartPackage, chartSign, chartVerify } = proxyActivities<ChartActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3 },
});

// Publishing talks to a registry: retry longer; every part of it is idempotent.
const { chartPublish } = proxyActivities<ChartActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
});

/** package -> sign -> verify -> approval -> publish. */
export async function chartRelease(input: ChartReleaseInput): Promise<ChartReleaseStatus> {
  const status: ChartReleaseStatus = {
    releaseId: workflowInfo().workflowId,
    state: 'PACKAGING',
    name: input.name,
    version: input.version,
    sha256: input.sha256,
    timeline: [],
    checks: [],
    votes: [],
    approval: { required: input.approval.required, approvers: input.approval.approvers },
  };
  let deadlineAt = 0;
  setHandler(chartStatusQuery, () => status);
  setHandler(
    chartDecideUpdate,
    (request: ChartDecisionRequest) => {
      status.votes.push({ ...request, at: new Date().toISOString() });
      return status;
    },
    { validator: (request: ChartDecisionRequest) => validateDecision(status, input, deadlineAt, request) },
  );

  const begin = (step: ChartStepName, state: ChartReleaseState): ChartTimelineEntry => {
    status.state = state;
    const entry: ChartTimelineEntry = { step, status: 'running', startedAt: new Date().toISOString() };
    status.timeline.push(entry);
    return entry;
  };
  const finish = (entry: ChartTimelineEntry, outcome: ChartTimelineEntry['status'], detail?: string) => {
    entry.status = outcome;
    entry.finishedAt = new Date().toISOString();
    if (detail) entry.detail = detail;
  };
  const staged = { stagingDir: input.stagingDir, fileName: input.fileName, sha256: input.sha256 };

  let current: ChartTimelineEntry | undefined;
  try {
    current = begin('package', 'PACKAGING');
    const pkg = await chartPackage(input.chartDir, staged);
    finish(current, 'succeeded', `${pkg.files} files -> ${input.fileName} sha256:${input.sha256}`);

    current = begin('sign', 'SIGNING');
    const signed = await chartSign(staged, input.pgpKey, input.publish.cosign);
    finish(current, 'succeeded', `OpenPGP key ${input.pgpKey.fingerprint} at ${signed.signedAt}${signed.bundle ? ', sigstore bundle with the cosign key' : ''}`);

    current = begin('verify', 'VERIFYING');
    const report = await chartVerify(staged, input.keyringPath, input.publish.cosign?.publicKeyPem);
    status.checks = report.checks;
    if (!report.ok) {
      const failed = report.checks.filter((c) => !c.ok).map((c) => c.message);
      finish(current, 'rejected', `${failed.length} check(s) failed`);
      current.error = failed.join('; ');
      status.error = `VERIFICATION_FAILED: ${failed.join('; ')}`;
      status.state = 'REJECTED';
      return status;
    }
    finish(current, 'succeeded', `${report.checks.length} checks passed`);

    current = begin('approval', 'AWAITING_APPROVAL');
    deadlineAt = Date.now() + input.approval.deadlineMs;
    status.approval.deadline = new Date(deadlineAt).toISOString();
    if (!(await condition(() => decision(status, input) !== 'pending', input.approval.deadlineMs))) {
      finish(current, 'expired', `no decision by ${status.approval.deadline}`);
      status.error = `EXPIRED: no approval quorum before ${status.approval.deadline}`;
      status.state = 'EXPIRED';
      return status;
    }
    if (decision(status, input) === 'rejected') {
      const veto = status.votes.find((v) => v.decision === 'reject')!;
      finish(current, 'rejected', `rejected by ${veto.approver}: ${veto.reason}`);
      status.error = `REJECTED by ${veto.approver}: ${veto.reason}`;
      status.state = 'REJECTED';
      return status;
    }
    finish(current, 'succeeded', `approved by ${status.votes.map((v) => v.approver).join(', ')}`);

    current = begin('publish', 'PUBLISHING');
    const published = await chartPublish(staged, input.publish);
    status.published = { repositoryDir: published.repository?.dir, ociReference: published.oci?.reference, ociDigest: published.oci?.digest };
    finish(current, 'succeeded', [published.repository && `repository ${published.repository.dir}`, published.oci && `oci ${published.oci.reference}`].filter(Boolean).join(', '));
    current = undefined;
    status.state = 'RELEASED';
    return status;
  } catch (err) {
    const message = failureMessage(err);
    if (current && current.status === 'running') {
      finish(current, 'failed');
      current.error = message;
    }
    status.error = message;
    status.state = 'FAILED';
    return status;
  }
}

function decision(status: ChartReleaseStatus, input: ChartReleaseInput): 'pending' | 'approved' | 'rejected' {
  if (status.votes.some((v) => v.decision === 'reject')) return 'rejected';
  return status.votes.filter((v) => v.decision === 'approve').length >= input.approval.required ? 'approved' : 'pending';
}

/** Refuses a decision before it reaches history; the message is what the approver sees. */
function validateDecision(status: ChartReleaseStatus, input: ChartReleaseInput, deadlineAt: number, request: ChartDecisionRequest): void {
  const refuse = (why: string) => {
    throw ApplicationFailure.nonRetryable(why, 'APPROVAL_REFUSED');
  };
  if (!request || typeof request.approver !== 'string' || request.approver.trim() === '') refuse('an approver name is required');
  if (request.decision !== 'approve' && request.decision !== 'reject') refuse(`decision must be approve or reject, not "${request.decision}"`);
  if (status.state !== 'AWAITING_APPROVAL') refuse(`release ${status.releaseId} is ${status.state}, not awaiting approval`);
  if (Date.now() >= deadlineAt) refuse(`the approval deadline ${status.approval.deadline} has passed`);
  if (!input.approval.approvers.includes(request.approver)) refuse(`${request.approver} is not an approver for this chart (approvers: ${input.approval.approvers.join(', ')})`);
  if (status.votes.some((v) => v.approver === request.approver)) refuse(`${request.approver} has already voted on ${status.releaseId}`);
  if (request.decision === 'reject' && (typeof request.reason !== 'string' || request.reason.trim() === '')) refuse('a rejection needs a reason');
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
