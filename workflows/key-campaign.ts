/**
 * Compromise campaign: the worker checks the governance member's signed request against its own
 * configuration (the store, the revoked key, the requester among its governance) and pins the plan;
 * finds every image the key signed (promotions' results in Temporal, signatures in the registry);
 * shows that list with each item's action to the store's campaign approvers through the approval
 * gate; then, at most perMinute items a window, re-signs (platform verify again, then the active
 * key) or quarantines each item once, and records the outcome in the key's index entry.
 */
import { continueAsNew, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { CampaignActivities } from '../activities/campaign';
import { readCampaignClaim } from '../src/requests/campaign-request';
import type { CampaignFindings, CampaignPlan } from '../src/trust/campaign-plan';
import type { Sealed } from '../src/seal/seal';
import { governanceGate, passGate } from './governance-gate';
import { CAMPAIGN_BEFORE_PLAN_STATES, campaignPlanUpdate, campaignQuery, ZERO_COUNTS, type CampaignCarry, type CampaignInput, type CampaignStatus } from './key-campaign-messages';
import { failureMessage } from './timeline';
import { answerWhen } from './waiting-update';

// The worker's answer to the request; a refusal is final, visibility catching up is retried.
const { authorizeCampaign } = proxyActivities<CampaignActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
});

// Finding reads visibility, results and every signature tag of the store's repositories: it
// heartbeats while it reads, and a registry outage is waited out for half an hour.
const { findCampaignItems } = proxyActivities<CampaignActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 hour',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

// One item is a re-verify and a production signature (or a tag change): patient like prod-sign,
// and exactly once however often it is retried (the signature is looked for before and after).
// An item that still fails is recorded as failed and the campaign goes on with the next.
const { runCampaignItem } = proxyActivities<CampaignActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
});

// Writing the index is local; a held lock (TRUST_BUSY) clears up, so retry for a while.
const { recordCampaign } = proxyActivities<CampaignActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20 },
});

