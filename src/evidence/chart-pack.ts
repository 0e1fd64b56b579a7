/**
 * A chart release's evidence pack: what an approver decides on for a chart, from the run's own
 * record only (the plan its authorize step pinned, the package's checks, the status): the chart
 * and its digest, every check, where it comes from and what will sign it, where it will be
 * published, and the policy in force. Like an image's pack it has a digest over its canonical
 * JSON; votes, the timeline and what was published are shown beside it, not in it.
 */
import { createHash } from 'node:crypto';
import type { ChartReleaseRecord } from '../client/chart-record';
import { CountersignError } from '../errors';
import { canonicalJson } from '../requests/statement';
import { approvalPolicyView } from './pack';

export const CHART_EVIDENCE_PACK_TYPE = 'https://countersign.dev/chart-evidence-pack/v1';

export interface ChartEvidencePack {
  _type: typeof CHART_EVIDENCE_PACK_TYPE;
  releaseId: string;
  runId: string;
  chart: { target: string; name: string; version: string; fileName: string; digest: string };
  /** The package's checks (before approval), then the signatures' (once signed and verified). */
  checks: Array<{ name: string; ok: boolean; message: string }>;
  provenance: {
    /** The chart directory the worker packaged (under one of the chart target's sources). */
    chartDirectory: string;
    /** Who signed the start request, and the archive digest it named (the package must match it). */
    initiator: string;
    requested: string;
    reopenedBy?: { reopener: string; reason: string; rejectedRunId: string };
    /** What signs the chart once approved: the `.prov` (OpenPGP) and, when configured, a sigstore bundle (cosign key). */
    /** trust: the trust store key id, when the OpenPGP key is a trust store's (its status is re-read before signing). */
    signing: { openpgp: string; keyring: string; trust?: string; cosign?: string };
  };
  publish: { repositoryUrl?: string; repositoryDir?: string; oci?: string };
  policy: {
    digest: string;
    approval: {
      groups: Array<{ name: string; members: string[]; required: number }>;
      vetoOnReject: boolean;
      deadlineMs: number;
      roster: Array<{ name: string; fingerprint: string }>;
    };
  };
}

/** The pack of a chart release whose authorize step has run; EVIDENCE_NOT_READY before (or for a refused start). */
export function assembleChartEvidencePack(record: ChartReleaseRecord): ChartEvidencePack {
  const { status, plan } = record;
  if (!plan) throw new CountersignError('EVIDENCE_NOT_READY', `${status.releaseId} is ${status.state}: its evidence is there once the worker has authorised it`);
  const { pgp, cosign } = plan.signing;
  return {
    _type: CHART_EVIDENCE_PACK_TYPE,
    releaseId: status.releaseId,
    runId: record.firstRunId,
    chart: { target: plan.target, name: plan.name, version: plan.version, fileName: plan.fileName, digest: `sha256:${plan.sha256}` },
    checks: status.checks.map(({ name, ok, message }) => ({ name, ok, message })),
    provenance: {
      chartDirectory: plan.chartDir,
      initiator: plan.initiator,
      requested: `sha256:${plan.sha256}`,
      ...(plan.reopenedBy ? { reopenedBy: plan.reopenedBy } : {}),
      signing: { openpgp: pgp.fingerprint, keyring: pgp.keyringPath, ...(pgp.trust ? { trust: pgp.trust.keyId } : {}), ...(cosign ? { cosign: cosign.fingerprint } : {}) },
    },
    publish: {
      ...(plan.publish.repositoryUrl ? { repositoryUrl: plan.publish.repositoryUrl } : {}),
      ...(plan.publish.repositoryDir ? { repositoryDir: plan.publish.repositoryDir } : {}),
      ...(plan.publish.oci ? { oci: plan.publish.oci } : {}),
    },
    policy: {
      digest: plan.policyDigest,
      approval: approvalPolicyView(plan.approval),
    },
  };
}

/** sha256:<hex> of the pack's canonical JSON. */
export function chartEvidencePackDigest(pack: ChartEvidencePack): string {
  return `sha256:${createHash('sha256').update(canonicalJson(pack)).digest('hex')}`;
}
