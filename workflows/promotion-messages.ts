/**
 * The promotion workflow's public contract: its input, its states, and the messages (query,
 * update) that the CLI, tests and other clients use. No I/O here; safe inside the workflow bundle.
 */
import { defineQuery } from '@temporalio/workflow';
import type { TargetPolicy } from '../src/policy/policy';
import type { BuildFacts } from '../src/provenance/slsa';
import type { ApprovalPolicy, ApprovalView } from './approval-messages';

export { decideUpdate, approvalQuery } from './approval-messages';

export const TASK_QUEUE = 'countersign';
export const PROMOTION_WORKFLOW_TYPE = 'promotion';

export const SEARCH_ATTRIBUTES = {
  state: 'CountersignState',
  target: 'CountersignTarget',
  digest: 'CountersignDigest',
  /** Fingerprint of the platform key the promotion pinned at start (rotation and revocation find promotions by it). */
  platformKey: 'CountersignPlatformKey',
} as const;

/** Their types, for registering them on a server (all keywords). */
export const SEARCH_ATTRIBUTE_TYPES: Record<string, 'Keyword'> = {
  [SEARCH_ATTRIBUTES.state]: 'Keyword',
  [SEARCH_ATTRIBUTES.target]: 'Keyword',
  [SEARCH_ATTRIBUTES.digest]: 'Keyword',
  [SEARCH_ATTRIBUTES.platformKey]: 'Keyword',
};

export type PromotionState =
  | 'CHECKING_KEYS'
  | 'BUILDING'
  | 'ATTESTING'
  | 'DEV_SIGNING'
  | 'VERIFYING'
  | 'AWAITING_APPROVAL'
  | 'PROD_SIGNING'
  | 'RELEASING'
  | 'PROMOTED'
  | 'REJECTED'
  | 'EXPIRED'
  | 'FAILED';

export const TERMINAL_STATES: readonly PromotionState[] = ['PROMOTED', 'REJECTED', 'EXPIRED', 'FAILED'];

export type StepName = 'keys' | 'build' | 'attest' | 'dev-sign' | 'platform-verify' | 'approval' | 'prod-sign' | 'release';
export type StepStatus = 'running' | 'succeeded' | 'skipped' | 'rejected' | 'expired' | 'failed';

export interface TimelineEntry {
  step: StepName;
  status: StepStatus;
  startedAt: string;
  finishedAt?: string;
  detail?: string;
  error?: string;
}

export interface KeyPin {
  /** Private key reference (file path or URI); the passphrase stays in the worker's environment. */
  ref?: string;
  passwordEnv: string;
  publicKeyPem: string;
  fingerprint: string;
  /** A key from a trust store: the worker re-reads its status there right before signing. */
  trust?: KeyTrust;
}

export interface KeyTrust {
  /** The published trust directory (index.json). */
  publishDir: string;
  keyId: string;
}

export type PromotionSource =
  | { kind: 'directory'; path: string }
  /** An image the developer's CI already built, signed and attested (for example with cosign). */
  | { kind: 'image'; reference: string };

export interface PromotionInput {
  target: string;
  source: PromotionSource;
  /** "registry-host/path" of the image. */
  repository: string;
  /** The image digest; for a directory the deterministic build must reproduce it. */
  digest: string;
  build: BuildFacts;
  policy: TargetPolicy;
  approval: ApprovalPolicy;
  keys: { developer: KeyPin; platform: KeyPin };
  releaseTag: string;
  initiator: string;
  /** Where signatures and attestations are published (legacy when absent, as in older histories). */
  signatureFormat?: 'legacy' | 'bundle' | 'both';
}

export interface CheckResult {
  name: string;
  ok: boolean;
  message: string;
}

export interface PromotionStatus {
  promotionId: string;
  state: PromotionState;
  target: string;
  digest: string;
  repository: string;
  releaseReference?: string;
  timeline: TimelineEntry[];
  checks: CheckResult[];
  /** The approval gate: groups, votes, who is excluded and why, time left. */
  approval: ApprovalView;
  error?: string;
}

export const statusQuery = defineQuery<PromotionStatus>('status');

/** Workflow id for a promotion: derived from target and digest, so a repeated trigger finds it. */
export function promotionId(target: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return `promote-${target}-${hex.slice(0, 16)}`;
}