export async function keyCampaign(input: CampaignInput): Promise<CampaignStatus> {
  const { workflowId: campaignId, firstExecutionRunId: runId, continuedFromExecutionRunId } = workflowInfo();
  const claim = readCampaignClaim(input?.request);
  const gate = governanceGate(campaignId, runId, 'key campaign');
  let status: CampaignStatus = { campaignId, ...claim, state: 'AUTHORIZING', items: [], results: [], counts: { ...ZERO_COUNTS }, approval: gate.view() };
  const carried = input?.carried;
  const view = () => ({ ...status, approval: carried ? status.approval : gate.view() });
  setHandler(campaignQuery, view);
  answerWhen(campaignPlanUpdate, () => !CAMPAIGN_BEFORE_PLAN_STATES.includes(status.state), view);

  let plan: Sealed<CampaignPlan>;
  let findings: Sealed<CampaignFindings>;
  let decisions: CampaignCarry['decisions'];
  let window = { index: 0, startedAt: 0, used: 0 };
  if (carried !== undefined) {
    // Only this workflow writes a carried state, when it continues as new; a caller's is refused.
    if (!continuedFromExecutionRunId) {
      status.state = 'REFUSED';
      status.error = 'REQUEST_INVALID: a carried state is accepted only from the earlier run of the same campaign, never in a start';
      return status;
    }
    ({ plan, findings, decisions, window } = carried);
    status = carried.status;
  } else {
    try {
      plan = await authorizeCampaign({ request: input?.request, workflowId: campaignId, runId });
    } catch (err) {
      status.state = 'REFUSED';
      status.error = failureMessage(err);
      return status;
    }
    Object.assign(status, { trust: plan.trust, keyId: plan.keyId, fingerprint: plan.fingerprint, requester: plan.requester, reason: plan.reason });
    if (plan.signingKey) status.signingKey = { id: plan.signingKey.id, fingerprint: plan.signingKey.fingerprint };
    status.rate = { perMinute: plan.perMinute, windowMs: plan.windowMs, window: 0 };
    try {
      status.state = 'FINDING';
      findings = await findCampaignItems({ runId, plan });
      Object.assign(status, { items: findings.items, planDigest: findings.planDigest, ...(findings.capped ? { capped: true } : {}), ...(findings.notes.length ? { notes: findings.notes } : {}) });
      if (findings.items.length === 0) {
        // Nothing signed by the key was found: nothing to change, so nobody is asked.
        status.state = 'DONE';
        await record(plan, status);
        return status;
      }
      const subject = { id: campaignId, runId, digest: findings.planDigest, initiator: plan.requester, noun: 'key campaign', role: `a campaign approver of trust store ${plan.trust}` };
      if (!(await passGate(gate, subject, plan.approvers, status, 'AWAITING_APPROVAL'))) {
        await record(plan, status);
        return status;
      }
      const approved = gate.record().filter((v) => v.decision === 'approve');
      status.approvedBy = approved.map((v) => v.approver);
      decisions = approved.map((v) => ({ approver: v.approver, decision: v.decision, signedAt: v.signedAt, acceptedAt: v.acceptedAt, keyFingerprint: v.keyFingerprint, statement: v.signed.statement, signature: v.signed.signature }));
    } catch (err) {
      status.state = 'FAILED';
      status.error = failureMessage(err);
      return status;
    }
    status.state = 'RUNNING';
  }

  const done = new Set(status.results.map((r) => r.id));
  let thisRun = 0;
  for (const item of status.items) {
    if (done.has(item.id)) continue;
    if (thisRun >= plan.itemsPerRun || workflowInfo().continueAsNewSuggested) {
      return continueAsNew<typeof keyCampaign>({ request: input.request, carried: { plan, findings, status, decisions, window } });
    }
    // The rate counts items that reach the registry, a window at a time: at most perMinute share one.
    if (item.action !== 'report') {
      if (window.used >= plan.perMinute) {
        const opensAt = window.startedAt + plan.windowMs;
        status.rate = { ...status.rate!, waitingUntil: new Date(opensAt).toISOString() };
        if (opensAt > Date.now()) await sleep(opensAt - Date.now());
        window = { index: window.index + 1, startedAt: 0, used: 0 };
        status.rate = { perMinute: plan.perMinute, windowMs: plan.windowMs, window: window.index };
      }
      if (window.used === 0) window.startedAt = Date.now();
      window.used += 1;
    }
    let result;
    try {
      // The step checks the plan's and the findings' seals and the approvers' statements before it changes anything.
      result = await runCampaignItem({ runId, plan }, findings, item.id, decisions);
    } catch (err) {
      result = { id: item.id, outcome: 'failed' as const, detail: failureMessage(err) };
    }
    status.results.push({ ...result, window: window.index, at: new Date().toISOString() });
    status.counts[result.outcome] += 1;
    thisRun += 1;
  }
  status.state = status.counts.failed > 0 ? 'FAILED' : 'DONE';
  if (status.counts.failed > 0) status.error = `${status.counts.failed} item(s) failed: see their results; run the campaign again for them`;
  await record(plan, status);
  return status;
}

/** The outcome into the key's index entry; the campaign stands when the index cannot be written (the report says so). */
async function record(plan: Sealed<CampaignPlan>, status: CampaignStatus): Promise<void> {
  const { firstExecutionRunId } = workflowInfo();
  try {
    await recordCampaign({ runId: firstExecutionRunId, plan }, {
      workflowId: status.campaignId,
      runId: firstExecutionRunId,
      requester: plan.requester,
      approvers: status.approvedBy ?? [],
      reason: plan.reason,
      at: new Date().toISOString(),
      state: status.state,
      counts: status.counts,
    });
    status.indexRecorded = true;
  } catch (err) {
    status.indexRecorded = false;
    status.notes = [...(status.notes ?? []), `the index entry of ${plan.keyId} was not updated: ${failureMessage(err)}`];
  }
}
