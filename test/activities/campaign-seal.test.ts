/**
 * A campaign item step acts only on the sealed plan, on an item of the sealed findings, and on
 * approvals that hold against the plan's approvers: a forged plan, forged findings, an item the
 * findings do not hold, or a forged approval are refused before any registry is touched (the
 * store here answers nothing: a step that got past its checks would fail differently).
 * In the SDK's activity harness (MockActivityEnvironment, workflow id "test").
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCampaignActivities } from '../../activities/campaign';
import { RegistryStore } from '../../src/oci/registry';
import type { CampaignFindings, CampaignPlan } from '../../src/trust/campaign-plan';
import { GOVERNANCE_SEALS } from '../../src/trust/plan';
import { MOCK_RUN_ID, memoryKeyring, sealedAs } from '../support/sealed-plan';

describe('campaign item steps refuse what the worker did not seal', () => {
  const keyring = memoryKeyring();
  const digest = `sha256:${'b'.repeat(64)}`;
  const plan = {
    trust: 'platform',
    keyId: 'old',
    fingerprint: 'f'.repeat(64),
    requester: 'erin',
    targets: { prod: { target: 'prod', repository: '127.0.0.1:1/apps/hello', releaseTag: 'prod' } },
    approvers: { groups: [{ name: 'campaign', members: ['alice'], required: 1 }], vetoOnReject: true, deadlineMs: 60_000, roster: {} },
  } as unknown as CampaignPlan;
  const findings: CampaignFindings = { items: [{ id: 'prod@1', target: 'prod', digest, action: 'quarantine' } as CampaignFindings['items'][number]], planDigest: `sha256:${'c'.repeat(64)}`, capped: false, notes: [] };
  const { runCampaignItem } = createCampaignActivities({ storeFor: () => new RegistryStore('127.0.0.1:1', { timeoutMs: 500 }), seal: () => keyring });
  const sealedPlan = sealedAs(keyring, GOVERNANCE_SEALS.campaignPlan, plan);
  const sealedFindings = sealedAs(keyring, GOVERNANCE_SEALS.campaignFindings, findings);
  const refusal = async (...args: Parameters<typeof runCampaignItem>) => {
    const err = await new MockActivityEnvironment({ activityType: 'runCampaignItem' }).run(runCampaignItem, ...args).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.nonRetryable, true);
    return err;
  };

  it('an unsealed plan, findings not sealed by the worker, an item outside them, a forged approval', async () => {
    assert.match((await refusal({ runId: MOCK_RUN_ID, plan: plan as never }, sealedFindings, 'prod@1', [])).message, /^SEAL_INVALID: the key campaign plan of test carries no worker seal/);
    const forged = { ...findings, items: [{ ...findings.items[0], digest: `sha256:${'d'.repeat(64)}` }] };
    assert.match((await refusal({ runId: MOCK_RUN_ID, plan: sealedPlan }, { ...forged, seal: sealedFindings.seal }, 'prod@1', [])).message, /^SEAL_INVALID: the campaign findings of test does not match its seal/);
    assert.match((await refusal({ runId: MOCK_RUN_ID, plan: sealedPlan }, sealedFindings, 'other@9', [])).message, /^SEAL_INVALID: item other@9 is not among the campaign's sealed findings/);
    const vote = { approver: 'alice', decision: 'approve', statement: '{}', signature: 'AAAA' };
    assert.match((await refusal({ runId: MOCK_RUN_ID, plan: sealedPlan }, sealedFindings, 'prod@1', [vote])).message, /^APPROVAL_REFUSED: .*"alice" is not in the plan's roster/);
    assert.match((await refusal({ runId: MOCK_RUN_ID, plan: sealedPlan }, sealedFindings, 'prod@1', [])).message, /^APPROVAL_REFUSED: .*the quorum is not met \(campaign 0\/1\)/);
  });
});
