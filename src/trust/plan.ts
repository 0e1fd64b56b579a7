/**
 * What a key ceremony and a revocation run on once the worker has authorised their signed request:
 * the trust store as the worker's configuration resolved it, returned by the first activity and so
 * pinned in history for the run. Types only: the workflows import them.
 */
import type { ApprovalConfig } from '../approval/config';
import type { PinnedRosterEntry } from '../promotion/plan';
import type { KeyBackend } from './config';
import type { KeyKind } from './index-file';

/** Where a store publishes, and which store it is (stores may share a directory). */
export interface StoreLocation {
  name: string;
  publishDir: string;
  stateFile: string;
}

export interface CeremonyPlan {
  trust: string;
  kind: KeyKind;
  /** The governance member whose signed request the worker accepted. */
  initiator: string;
  /** The custodians' gate: group "custodians", M of N, roster keys pinned, deadline. */
  custodians: ApprovalConfig & { roster: Record<string, PinnedRosterEntry> };
  backend: KeyBackend;
  userId?: { name: string; email?: string };
  location: StoreLocation;
  overlapMs: number;
  /** sha256 of the store's configuration as written (src/trust/resolve.ts); custodians' statements name it. */
  planDigest: string;
  /** The runs the request was signed for (`rotation:…` or `schedule:…`). */
  scope: string;
  /** The worker's configuration file the plan was resolved from. */
  configFile: string;
}

export interface RevocationPlan {
  trust: string;
  keyId: string;
  fingerprint: string;
  kind: KeyKind;
  reason: string;
  requester: string;
  requestedAt: string;
  /** sha256 of the signed request's statement bytes; co-signers' statements name it. */
  requestDigest: string;
  /** Signatures needed, the requester's included (trust.<name>.revocation.required). */
  required: number;
  /** The co-signers' gate: group "governance" (the requester excluded), required - 1 of them. */
  cosigners: ApprovalConfig & { roster: Record<string, PinnedRosterEntry> };
  location: StoreLocation;
  /** The key was revoked already (by an earlier run): nothing is signed or written again. */
  alreadyRevoked: boolean;
  /** Disable the key in KMS too (trust.<name>.revocation.disableKmsKey). */
  disableKmsKey?: boolean;
  configFile: string;
}

/** What governance seals are bound to (src/seal/seal.ts): each is accepted only where its kind is expected. */
export const GOVERNANCE_SEALS = {
  ceremonyPlan: 'key-ceremony-plan',
  createdKey: 'key-ceremony-created-key',
  publication: 'key-ceremony-publication',
  revocationPlan: 'key-revocation-plan',
  campaignPlan: 'key-campaign-plan',
  campaignFindings: 'key-campaign-findings',
} as const;

/** A custodian's, co-signer's or approver's vote as the gate recorded it: re-checked by the step that acts on it. */
export interface RecordedVote {
  approver: string;
  decision: string;
  statement: string;
  signature: string;
}
