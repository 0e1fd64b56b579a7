/**
 * The shape shared by the governance requests about one key of one trust store (a revocation, a
 * compromise campaign): a governance member's signed statement naming the store, the key (id and
 * fingerprint), why, who and when, used once. Each kind has its own type URI and words; the worker
 * checks signature and authority (src/trust/governance.ts). No node:* imports: workflows read them.
 */
import { readStatement, unknownFields, type SignedStatement } from './statement';

/** A key request reaches the worker within this long of being signed. */
export const KEY_REQUEST_VALIDITY_MS = 60 * 60_000;

export interface KeyRequest<T extends string> {
  _type: T;
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

export interface KeyRequestClaim {
  trust: string;
  keyId: string;
  requester: string;
  reason: string;
}

const FIELDS = ['_type', 'trust', 'keyId', 'fingerprint', 'reason', 'requester', 'time', 'nonce'] as const;

/**
 * Parsing for one kind of key request: `noun` names it in errors ("revocation"), `why` says what
 * the reason must explain, `unknownHint` what to say of fields it does not take.
 */
export function keyRequestFormat<T extends string>(type: T, words: { noun: string; why: string; unknownHint?: string }) {
  const what = `the ${words.noun} request`;
  return {
    /** The request inside a signed statement, checked for shape (not signature or authority). */
    parse(signed: SignedStatement | undefined): KeyRequest<T> {
      const r = readStatement(signed, type, what);
      const unknown = unknownFields(r, FIELDS);
      if (unknown.length > 0) throw new Error(`${what} has unknown fields: ${unknown.join(', ')}${words.unknownHint ? ` (${words.unknownHint})` : ''}`);
      const text = (name: string, pattern: RegExp): void => {
        const value = r[name];
        if (typeof value !== 'string' || !pattern.test(value)) throw new Error(`${what}'s ${name} ${JSON.stringify(value)} is missing or malformed`);
      };
      text('trust', /^[a-z0-9][a-z0-9-]{0,62}$/);
      text('keyId', /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);
      text('fingerprint', /^[0-9A-Fa-f]{40,64}$/);
      text('requester', /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/);
      text('nonce', /^[0-9a-f]{16,64}$/);
      if (typeof r.reason !== 'string' || r.reason.trim() === '') throw new Error(`${what}'s reason must say ${words.why}`);
      if (r.reason.length > 2048) throw new Error(`${what}'s reason is longer than 2048 characters`);
      if (typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time))) throw new Error(`${what}'s time ${JSON.stringify(r.time)} is not a timestamp`);
      return r as unknown as KeyRequest<T>;
    },

    /** What a request says about itself, read without trusting it (for status while the worker decides). */
    readClaim(signed: unknown): KeyRequestClaim {
      try {
        const r = readStatement(signed, type, what);
        const short = (v: unknown, max = 128) => (typeof v === 'string' && v.length <= max ? v : '');
        return { trust: short(r.trust), keyId: short(r.keyId), requester: short(r.requester), reason: short(r.reason, 2048) };
      } catch {
        return { trust: '', keyId: '', requester: '', reason: '' };
      }
    },
  };
}
