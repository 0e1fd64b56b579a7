/**
 * Runs pinned to a key, found through visibility by the CountersignPlatformKey search attribute:
 * promotions (the platform key's fingerprint) and chart releases (the OpenPGP key's). In flight
 * (the retire step waits for none) or past signing (what a revoked key signed).
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { CountersignError } from '../errors';
import { CHART_RELEASE_WORKFLOW_TYPE } from '../../workflows/chart-release-messages';
import { PROMOTION_WORKFLOW_TYPE, SEARCH_ATTRIBUTES, type PromotionStatus } from '../../workflows/promotion-messages';

/** How many runs a listing returns unless told otherwise. */
export const PINNED_LISTING_LIMIT = 1000;

export interface PinnedPromotion {
  promotionId: string;
  state: string;
  target: string;
  digest: string;
  closedAt?: string;
}

export interface SignedPromotion extends PinnedPromotion {
  /**
   * `written`: the prod-sign step finished, so the image carries the key's signature.
   * `possible`: prod-sign failed or was cut off after it may have written it (for example while
   * attaching the approval record); check the image.
   */
  signature: 'written' | 'possible';
}

export interface Listing<T> {
  promotions: T[];
  /** True when more promotions matched than `limit`: the list is not all of them. */
  capped: boolean;
  limit: number;
}

/**
 * The states a run reaches only at or past the step that publishes its signature: production
 * signing for a promotion, publication for a chart release (its .prov is signed earlier, but
 * nobody sees it before publish).
 */
export const AT_OR_PAST_PROD_SIGN = ['PROD_SIGNING', 'RELEASING', 'PROMOTED', 'PUBLISHING', 'RELEASED', 'FAILED'] as const;
/** The step whose completion means the signature is out. */
const SIGNATURE_STEP: Record<string, string> = { [PROMOTION_WORKFLOW_TYPE]: 'prod-sign', [CHART_RELEASE_WORKFLOW_TYPE]: 'publish' };

/** prod-sign refusals raised before anything is written: such a promotion carries no signature. */
const REFUSED_BEFORE_SIGNING = /^(KEY_REVOKED|KEY_RETIRED|KEY_INVALID|KEY_MISSING|KEY_PASSPHRASE_MISSING|TRUST_[A-Z_]+):/;

function checkFingerprint(fingerprint: string): void {
  // cosign: SHA-256 of the SPKI, lower-case hex; OpenPGP: the v4 fingerprint, upper-case hex.
  if (!/^([0-9a-f]{64}|[0-9A-F]{40})$/.test(fingerprint)) throw new CountersignError('BAD_INPUT', `"${fingerprint}" is not a cosign or OpenPGP key fingerprint`);
}

function pinnedQuery(fingerprint: string, extra: string): string {
  const types = Object.keys(SIGNATURE_STEP).map((t) => `'${t}'`).join(', ');
  return [`WorkflowType IN (${types})`, `${SEARCH_ATTRIBUTES.platformKey} = '${fingerprint}'`, extra].join(' AND ');
}

function describePinned(wf: WorkflowExecutionInfo): PinnedPromotion {
  const attr = (name: string) => String((wf.searchAttributes?.[name] as unknown[] | undefined)?.[0] ?? '');
  return {
    promotionId: wf.workflowId,
    state: attr(SEARCH_ATTRIBUTES.state) || wf.status.name,
    target: attr(SEARCH_ATTRIBUTES.target),
    digest: attr(SEARCH_ATTRIBUTES.digest),
    closedAt: wf.closeTime?.toISOString(),
  };
}

/** Running promotions and chart releases pinned to the key (what the retire step counts). */
export async function runsPinnedTo(client: Client, fingerprint: string, limit = PINNED_LISTING_LIMIT): Promise<PinnedPromotion[]> {
  checkFingerprint(fingerprint);
  const query = pinnedQuery(fingerprint, `ExecutionStatus = 'Running'`);
  const out: PinnedPromotion[] = [];
  for await (const wf of client.workflow.list({ query })) {
    out.push(describePinned(wf));
    if (out.length >= limit) break;
  }
  return out;
}

/** Running promotions and chart releases pinned to the key, up to `limit`, saying whether there were more. */
export async function runsInFlight(client: Client, fingerprint: string, limit = PINNED_LISTING_LIMIT): Promise<Listing<PinnedPromotion>> {
  // One more than asked tells a full list from a cut one.
  const found = await runsPinnedTo(client, fingerprint, limit + 1);
  return { promotions: found.slice(0, limit), capped: found.length > limit, limit };
}

/**
 * Every promotion whose production signature by this key may be on an image (PROMOTED ones, and
 * those that got it and then failed or stopped later, at release or terminated meanwhile), and
 * every chart release it signed and published.
 * A FAILED promotion's own timeline (its result, read from history) says whether prod-sign
 * finished. Running promotions still signing are left to the in-flight list.
 */
export async function runsSignedBy(client: Client, fingerprint: string, limit = PINNED_LISTING_LIMIT): Promise<Listing<SignedPromotion>> {
  checkFingerprint(fingerprint);
  const states = AT_OR_PAST_PROD_SIGN.map((s) => `'${s}'`).join(', ');
  const out: SignedPromotion[] = [];
  for await (const wf of client.workflow.list({ query: pinnedQuery(fingerprint, `${SEARCH_ATTRIBUTES.state} IN (${states})`) })) {
    const pinned = describePinned(wf);
    const signature = await signatureOf(client, wf, pinned.state);
    if (!signature) continue;
    if (out.length >= limit) return { promotions: out, capped: true, limit };
    out.push({ ...pinned, signature });
  }
  return { promotions: out, capped: false, limit };
}

async function signatureOf(client: Client, wf: WorkflowExecutionInfo, state: string): Promise<SignedPromotion['signature'] | undefined> {
  const running = wf.status.name === 'RUNNING';
  if (state === 'PROMOTED' || state === 'RELEASING' || state === 'RELEASED') return 'written';
  if (state === 'PROD_SIGNING' || state === 'PUBLISHING') return running ? undefined : 'possible';
  let result: PromotionStatus;
  try {
    result = await client.workflow.getHandle<() => Promise<PromotionStatus>>(wf.workflowId, wf.runId).result();
  } catch {
    // No readable result (history gone past retention, or the run did not return a status):
    // whether it signed is unknown, so it is listed for a person to check.
    return 'possible';
  }
  const step = result.timeline.find((t) => t.step === (SIGNATURE_STEP[wf.type] ?? 'prod-sign'));
  if (!step) return undefined;
  if (step.status === 'succeeded') return 'written';
  return REFUSED_BEFORE_SIGNING.test(step.error ?? '') ? undefined : 'possible';
}
