/**
 * What a chart release runs on once the worker has authorised its start request: the chart target
 * as the worker's configuration resolved it, pinned for the whole run (it is the authorize step's
 * result, so it lives in history and survives config edits, worker restarts and replay). Types
 * only: the workflow imports them.
 */
import type { ApprovalConfig } from '../approval/config';
import type { KeyTrust, PinnedRosterEntry } from '../promotion/plan';

/** The OpenPGP key that signs the `.prov`, by reference; its passphrase stays in the worker's environment. */
export interface PgpKeyPin {
  ref: string;
  passwordEnv: string;
  /** Upper-case v4 fingerprint the key must have. */
  fingerprint: string;
  /** The published binary keyring the `.prov` must verify against. */
  keyringPath: string;
  /** A trust store's key: its status is re-read before signing and before publishing. */
  trust?: KeyTrust;
}

/** The cosign key that signs the archive's bundle and the OCI manifest, by reference. */
export interface CosignKeyPin {
  ref: string;
  passwordEnv: string;
  publicKeyPem: string;
  fingerprint: string;
}

export interface ChartPublishPlan {
  repositoryDir?: string;
  repositoryUrl?: string;
  /** `<registry host>/<namespace>`. */
  oci?: string;
  /** RFC 3339 time stamped on the OCI manifest, pinned so a retry pushes the same digest. */
  created: string;
}

export interface ChartReleasePlan {
  /** The chart target's name under the worker's `charts:`. */
  target: string;
  /** The chart directory's real path (under one of the chart target's sources). */
  chartDir: string;
  name: string;
  version: string;
  /** `<name>-<version>.tgz`. */
  fileName: string;
  /** Hex sha256 the package must have: the one the initiator signed. */
  sha256: string;
  signing: { pgp: PgpKeyPin; cosign?: CosignKeyPin };
  publish: ChartPublishPlan;
  approval: ApprovalConfig & { roster: Record<string, PinnedRosterEntry> };
  /** The initiator whose signed start request the worker accepted. */
  initiator: string;
  /** sha256 of the canonical JSON of the chart target's resolution: keys, publish locations, approval, the chart. */
  policyDigest: string;
  /** When the run re-opens a rejected one: who allowed it and why. */
  reopenedBy?: { reopener: string; reason: string; rejectedRunId: string };
  /** The worker's configuration file the plan was resolved from. */
  configFile: string;
}

/** The plan as the chart authorize step returned it: sealed by the worker for this run (src/seal/seal.ts). */
export type SealedChartPlan = ChartReleasePlan & { seal: string };

export const CHART_SEALS = { plan: 'chart-release-plan', report: 'chart-verification-report' } as const;

/** Every chart step after authorize gets the sealed plan and the run it belongs to (the run's first execution id). */
export interface ChartPlanInRun {
  runId: string;
  plan: SealedChartPlan;
}
