/**
 * A campaign request: a governance member's signed statement that the worker run a compromise
 * campaign over everything one (revoked) key of one trust store signed (the shape in
 * key-request.ts). It names the store, the key and why; never the items or what to do with them:
 * the worker finds the items and takes the action for each from its own configuration
 * (src/trust/authorize-campaign.ts). No node:* imports.
 */
import { KEY_REQUEST_VALIDITY_MS, keyRequestFormat, type KeyRequest } from './key-request';

export const CAMPAIGN_REQUEST_TYPE = 'https://countersign.dev/campaign-request/v1';
/** A campaign request reaches the worker within this long of being signed. */
export const CAMPAIGN_REQUEST_VALIDITY_MS = KEY_REQUEST_VALIDITY_MS;

export type CampaignRequest = KeyRequest<typeof CAMPAIGN_REQUEST_TYPE>;

/** One campaign workflow id per store and key: a second campaign for the key is a new run of it. */
export function campaignWorkflowId(trust: string, keyId: string): string {
  return `key-campaign-${trust}-${keyId}`;
}

const format = keyRequestFormat(CAMPAIGN_REQUEST_TYPE, {
  noun: 'campaign',
  why: 'why the campaign runs',
  unknownHint: "the worker's configuration decides the items and actions",
});

/** The request inside a signed campaign request, checked for shape (not signature or authority). */
export const parseCampaignRequest = format.parse;
/** What a campaign request says about itself, read without trusting it (for status while the worker decides). */
export const readCampaignClaim = format.readClaim;
