/**
 * A revocation request: a governance member's signed statement that one key of one trust store be
 * revoked, and why. The worker checks it against its own configuration (src/trust/authorize-revocation.ts);
 * further governance members co-sign through the approval gate when the store asks for more
 * than one signature. No node:* imports.
 */
import { readStatement, unknownFields, type SignedStatement } from './statement';

export const REVOCATION_REQUEST_TYPE = 'https://countersign.dev/revocation-request/v1';
/** A revocation request reaches the worker within this long of being signed. */
export const REVOCATION_REQUEST_VALIDITY_MS = 60 * 60_000;

export interface RevocationRequest {
  _type: typeof REVOCATION_REQUEST_TYPE;
  trust: string;
  keyId: string;
  /** The key's fingerprint as the index gives it: the statement names one key, not whatever later holds the id. */
  fingerprint: string;
  reason: string;
  requester: string;
  time: string;
  /** Random; a request is used once. */
  nonce: string;
}

const FIELDS = ['_type', 'trust', 'keyId', 'fingerprint', 'reason', 'requester', 'time', 'nonce'] as const;

/** The workflow that carries a revocation: one per store and key, so a second request joins the history of the first. */
export function revocationWorkflowId(trust: string, keyId: string): string {
  return `key-revocation-${trust}-${keyId}`;
}

/** The request inside a signed revocation request, checked for shape (not signature or authority). */
export function parseRevocationRequest(signed: SignedStatement | undefined): RevocationRequest {
  const r = readStatement(signed, REVOCATION_REQUEST_TYPE, 'the revocation request');
  const unknown = unknownFields(r, FIELDS);
  if (unknown.length > 0) throw new Error(`the revocation request has unknown fields: ${unknown.join(', ')}`);
  const text = (name: string, pattern: RegExp): void => {
    const value = r[name];
    if (typeof value !== 'string' || !pattern.test(value)) throw new Error(`the revocation request's ${name} ${JSON.stringify(value)} is missing or malformed`);
  };
  text('trust', /^[a-z0-9][a-z0-9-]{0,62}$/);
  text('keyId', /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);
  text('fingerprint', /^[0-9A-Fa-f]{40,64}$/);
  text('requester', /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/);
  text('nonce', /^[0-9a-f]{16,64}$/);
  if (typeof r.reason !== 'string' || r.reason.trim() === '') throw new Error("the revocation request's reason must say why the key is revoked");
  if (r.reason.length > 2048) throw new Error("the revocation request's reason is longer than 2048 characters");
  if (typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time))) throw new Error(`the revocation request's time ${JSON.stringify(r.time)} is not a timestamp`);
  return r as unknown as RevocationRequest;
}

/** What a revocation request says about itself, read without trusting it (for status while the worker decides). */
export function readRevocationClaim(signed: unknown): { trust: string; keyId: string; requester: string; reason: string } {
  try {
    const r = readStatement(signed, REVOCATION_REQUEST_TYPE, 'the revocation request');
    const short = (v: unknown, max = 128) => (typeof v === 'string' && v.length <= max ? v : '');
    return { trust: short(r.trust), keyId: short(r.keyId), requester: short(r.requester), reason: short(r.reason, 2048) };
  } catch {
    return { trust: '', keyId: '', requester: '', reason: '' };
  }
}
