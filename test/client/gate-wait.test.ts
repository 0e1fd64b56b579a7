/**
 * waitForGate on a real dev server, registry and worker: the waitForGate update answers once the
 * promotion is parked at the gate (no status polling: the answer is in history as an update), and
 * a run the update cannot answer for (it has ended) is waited for by the tolerant poll instead.
 * The approver signs over the view that answer carries (signAndDecide's `view`); one altered by the
 * caller signs over a digest the gate does not show and is refused.
 * The same run shows which states reach the CountersignState search attribute: only those a
 * listing asks for (workflows/promotion-messages.ts UNLISTED_STATES and, in a run with the
 * one-marker-fewer-writes marker, UNLISTED_SINCE_FEWER_WRITES are left out).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { getApproval, signAndDecide, waitForGate, waitForPromotion } from '../../src/client/promotions';
import { SEARCH_ATTRIBUTES } from '../../workflows/promotion-messages';
import { buildFacts } from '../support/env';
import { useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('waitForGate', () => {
  const env = useTestEnv();

  it('returns when the gate opens, answered by the update; an ended run falls back to the poll', async () => {
    const started = await env.promote({ source: { directory: HELLO }, build: buildFacts() });
    const seen: string[] = [];
    const gate = await waitForGate(env.client, started.promotionId, { onUpdate: (s) => seen.push(s.state) });
    assert.equal(gate.state, 'AWAITING_APPROVAL');
    assert.deepEqual(seen, ['AWAITING_APPROVAL']);
    assert.ok(gate.timeline.some((t) => t.step === 'platform-verify' && t.status === 'succeeded'), JSON.stringify(gate.timeline));
    // The update, not a query, answered: it is in the run's history, completed.
    const history = await env.client.workflow.getHandle(started.promotionId).fetchHistory();
    const completed = (history.events ?? []).filter((e) => e.workflowExecutionUpdateCompletedEventAttributes);
    assert.equal(completed.length, 1);

    assert.deepEqual(upsertedStates(history.events ?? []), ['AUTHORIZING', 'AWAITING_APPROVAL']);

    // The approver signs over the view waitForGate answered with, not asking the gate again. A view
    // the caller altered (another digest) signs over what the gate does not show: refused, not counted.
    const alice = await env.signer('alice');
    const altered = { ...gate.approval, subject: { ...gate.approval.subject, digest: `sha256:${'0'.repeat(64)}` } };
    await assert.rejects(signAndDecide(env.client, started.promotionId, { approver: 'alice', decision: 'approve', signer: alice, view: altered }), (e: Error) => e.message.includes(`sha256:${'0'.repeat(64)}`));
    assert.deepEqual((await getApproval(env.client, started.promotionId)).votes, []);
    const counted = await signAndDecide(env.client, started.promotionId, { approver: 'alice', decision: 'approve', reason: 'gate-wait test', signer: alice, view: gate.approval });
    assert.deepEqual(counted.votes.map((v) => [v.approver, v.evidence]), [['alice', gate.approval.evidence?.digest]]);
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    const whole = await env.client.workflow.getHandle(started.promotionId).fetchHistory();
    assert.deepEqual(upsertedStates(whole.events ?? []), ['AUTHORIZING', 'AWAITING_APPROVAL', 'PROD_SIGNING', 'RELEASING', 'PROMOTED']);
    // AUTHORIZING went in the one upsert that pinned the plan, with the target, digest and platform key.
    const pinned = (whole.events ?? []).find((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[SEARCH_ATTRIBUTES.state]);
    assert.deepEqual(Object.keys(pinned!.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes!.indexedFields!).sort(), [SEARCH_ATTRIBUTES.digest, SEARCH_ATTRIBUTES.platformKey, SEARCH_ATTRIBUTES.state, SEARCH_ATTRIBUTES.target].sort());
    // A closed run takes no update: the tolerant poll answers with its result.
    const after = await waitForGate(env.client, started.promotionId, { pollMs: 50 });
    assert.equal(after.state, 'PROMOTED');
  });
});

/** The CountersignState values the run upserted, in order. */
function upsertedStates(events: Array<{ upsertWorkflowSearchAttributesEventAttributes?: { searchAttributes?: { indexedFields?: Record<string, unknown> | null } | null } | null }>): string[] {
  return events.flatMap((e) => {
    const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[SEARCH_ATTRIBUTES.state];
    return field ? (defaultPayloadConverter.fromPayload(field as never) as string[]) : [];
  });
}
