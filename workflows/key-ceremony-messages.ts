/**
 * The key ceremony's and key rotation's public contract: inputs, states and queries, shared by
 * the workflows, the CLI and tests. No I/O here; safe inside the workflow bundle.
 */
import { defineQuery } from '@temporalio/workflow';
import type { SignedStatement } from '../src/requests/statement';
import type { KeyKind, TrustKey } from '../src/trust/index-file';
import type { StoreLocation } from '../src/trust/plan';
import type { ApprovalView } from './approval-messages';

export { ROTATION_SCHEDULE_PREFIX, ceremonyIdFor } from '../src/trust/ids';

export const KEY_CEREMONY_WORKFLOW_TYPE = 'keyCeremony';
export const KEY_ROTATION_WORKFLOW_TYPE = 'keyRotation';
export const DEFAULT_RETIRE_POLL_MS = 5 * 60_000;
export const MIN_RETIRE_POLL_MS = 100;

/**
 * A ceremony's whole input: which trust store, and the governance member's signed request
 * (src/requests/ceremony-request.ts). The worker resolves everything else from its configuration.
 */
export interface CeremonyInput {
  /** The trust store's name in the worker's configuration (trust:). */
  trust: string;
  request: SignedStatement;
}

export type CeremonyState = 'AUTHORIZING' | 'REFUSED' | 'AWAITING_CUSTODIANS' | 'CREATING' | 'PUBLISHING' | 'PUBLISHED' | 'EXPIRED' | 'REJECTED' | 'FAILED';

export interface CeremonyStatus {
  ceremonyId: string;
  trust: string;
  /** The store's key kind, once the worker has resolved the store. */
  kind?: KeyKind;
  /** Who the request says signed it; the worker's acceptance makes it so (state past AUTHORIZING). */
  initiator: string;
  state: CeremonyState;
  approval: ApprovalView;
  /** The plan's digest the custodians sign, once resolved. */
  planDigest?: string;
  /** Where the key is published (from the worker's configuration), once resolved. */
  location?: StoreLocation;
  /** The published key, once PUBLISHED. */
  key?: TrustKey;
  /** Keys that became retiring when this one was published. */
  retiring: TrustKey[];
  error?: string;
}

/** A rotation's input: the ceremony's, and how often to look for runs still pinned to the old key. */
export interface RotationInput extends CeremonyInput {
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
