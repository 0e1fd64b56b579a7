/**
 * The client side of a compromise campaign: a governance member signs a campaign request naming a
 * revoked key, the worker decides and runs it (workflows/key-campaign.ts), approvers approve its
 * plan with `countersign approve`, and its progress and report are read from the workflow.
 */
import type { Client } from '@temporalio/client';
import { CountersignError } from '../errors';
import { workflowAnswer } from './workflow-answer';
import type { Config } from '../config';
import type { Signer } from '../keys/signer';
import { CAMPAIGN_REQUEST_TYPE, campaignWorkflowId, parseCampaignRequest } from '../requests/campaign-request';
import type { SignedStatement } from '../requests/statement';
import { CAMPAIGN_BEFORE_PLAN_STATES, KEY_CAMPAIGN_WORKFLOW_TYPE, campaignPlanUpdate, type CampaignStatus } from '../../workflows/key-campaign-messages';
import type { TrustConfig } from '../trust/config';
import { signKeyRequest } from './key-request';
import { keyStatusOf, startKeyWorkflow, waitForKeyStatus } from './key-workflow';

/** The states a campaign ends in. */
export const CAMPAIGN_ENDED = ['REFUSED', 'DONE', 'REJECTED', 'EXPIRED', 'FAILED'];

/**
 * The requester's signed campaign request for one key of `trust`, found (by id, fingerprint or a
 * unique fingerprint prefix) among that store's keys in the caller's copy of its index. It names
 * the key and why, nothing else: the worker decides the items and the action for each.
 */
export function signCampaignRequest(config: Config, trust: TrustConfig, requester: string, which: string, reason: string, options: { signer: Signer; time?: Date }) {
  return signKeyRequest(
    { type: CAMPAIGN_REQUEST_TYPE, noun: 'campaign request', why: 'why the campaign runs', act: 'start campaigns over its keys', parse: parseCampaignRequest },
    config,
    trust,
    requester,
    which,
    reason,
    options,
  );
}

/** Sends a signed campaign request to the worker: the workflow `key-campaign-<trust>-<key id>`. One running is not started twice. */
export async function requestCampaign(client: Client, request: SignedStatement): Promise<string> {
  const { trust, keyId } = parseCampaignRequest(request);
  const workflowId = campaignWorkflowId(trust, keyId);
  return startKeyWorkflow(client, KEY_CAMPAIGN_WORKFLOW_TYPE, workflowId, request, `${workflowId} is already running: follow it with countersign keys status ${workflowId}`);
}

/** A campaign's status, running or finished. */
export function getCampaignStatus(client: Client, id: string): Promise<CampaignStatus> {
  return keyStatusOf(client, id, 'campaign');
}

/** Waits until the campaign's state satisfies `until` or it has ended. */
export function waitForCampaign(client: Client, id: string, until: (s: CampaignStatus) => boolean, timeoutMs?: number): Promise<CampaignStatus> {
  return waitForKeyStatus(client, id, 'campaign', CAMPAIGN_ENDED, until, timeoutMs);
}

/**
 * The campaign once the worker has answered its request: the plan approvers are asked to approve
 * (or REFUSED, or ended with nothing found). The workflow's waitForPlan update answers when the
 * finding ends, so nothing polls however long it takes; a worker from before the update gets the
 * status polled instead, and no worker taking the run's task in time is STACK_ERROR.
 */
export function waitForCampaignPlan(client: Client, id: string): Promise<CampaignStatus> {
  return workflowAnswer(client, id, campaignPlanUpdate, {
    poll: () => waitForCampaign(client, id, (s) => !CAMPAIGN_BEFORE_PLAN_STATES.includes(s.state)),
    notFound: () => new CountersignError('UNKNOWN_PROMOTION', `no campaign "${id}"`),
  });
}
