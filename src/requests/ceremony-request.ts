/**
 * A ceremony request: a governance member's signed statement that a trust store's key be rotated
 * under the plan they reviewed (its digest), for one rotation run or for every run of the store's
 * rotation schedule. The worker checks it against its own configuration (src/trust/authorize-ceremony.ts).
 * No node:* imports.
 */
import { MAX_DEADLINE_MS } from '../limits';
import { readStatement, unknownFields, type SignedStatement } from './statement';

export const CEREMONY_REQUEST_TYPE = 'https://countersign.dev/ceremony-request/v1';
/**
 * How old a request for one run (`rotation:` scope) may be when its ceremony starts. A workflow id
 * can be reused once its run has closed, so the scope alone would let a request be replayed later.
 */
export const CEREMONY_REQUEST_MAX_AGE_MS = 24 * 60 * 60 * 1000;

export interface CeremonyRequest {
  _type: typeof CEREMONY_REQUEST_TYPE;
  trust: string;
  /** The ceremony plan's digest as the initiator's copy of the configuration gives it (src/trust/resolve.ts). */
  planDigest: string;
  initiator: string;
  /**
   * The runs the request is good for: `rotation:<rotation workflow id>` for one started by hand,
   * `schedule:<schedule id>` for every run of a rotation schedule.
   */
  scope: string;
  time: string;
  /** Random; a `rotation:` request starts one run only. */
  nonce: string;
  /** A shorter custodians' deadline than the store's (never longer). */
  deadlineMs?: number;
}

const FIELDS = ['_type', 'trust', 'planDigest', 'initiator', 'scope', 'time', 'nonce', 'deadlineMs'] as const;

/** The request inside a signed ceremony request, checked for shape (not signature or authority). */
export function parseCeremonyRequest(signed: SignedStatement | undefined): CeremonyRequest {
  const r = readStatement(signed, CEREMONY_REQUEST_TYPE, 'the ceremony request');
  const unknown = unknownFields(r, FIELDS);
  if (unknown.length > 0) throw new Error(`the ceremony request has unknown fields: ${unknown.join(', ')}`);
  const text = (name: string, pattern: RegExp): void => {
    const value = r[name];
    if (typeof value !== 'string' || !pattern.test(value)) throw new Error(`the ceremony request's ${name} ${JSON.stringify(value)} is missing or malformed`);
  };
  text('trust', /^[a-z0-9][a-z0-9-]{0,62}$/);
  text('planDigest', /^sha256:[0-9a-f]{64}$/);
  text('initiator', /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/);
  text('scope', /^(rotation|schedule):[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/);
  text('nonce', /^[0-9a-f]{16,64}$/);
  if (typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time))) throw new Error(`the ceremony request's time ${JSON.stringify(r.time)} is not a timestamp`);
  if (r.deadlineMs !== undefined && (typeof r.deadlineMs !== 'number' || !Number.isInteger(r.deadlineMs) || r.deadlineMs < 1000 || r.deadlineMs > MAX_DEADLINE_MS)) {
    throw new Error(`the ceremony request's deadlineMs must be a whole number of milliseconds from 1000 to ${MAX_DEADLINE_MS} (90 days)`);
  }
  return r as unknown as CeremonyRequest;
}

/** What a ceremony request says about itself, read without trusting it (for status while the worker decides). */
export function readCeremonyClaim(signed: unknown): { trust: string; initiator: string } {
  try {
    const r = readStatement(signed, CEREMONY_REQUEST_TYPE, 'the ceremony request');
    const short = (v: unknown) => (typeof v === 'string' && v.length <= 128 ? v : '');
    return { trust: short(r.trust), initiator: short(r.initiator) };
  } catch {
    return { trust: '', initiator: '' };
  }
}
