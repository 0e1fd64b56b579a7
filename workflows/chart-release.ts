import { proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ChartActivities } from '../activities/chart';
import { ApprovalGate } from './approval-gate';
import { stepTimeline } from './timeline';
import type {
  ChartReleaseInput,
  ChartReleaseState,
  ChartReleaseStatus,
  ChartTimelineEntry,
} from './chart-release-messages';
import { chartStatusQuery } from './chart-release-messages';

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
  const gate = new ApprovalGate({ id: workflowInfo().workflowId, runId: workflowInfo().firstExecutionRunId, digest: `sha256:${input.sha256}`, initiator: input.initiator, noun: 'chart release' }, input.approval);
  const status: ChartReleaseStatus = {
    releaseId: workflowInfo().workflowId,
    state: 'PACKAGING',
    name: input.name,
    version: input.version,
    sha256: input.sha256,
    timeline: [],
    checks: [],
    approval: gate.view(),
  };
  setHandler(chartStatusQuery, () => ({ ...status, approval: gate.view() }));

  const { enter, begin, finish, rejectChecks, endedAtGate, fail } = stepTimeline<ChartTimelineEntry, ChartReleaseState>(status);
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
      rejectChecks(current, report.checks);
      return status;
    }
    finish(current, 'succeeded', `${report.checks.length} checks passed`);

    current = begin('approval', 'AWAITING_APPROVAL');
    const outcome = await gate.run();
    status.approval = gate.view();
    if (endedAtGate(current, outcome)) return status;
    finish(current, 'succeeded', outcome.summary);

    current = begin('publish', 'PUBLISHING');
    const published = await chartPublish(staged, input.publish, input.pgpKey.trust);
    status.published = { repositoryDir: published.repository?.dir, ociReference: published.oci?.reference, ociDigest: published.oci?.digest };
    finish(current, 'succeeded', [published.repository && `repository ${published.repository.dir}`, published.oci && `oci ${published.oci.reference}`].filter(Boolean).join(', '));
    current = undefined;
    enter('RELEASED');
    return status;
  } catch (err) {
    fail(current, err);
    return status;
  }
}

