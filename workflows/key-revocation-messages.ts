/**
 * The key revocation's public contract: input, states and query, shared by the workflow, the CLI
 * and tests. No I/O here; safe inside the workflow bundle.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { SignedStatement } from '../src/requests/statement';
import type { TrustKey } from '../src/trust/index-file';
import type { ApprovalView } from './approval-messages';

export { revocationWorkflowId } from '../src/requests/revocation-request';

export const KEY_REVOCATION_WORKFLOW_TYPE = 'keyRevocation';

/** A revocation's whole input: the governance member's signed request (src/requests/revocation-request.ts). */
export interface RevocationInput {
  request: SignedStatement;
}

export type RevocationState = 'AUTHORIZING' | 'REFUSED' | 'AWAITING_SIGNATURES' | 'REVOKING' | 'REVOKED' | 'EXPIRED' | 'REJECTED' | 'FAILED';

export interface RevocationStatus {
  revocationId: string;
  trust: string;
  keyId: string;
  fingerprint?: string;
  /** Who the request says signed it; the worker's acceptance makes it so (state past AUTHORIZING). */
  requester: string;
  reason: string;
  /** Signatures needed, the requester's included (the store's revocation.required). */
  required?: number;
  state: RevocationState;
  /** Everyone whose signature counts so far: the requester, then co-signers. */
  signers: string[];
  approval: ApprovalView;
  /** The key as the index holds it after the revocation. */
  key?: TrustKey;
  /** With revocation.disableKmsKey and a KMS key: whether KMS disabled it (the revocation stands either way). */
  kms?: { ref: string; disabled: boolean; error?: string };
  error?: string;
}

export const revocationQuery = defineQuery<RevocationStatus>('revocation');

/** The states the worker passes through on its own, before its answer: checking the request, and revoking once the signatures are in. */
export const REVOCATION_BEFORE_ANSWER_STATES: readonly RevocationState[] = ['AUTHORIZING', 'REVOKING'];

/**
 * Returns the status once the revocation waits for co-signers or has ended, so `keys revoke`
 * learns the worker's answer without polling. Reads and changes nothing.
 */
export const revocationAnswerUpdate = defineUpdate<RevocationStatus>('waitForAnswer');
