/**
 * `trust.<name>.campaign`: what a compromise campaign over one of the store's keys does with each
 * image the key signed (re-sign with the active key after platform verify passes again, or
 * quarantine), how fast, and who approves its plan. Read only from the worker's configuration.
 */
import { parseApproval, type ApprovalConfig, type RosterConfig } from '../approval/config';

export const CAMPAIGN_ACTIONS = ['resign', 'quarantine'] as const;
export type CampaignAction = (typeof CAMPAIGN_ACTIONS)[number];
export const VERIFY_FAILURE_ACTIONS = ['quarantine', 'report'] as const;
export type VerifyFailureAction = (typeof VERIFY_FAILURE_ACTIONS)[number];

/** Quarantine unless told otherwise: an image nobody vouched for again should not stay released. */
export const DEFAULT_CAMPAIGN_ACTION: CampaignAction = 'quarantine';
/** Items a campaign changes per minute unless configured: gentle on registry and KMS, an hour for 1,800 images. */
export const DEFAULT_CAMPAIGN_PER_MINUTE = 30;
export const MAX_CAMPAIGN_PER_MINUTE = 600;
/** How long the campaign's approvers have to approve its plan unless configured. */
export const DEFAULT_CAMPAIGN_DEADLINE = '24h';
/** The rate window; a test may shorten it on the parsed configuration (like reminderEveryMs). */
export const CAMPAIGN_WINDOW_MS = 60_000;
/** Items one run does before continuing as new (its history stays short); a test may lower it on the parsed configuration. */
export const CAMPAIGN_ITEMS_PER_RUN = 100;

export interface CampaignConfig {
  /** The action for items of targets `targets` does not name. */
  action: CampaignAction;
  /** Per target (by target name): its own action. */
  targets: Record<string, CampaignAction>;
  /** A re-sign whose platform verify fails again: quarantine it, or leave it as it is and report it. */
  onVerifyFailure: VerifyFailureAction;
  /** At most this many items are changed per window. */
  perMinute: number;
  windowMs: number;
  itemsPerRun: number;
  /** Who approves the campaign's plan before anything changes: one group "campaign". */
  approval: ApprovalConfig;
}

type Raw = Record<string, unknown>;
type Add = (field: string, problem: string) => void;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The store's campaign settings; approvers default to its custodians (members and quorum). */
export function parseCampaign(value: unknown, at: string, roster: Record<string, RosterConfig>, custodians: ApprovalConfig, add: Add): CampaignConfig {
  const raw: Raw = value === undefined ? {} : isObject(value) ? value : (add(at, 'must be { action, targets, onVerifyFailure, perMinute, approvers }'), {});
  const action = (raw.action ?? DEFAULT_CAMPAIGN_ACTION) as CampaignAction;
  if (!CAMPAIGN_ACTIONS.includes(action)) add(`${at}.action`, `must be one of ${CAMPAIGN_ACTIONS.join(', ')}`);
  const targets: Record<string, CampaignAction> = {};
  if (raw.targets !== undefined) {
    if (!isObject(raw.targets)) add(`${at}.targets`, 'must map target names to resign or quarantine');
    else {
      for (const [name, a] of Object.entries(raw.targets)) {
        if (!CAMPAIGN_ACTIONS.includes(a as CampaignAction)) add(`${at}.targets.${name}`, `must be one of ${CAMPAIGN_ACTIONS.join(', ')}`);
        else targets[name] = a as CampaignAction;
      }
    }
  }
  const onVerifyFailure = (raw.onVerifyFailure ?? 'quarantine') as VerifyFailureAction;
  if (!VERIFY_FAILURE_ACTIONS.includes(onVerifyFailure)) add(`${at}.onVerifyFailure`, `must be one of ${VERIFY_FAILURE_ACTIONS.join(', ')}`);
  const perMinute = raw.perMinute ?? DEFAULT_CAMPAIGN_PER_MINUTE;
  if (typeof perMinute !== 'number' || !Number.isInteger(perMinute) || perMinute < 1 || perMinute > MAX_CAMPAIGN_PER_MINUTE) {
    add(`${at}.perMinute`, `must be a whole number from 1 to ${MAX_CAMPAIGN_PER_MINUTE}`);
  }
  const people = isObject(raw.approvers) ? raw.approvers : undefined;
  if (raw.approvers !== undefined && !people) add(`${at}.approvers`, 'must be { members, required, deadline }');
  const fallback = custodians.groups[0] ?? { members: [], required: 1 };
  const approval = parseApproval(
    people?.members !== undefined
      ? { approvers: people.members, required: people.required, deadline: people.deadline ?? DEFAULT_CAMPAIGN_DEADLINE }
      : { approvers: fallback.members, required: people?.required ?? fallback.required, deadline: people?.deadline ?? DEFAULT_CAMPAIGN_DEADLINE },
    `${at}.approvers`,
    roster,
    add,
  );
  approval.groups = approval.groups.map((g) => ({ ...g, name: 'campaign' }));
  return { action, targets, onVerifyFailure, perMinute: typeof perMinute === 'number' ? perMinute : DEFAULT_CAMPAIGN_PER_MINUTE, windowMs: CAMPAIGN_WINDOW_MS, itemsPerRun: CAMPAIGN_ITEMS_PER_RUN, approval };
}

/** The action for an item of `target`. */
export function campaignActionFor(campaign: CampaignConfig, target: string): CampaignAction {
  return Object.hasOwn(campaign.targets, target) ? campaign.targets[target] : campaign.action;
}
