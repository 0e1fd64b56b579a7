/**
 * The key ceremony's and key rotation's public contract: inputs, states and queries, shared by
 * the workflows, the CLI and tests. No I/O here; safe inside the workflow bundle.
 */
import { defineQuery } from '@temporalio/workflow';
import type { KeyBackend } from '../src/trust/config';
import type { KeyKind, TrustKey } from '../src/trust/index-file';
import type { ApprovalPolicy, ApprovalView, RosterEntry } from './approval-messages';
import type { SignedCeremonyRequest } from './ceremony-request';

export const KEY_CEREMONY_WORKFLOW_TYPE = 'keyCeremony';
export const KEY_ROTATION_WORKFLOW_TYPE = 'keyRotation';
/** Schedules that run rotations are named `key-rotation-<trust>`. */
export const ROTATION_SCHEDULE_PREFIX = 'key-rotation-';
export const DEFAULT_RETIRE_POLL_MS = 5 * 60_000;

export interface CeremonyInput {
  /** The trust store's name (config trust:). */
  trust: string;
  kind: KeyKind;
  /** The governance member who started it; SoD: they may not also join as a custodian. */
  initiator: string;
  /** The initiator's signed request (workflows/ceremony-request.ts), checked before any custodian is asked. */
  request: SignedCeremonyRequest;
  /** The trust store's governance members, roster keys pinned: who may sign a request. */
  governance: Record<string, RosterEntry>;
  /** sha256 of the ceremony plan; custodians' signed statements name it (as a promotion's digest). */
  planDigest: string;
  /** The custodians' gate: group "custodians", M of N, roster pinned, deadline. */
  custodians: ApprovalPolicy;
  backend: KeyBackend;
  userId?: { name: string; email?: string };
  publishDir: string;
  stateFile: string;
  overlapMs: number;
}

export type CeremonyState = 'REFUSED' | 'AWAITING_CUSTODIANS' | 'CREATING' | 'PUBLISHING' | 'PUBLISHED' | 'EXPIRED' | 'REJECTED' | 'FAILED';

export interface CeremonyStatus {
  ceremonyId: string;
  trust: string;
  kind: KeyKind;
  initiator: string;
  state: CeremonyState;
  approval: ApprovalView;
  /** The published key, once PUBLISHED. */
  key?: TrustKey;
  /** Keys that became retiring when this one was published. */
  retiring: TrustKey[];
  error?: string;
}

export interface RotationInput {
  ceremony: CeremonyInput;
  /** How often the retire step asks visibility for promotions still pinned to the old key. */
  retirePollMs?: number;
}

export type RotationState = 'CEREMONY' | 'RETIRING' | 'DONE' | 'REFUSED' | 'EXPIRED' | 'REJECTED' | 'FAILED';

export interface RetiringKey {
  id: string;
  fingerprint: string;
  retireAfter?: string;
  /** Promotions still pinned to it at the last look. */
  inFlight: number;
  retiredAt?: string;
}

export interface RotationStatus {
  rotationId: string;
  ceremonyId: string;
  state: RotationState;
  newKey?: TrustKey;
  retiring: RetiringKey[];
  error?: string;
}

export const ceremonyQuery = defineQuery<CeremonyStatus>('ceremony');
export const rotationQuery = defineQuery<RotationStatus>('rotation');

/** The ceremony run by a rotation: `key-rotation-…` becomes `key-ceremony-…`. */
export function ceremonyIdFor(rotationId: string): string {
  return rotationId.startsWith('key-rotation-') ? `key-ceremony-${rotationId.slice('key-rotation-'.length)}` : `${rotationId}-ceremony`;
}
