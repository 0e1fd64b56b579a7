/**
 * The compromise campaign's public contract: input, states and query, shared by the workflow, the
 * CLI and tests. No I/O here; safe inside the workflow bundle.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { SignedStatement } from '../src/requests/statement';
import type { CampaignFindings, CampaignItem, CampaignPlan, ItemOutcome, ItemResult } from '../src/trust/campaign-plan';
import type { Sealed } from '../src/seal/seal';
import type { ApprovalView } from './approval-messages';

export { campaignWorkflowId } from '../src/requests/campaign-request';

export const KEY_CAMPAIGN_WORKFLOW_TYPE = 'keyCampaign';

/**
 * A campaign's whole input: the governance member's signed request (src/requests/campaign-request.ts).
 * `carried` is written only by the workflow itself when it continues as new, and accepted only
 * in a run continued from an earlier one (docs/security.md, Carried state).
 */
export interface CampaignInput {
  request: SignedStatement;
  carried?: CampaignCarry;
}

export type CampaignState = 'AUTHORIZING' | 'REFUSED' | 'FINDING' | 'AWAITING_APPROVAL' | 'RUNNING' | 'DONE' | 'REJECTED' | 'EXPIRED' | 'FAILED';

export type CampaignCounts = Record<ItemOutcome, number>;

export interface CampaignStatus {
  campaignId: string;
  trust: string;
  keyId: string;
  fingerprint?: string;
  /** Who the request says signed it; the worker's acceptance makes it so (state past AUTHORIZING). */
  requester: string;
  reason: string;
  state: CampaignState;
  /** The key that re-signs (the store's active key when the campaign was authorised). */
  signingKey?: { id: string; fingerprint: string };
  /** What approvers' statements name: the items with their actions (src/trust/campaign-items.ts). */
  planDigest?: string;
  /** The plan: every item and its action, shown to approvers before anything changes. */
  items: CampaignItem[];
  /** More items existed than a campaign holds. */
  capped?: boolean;
  notes?: string[];
  /** One per item done, in order; an item is done once. */
  results: ItemResult[];
  counts: CampaignCounts;
  /** The campaign's rate: items per window, the window now, and when the next opens while it waits. */
  rate?: { perMinute: number; windowMs: number; window: number; waitingUntil?: string };
  approval: ApprovalView;
  /** Who approved the plan (their signed statements are in the history and on every re-signed image). */
  approvedBy?: string[];
  /** The compromised key's index entry records this campaign. */
  indexRecorded?: boolean;
  error?: string;
}

/** What a run hands the next run of its chain (continue-as-new) while items remain. */
export interface CampaignCarry {
  /** The plan and the findings as the worker sealed them. */
  plan: Sealed<CampaignPlan>;
  findings: Sealed<CampaignFindings>;
  status: CampaignStatus;
  /** The approvers' signed statements, attached to every image re-signed from here on. */
  decisions: Array<{ approver: string; decision: string; statement: string; signature: string } & Record<string, unknown>>;
  window: { index: number; startedAt: number; used: number };
}

export const campaignQuery = defineQuery<CampaignStatus>('campaign');

/** The states before the plan: the worker checks the request, then finds the items (minutes, for a large fleet). */
export const CAMPAIGN_BEFORE_PLAN_STATES: readonly CampaignState[] = ['AUTHORIZING', 'FINDING'];

/**
 * Returns the status once the worker has answered the request: the plan approvers will see (or a
 * refusal, or nothing found), so `keys campaign` learns it without polling. Reads and changes nothing.
 */
export const campaignPlanUpdate = defineUpdate<CampaignStatus>('waitForPlan');

export const ZERO_COUNTS: CampaignCounts = { resigned: 0, quarantined: 0, reported: 0, unchanged: 0, failed: 0 };
