/**
 * The client side of a compromise campaign: a governance member signs a campaign request naming a
 * revoked key, the worker decides and runs it (workflows/key-campaign.ts), approvers approve its
 * plan with `countersign approve`, and its progress and report are read from the workflow.
 */
import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Config } from '../config';
import { CountersignError } from '../errors';
import { keyFingerprint } from '../keys/public-key';
import type { Signer } from '../keys/signer';
import { CAMPAIGN_REQUEST_TYPE, campaignWorkflowId, parseCampaignRequest, type CampaignRequest } from '../requests/campaign-request';
import { newNonce, signStatement } from '../requests/sign';
import { canonicalJson, type SignedStatement } from '../requests/statement';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import { KEY_CAMPAIGN_WORKFLOW_TYPE, type CampaignStatus } from '../../workflows/key-campaign-messages';
import type { TrustConfig } from '../trust/config';
import { findKey, type TrustKey } from '../trust/index-file';
import { pinPeople } from '../trust/resolve';
import { TrustStore } from '../trust/store';
import { keyWorkflowStatus, waitForKeyWorkflow } from './trust';

/** The states a campaign ends in. */
export const CAMPAIGN_ENDED = ['REFUSED', 'DONE', 'REJECTED', 'EXPIRED', 'FAILED'];

/**
 * The requester's signed campaign request for one key of `trust`, found (by id, fingerprint or a
 * unique fingerprint prefix) among that store's keys in the caller's copy of its index. It names
 * the key and why, nothing else: the worker decides the items and the action for each.
 */
export async function signCampaignRequest(
  config: Config,
  trust: TrustConfig,
  requester: string,
  which: string,
  reason: string,
  options: { signer: Signer; time?: Date },
): Promise<{ request: SignedStatement; key: TrustKey }> {
  if (!reason.trim()) throw new CountersignError('BAD_INPUT', '--reason is required: say why the campaign runs');
  if (!trust.governance.includes(requester)) {
    throw new CountersignError('BAD_INPUT', `${requester} is not in trust.${trust.name}.governance (${trust.governance.join(', ')}); only governance members start campaigns over its keys`);
  }
  const own = (await pinPeople(config, [requester], 'governance member'))[requester];
  const signerFingerprint = keyFingerprint(await options.signer.publicKeyPem());
  if (signerFingerprint !== own.fingerprint) {
    throw new CountersignError('KEY_INVALID', `the key given to sign the campaign request (${signerFingerprint.slice(0, 16)}) is not ${requester}'s roster key (${own.fingerprint.slice(0, 16)})`);
  }
  const store = new TrustStore(trust);
  const index = await store.index();
  const key = findKey({ ...index, keys: store.ownKeys(index).filter((k) => k.kind === trust.kind) }, which);
  if (!key) throw new CountersignError('KEY_UNKNOWN', `key ${which} is not in trust store ${trust.name} (see countersign keys list --trust ${trust.name})`);
  const request: CampaignRequest = {
    _type: CAMPAIGN_REQUEST_TYPE,
    trust: trust.name,
    keyId: key.id,
    fingerprint: key.fingerprint,
    reason: reason.trim(),
    requester,
    time: (options.time ?? new Date()).toISOString(),
    nonce: newNonce(),
  };
  try {
    parseCampaignRequest({ statement: canonicalJson(request), signature: '' });
  } catch (err) {
    throw new CountersignError('BAD_INPUT', (err as Error).message);
  }
  return { request: await signStatement(request, options.signer), key };
}

/** Sends a signed campaign request to the worker: the workflow `key-campaign-<trust>-<key id>`. One running is not started twice. */
export async function requestCampaign(client: Client, request: SignedStatement): Promise<string> {
  const { trust, keyId } = parseCampaignRequest(request);
  const workflowId = campaignWorkflowId(trust, keyId);
  try {
    await client.workflow.start(KEY_CAMPAIGN_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId, args: [{ request }] });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CountersignError('BAD_INPUT', `${workflowId} is already running: follow it with countersign keys status ${workflowId}`);
    throw err;
  }
  return workflowId;
}

/** A campaign's status, running or finished. */
export async function getCampaignStatus(client: Client, id: string): Promise<CampaignStatus> {
  const found = await keyWorkflowStatus(client, id);
  if (found.type !== 'campaign') throw new CountersignError('UNKNOWN_PROMOTION', `${id} is a key ${found.type}, not a campaign`);
  return found.status;
}

/** Waits until the campaign's state satisfies `until` or it has ended. */
export async function waitForCampaign(client: Client, id: string, until: (s: CampaignStatus) => boolean, timeoutMs?: number): Promise<CampaignStatus> {
  const found = await waitForKeyWorkflow(client, id, (s) => s.type === 'campaign' && (CAMPAIGN_ENDED.includes(s.status.state) || until(s.status)), { timeoutMs });
  return found.status as CampaignStatus;
}
