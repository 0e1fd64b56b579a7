/**
 * The key ceremony's and key rotation's public contract: inputs, states and queries, shared by
 * the workflows, the CLI and tests. No I/O here; safe inside the workflow bundle.
 */
import type { Publication } from '../activities/keys';
import type { Sealed } from '../src/seal/seal';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
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

/** NOTHING_MADE: the ceremony id's key was published by an earlier run (a replayed rotation); `note` says which and what it is now. */
export type CeremonyState = 'AUTHORIZING' | 'REFUSED' | 'AWAITING_CUSTODIANS' | 'CREATING' | 'PUBLISHING' | 'PUBLISHED' | 'NOTHING_MADE' | 'EXPIRED' | 'REJECTED' | 'FAILED';

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
  /** The published key, once PUBLISHED (NOTHING_MADE: the key an earlier run published, as the index holds it now). */
  key?: TrustKey;
  /** Keys that became retiring when this one was published. */
  retiring: TrustKey[];
  /** The ceremony's first run id, once it published: with `publication`, what a rotation acts on. */
  runId?: string;
  /** What the publish step returned, sealed by the worker: a rotation retires only what it lists. */
  publication?: Sealed<Publication>;
  /** What happened when it is not what the state's name suggests (NOTHING_MADE). */
  note?: string;
  error?: string;
}

/** A rotation's input: the ceremony's, and how often to look for runs still pinned to the old key. */
export interface RotationInput extends CeremonyInput {
  retirePollMs?: number;
}

/** NOTHING_MADE: the ceremony found its key published by an earlier run; nothing was made and nothing retires. */
export type RotationState = 'CEREMONY' | 'RETIRING' | 'DONE' | 'NOTHING_MADE' | 'REFUSED' | 'EXPIRED' | 'REJECTED' | 'FAILED';

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
  /** The key this rotation's ceremony published (never set when it made nothing). */
  newKey?: TrustKey;
  retiring: RetiringKey[];
  note?: string;
  error?: string;
}

export const ceremonyQuery = defineQuery<CeremonyStatus>('ceremony');
export const rotationQuery = defineQuery<RotationStatus>('rotation');

/**
 * Read-only waiting updates (workflows/waiting-update.ts) for `keys ceremony`: the rotation
 * answers once its ceremony has started (before that the ceremony's id names no run), the
 * ceremony once the worker has checked the request (REFUSED, or custodians asked). Neither takes
 * input.
 */
export const rotationCeremonyUpdate = defineUpdate<RotationStatus>('waitForCeremony');
export const ceremonyAnswerUpdate = defineUpdate<CeremonyStatus>('waitForAnswer');
