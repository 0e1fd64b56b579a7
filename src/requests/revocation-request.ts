/**
 * A revocation request: a governance member's signed statement that one key of one trust store be
 * revoked, and why (the shape in key-request.ts). The worker checks it against its own
 * configuration (src/trust/authorize-revocation.ts); further governance members co-sign through
 * the approval gate when the store asks for more than one signature. No node:* imports.
 */
import { KEY_REQUEST_VALIDITY_MS, keyRequestFormat, type KeyRequest } from './key-request';

export const REVOCATION_REQUEST_TYPE = 'https://countersign.dev/revocation-request/v1';
/** A revocation request reaches the worker within this long of being signed. */
export const REVOCATION_REQUEST_VALIDITY_MS = KEY_REQUEST_VALIDITY_MS;

export type RevocationRequest = KeyRequest<typeof REVOCATION_REQUEST_TYPE>;

/** The workflow that carries a revocation: one per store and key, so a second request joins the history of the first. */
export function revocationWorkflowId(trust: string, keyId: string): string {
  return `key-revocation-${trust}-${keyId}`;
}

const format = keyRequestFormat(REVOCATION_REQUEST_TYPE, { noun: 'revocation', why: 'why the key is revoked' });

/** The request inside a signed revocation request, checked for shape (not signature or authority). */
export const parseRevocationRequest = format.parse;
/** What a revocation request says about itself, read without trusting it (for status while the worker decides). */
export const readRevocationClaim = format.readClaim;
