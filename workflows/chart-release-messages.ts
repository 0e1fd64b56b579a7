/**
 * The chart release workflow's public contract: input, states and the `status` query. Approval
 * goes through the shared approval gate (workflows/approval-gate.ts): its `decide` update takes
 * signed statements, its `approval` query shows progress. No I/O here; safe inside the bundle.
 */
import { defineQuery } from '@temporalio/workflow';
import type { ChartCheck } from '../src/helm/verify';
import type { ApprovalPolicy, ApprovalView } from './approval-messages';
import type { KeyTrust } from './promotion-messages';

export const CHART_RELEASE_WORKFLOW_TYPE = 'chartRelease';

export type ChartReleaseState =
  | 'CHECKING_KEYS'
  | 'PACKAGING'
  | 'SIGNING'
  | 'VERIFYING'
  | 'AWAITING_APPROVAL'
  | 'PUBLISHING'
  | 'RELEASED'
  | 'REJECTED'
  | 'EXPIRED'
  | 'FAILED';

export const CHART_TERMINAL_STATES: readonly ChartReleaseState[] = ['RELEASED', 'REJECTED', 'EXPIRED', 'FAILED'];

export type ChartStepName = 'package' | 'sign' | 'verify' | 'approval' | 'publish';

export interface ChartTimelineEntry {
  step: ChartStepName;
  status: 'running' | 'succeeded' | 'rejected' | 'expired' | 'failed';
  startedAt: string;
  finishedAt?: string;
  detail?: string;
  error?: string;
}

export interface ChartReleaseInput {
  chartDir: string;
  /** Worker-local directory for the archive and .prov between steps. */
  stagingDir: string;
  name: string;
  version: string;
  fileName: string;
  /** Hex sha256 of the deterministic package, computed when the release was started. */
  sha256: string;
  /** OpenPGP signing key by reference; its passphrase stays in the worker's environment. */
  pgpKey: { ref: string; passwordEnv: string; fingerprint: string; trust?: KeyTrust };
  /** The published binary keyring the .prov must verify against. */
  keyringPath: string;
  publish: {
    repositoryDir?: string;
    repositoryUrl?: string;
    /** `<registry host>/<namespace>` for `oci://` publication. */
    oci?: string;
    /** Cosign key that signs the chart's OCI manifest digest. */
    cosign?: { ref: string; passwordEnv: string; publicKeyPem: string };
    /** RFC 3339 time stamped on the OCI manifest (pinned for identical retries). */
    created: string;
  };
  /** The approval policy with its roster pinned, as for an image promotion. */
  approval: ApprovalPolicy;
  initiator: string;
}

export interface ChartReleaseStatus {
  releaseId: string;
  state: ChartReleaseState;
  name: string;
  version: string;
  sha256: string;
  timeline: ChartTimelineEntry[];
  checks: ChartCheck[];
  approval: ApprovalView;
  published?: { repositoryDir?: string; ociReference?: string; ociDigest?: string };
  error?: string;
}

export const chartStatusQuery = defineQuery<ChartReleaseStatus>('status');

/** Workflow id: derived from chart, version and content, so a repeated trigger finds the running release. */
export function chartReleaseId(name: string, version: string, sha256: string): string {
  return `chart-${name}-${version}-${sha256.slice(0, 16)}`;
}
