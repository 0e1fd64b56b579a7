/**
 * A root request: a governance member's signed statement asking the worker to draft the next
 * root of one trust store (docs/trust.md, The root). It names the store and the version only;
 * what the root says (governance keys, threshold, index key) comes from the worker's
 * configuration, and governance members sign the draft itself. No node:* imports.
 */
import { readStatement, unknownFields, type SignedStatement } from './statement';

export const ROOT_REQUEST_TYPE = 'https://countersign.dev/root-request/v1';
/** A root request reaches the worker within this long of being signed. */
export const ROOT_REQUEST_VALIDITY_MS = 60 * 60_000;

export interface RootRequest {
  _type: typeof ROOT_REQUEST_TYPE;
  trust: string;
  /** The version to draft: one more than the newest published (1 for the first). */
  version: number;
  requester: string;
  time: string;
  nonce: string;
}

const FIELDS = ['_type', 'trust', 'version', 'requester', 'time', 'nonce'] as const;

/** One workflow per store and version, so a second request for the same root joins the first. */
export function rootWorkflowId(trust: string, version: number): string {
  return `key-root-${trust}-${version}`;
}

export function parseRootRequest(signed: SignedStatement | undefined): RootRequest {
  const r = readStatement(signed, ROOT_REQUEST_TYPE, 'the root request');
  const unknown = unknownFields(r, FIELDS);
  if (unknown.length > 0) throw new Error(`the root request has unknown fields: ${unknown.join(', ')}`);
  const text = (name: string, pattern: RegExp): void => {
    if (typeof r[name] !== 'string' || !pattern.test(r[name] as string)) throw new Error(`the root request's ${name} ${JSON.stringify(r[name])} is missing or malformed`);
  };
  text('trust', /^[a-z0-9][a-z0-9-]{0,62}$/);
  text('requester', /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/);
  text('nonce', /^[0-9a-f]{16,64}$/);
  if (!Number.isSafeInteger(r.version) || (r.version as number) < 1) throw new Error(`the root request's version ${JSON.stringify(r.version)} is not a whole number of at least 1`);
  if (typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time))) throw new Error(`the root request's time ${JSON.stringify(r.time)} is not a timestamp`);
  return r as unknown as RootRequest;
}

/** What a root request says about itself, read without trusting it (for status while the worker decides). */
export function readRootClaim(signed: unknown): { trust: string; version: number; requester: string } {
  try {
    const r = readStatement(signed, ROOT_REQUEST_TYPE, 'the root request');
    const short = (v: unknown) => (typeof v === 'string' && v.length <= 128 ? v : '');
    return { trust: short(r.trust), version: Number.isSafeInteger(r.version) ? (r.version as number) : 0, requester: short(r.requester) };
  } catch {
    return { trust: '', version: 0, requester: '' };
  }
}
