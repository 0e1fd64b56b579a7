/**
 * What a promotion runs on once the worker has authorised its start request: the target as the
 * worker's configuration resolved it, pinned for the whole run (it is the authorize step's result,
 * so it lives in history and survives config edits, worker restarts and replay). Types only: the
 * workflow imports them.
 */
import type { TargetPolicy } from '../policy/policy';
import type { KeylessPin } from '../sigstore/pin';
import type { BuildFacts } from '../provenance/slsa';
import type { ApprovalConfig } from '../approval/config';

export interface KeyTrust {
  /** The published trust directory (index.json). */
  publishDir: string;
  keyId: string;
}

export interface KeyPin {
  /** Private key reference (file path or URI) from the worker's configuration; the passphrase stays in its environment. */
  ref?: string;
  passwordEnv: string;
  publicKeyPem: string;
  fingerprint: string;
  /** A key from a trust store: the worker re-reads its status there right before signing. */
  trust?: KeyTrust;
}

/** A passkey as a run pins it: its credential, its key and the relying party it belongs to. */
export interface PinnedPasskey {
  /** Credential id, base64url. */
  id: string;
  publicKeyPem: string;
  /** Uncompressed P-256 point (04||x||y) as hex, for verification inside the workflow. */
  publicKeyHex: string;
  fingerprint: string;
  name?: string;
  rpId: string;
  origin: string;
}

export interface PinnedRosterEntry {
  /** SPKI PEM of the key the person signs statements with; absent for a passkey-only approver. */
  publicKeyPem?: string;
  /** Uncompressed P-256 point (04||x||y) as hex, for verification inside the workflow. */
  publicKeyHex?: string;
  /** The file key's fingerprint; absent for a passkey-only approver. */
  fingerprint?: string;
  /** Only present when the person has passkeys (so plans without any keep their policy digest). */
  passkeys?: PinnedPasskey[];
  /** Other names this person goes by (commit author e-mails, CI user names). */
  identities: string[];
  /** Fingerprints of keys this person signs builds with (developer keys). */
  signingKeyFingerprints: string[];
}

/** A roster entry with a file key (governance and custodians sign with the CLI, never a passkey). */
export type FileKeyRosterEntry = PinnedRosterEntry & { publicKeyPem: string; publicKeyHex: string; fingerprint: string };

export type PlanSource = { kind: 'directory'; path: string } | { kind: 'image'; reference: string };

export interface PromotionPlan {
  target: string;
  /** "registry-host/path" of the image. */
  repository: string;
  digest: string;
  source: PlanSource;
  /** Claimed build facts of a directory build (what the provenance records); absent for an image. */
  build?: BuildFacts;
  /** The commit the initiator asked for, checked against the provenance. */
  requestedCommit?: string;
  policy: TargetPolicy;
  approval: ApprovalConfig & { roster: Record<string, PinnedRosterEntry> };
  keys: { developer: KeyPin; platform: KeyPin };
  /** Developer signatures also trusted by keyless identity (the target's keyless:), pinned. */
  keyless?: KeylessPin;
  releaseTag: string;
  signatureFormat: 'legacy' | 'bundle' | 'both';
  /** The initiator whose signed start request the worker accepted. */
  initiator: string;
  /** sha256 of the canonical JSON of everything above but `source`, `build` and `initiator`: the policy in force. */
  policyDigest: string;
  /** When the run re-opens a rejected one: who allowed it and why. */
  reopenedBy?: { reopener: string; reason: string; rejectedRunId: string };
  /** The worker's configuration file the plan was resolved from. */
  configFile: string;
  /** `verifier.id` of the verification summary production signing attaches (the config's verificationSummary.verifierId). */
  verifierId?: string;
}

/** The plan as the authorize step returned it: sealed by the worker for this run (src/seal/seal.ts). */
export type SealedPlan = PromotionPlan & { seal: string };

/** What seals are bound to in a promotion: each is accepted only where its kind is expected. */
export const PROMOTION_SEALS = {
  plan: 'promotion-plan',
  attestations: 'promotion-attestations',
  report: 'promotion-verification-report',
  evidence: 'promotion-evidence',
} as const;

/** Every step after authorize gets the sealed plan and the run it belongs to (the run's first execution id). */
export interface PlanInRun {
  runId: string;
  plan: SealedPlan;
}

/** Where the plan's image lives and how its signatures are written. */
export function imageOf(plan: PromotionPlan): { repository: string; digest: string; signatureFormat: PromotionPlan['signatureFormat'] } {
  return { repository: plan.repository, digest: plan.digest, signatureFormat: plan.signatureFormat };
}

/** A signing key the plan resolved from the worker's configuration (authorize refused a target without it). */
export function signingKeyOf(plan: PromotionPlan, role: 'developer' | 'platform'): { ref: string; passwordEnv: string; fingerprint: string; trust?: KeyTrust } {
  const { ref, passwordEnv, fingerprint, trust } = plan.keys[role];
  return { ref: ref ?? '', passwordEnv, fingerprint, ...(trust ? { trust } : {}) };
}
