/**
 * A campaign request: a governance member's signed statement that the worker run a compromise
 * campaign over everything one (revoked) key of one trust store signed. It names the store, the
 * key and why; never the items or what to do with them: the worker finds the items and takes the
 * action for each from its own configuration (src/trust/authorize-campaign.ts). No node:* imports.
 */
import { readStatement, unknownFields, type SignedStatement } from './statement';

export const CAMPAIGN_REQUEST_TYPE = 'https://countersign.dev/campaign-request/v1';
/** A campaign request reaches the worker within this long of being signed. */
export const CAMPAIGN_REQUEST_VALIDITY_MS = 60 * 60_000;

export interface CampaignRequest {
  _type: typeof CAMPAIGN_REQUEST_TYPE;
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

/** One campaign workflow id per store and key: a second campaign for the key is a new run of it. */
export function campaignWorkflowId(trust: string, keyId: string): string {
  return `key-campaign-${trust}-${keyId}`;
}

/** The request inside a signed campaign request, checked for shape (not signature or authority). */
export function parseCampaignRequest(signed: SignedStatement | undefined): CampaignRequest {
  const r = readStatement(signed, CAMPAIGN_REQUEST_TYPE, 'the campaign request');
  const unknown = unknownFields(r, FIELDS);
  if (unknown.length > 0) throw new Error(`the campaign request has unknown fields: ${unknown.join(', ')} (the worker's configuration decides the items and actions)`);
  const text = (name: string, pattern: RegExp): void => {
    const value = r[name];
    if (typeof value !== 'string' || !pattern.test(value)) throw new Error(`the campaign request's ${name} ${JSON.stringify(value)} is missing or malformed`);
  };
  text('trust', /^[a-z0-9][a-z0-9-]{0,62}$/);
  text('keyId', /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);
  text('fingerprint', /^[0-9A-Fa-f]{40,64}$/);
  text('requester', /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/);
  text('nonce', /^[0-9a-f]{16,64}$/);
  if (typeof r.reason !== 'string' || r.reason.trim() === '') throw new Error("the campaign request's reason must say why the campaign runs");
  if (r.reason.length > 2048) throw new Error("the campaign request's reason is longer than 2048 characters");
  if (typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time))) throw new Error(`the campaign request's time ${JSON.stringify(r.time)} is not a timestamp`);
  return r as unknown as CampaignRequest;
}

/** What a campaign request says about itself, read without trusting it (for status while the worker decides). */
export function readCampaignClaim(signed: unknown): { trust: string; keyId: string; requester: string; reason: string } {
  try {
    const r = readStatement(signed, CAMPAIGN_REQUEST_TYPE, 'the campaign request');
    const short = (v: unknown, max = 128) => (typeof v === 'string' && v.length <= max ? v : '');
    return { trust: short(r.trust), keyId: short(r.keyId), requester: short(r.requester), reason: short(r.reason, 2048) };
  } catch {
    return { trust: '', keyId: '', requester: '', reason: '' };
  }
}
