/**
 * A client that waits for the gate when no worker is running: the update is held by Temporal
 * and would be asked again for ever, so the wait gives up (STACK_ERROR, naming the cause) once
 * the run's workflow task has waited for a worker longer than the limit, as the status poll does
 * when its queries go unanswered. The start itself stands: a worker started later carries the
 * run to the gate. Waiting for the end likewise gives up on a workflow task no worker takes, and
 * so do updates to a parked run (waitForGate, a vote). Real dev server and registry; no worker
 * until the test starts one.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { signAndDecide, startPromotion, waitForGate, waitForPromotionEnd } from '../../src/client/promotions';
import { CountersignError } from '../../src/errors';
import { buildImageFromDirectory } from '../../src/oci/build';
import { promotionId } from '../../workflows/promotion-messages';
import { INITIATOR, buildFacts, copyDir, useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('waiting for the gate, or the end, with no worker running', () => {
  const env = useTestEnv({ worker: false });

  it('gives up with STACK_ERROR once the task has waited past the limit; the run stands and a worker started later takes it to the gate', async () => {
    const dir = path.join(env.dir, 'no-worker');
    await copyDir(HELLO, dir);
    await fs.writeFile(path.join(dir, 'VERSION'), 'no-worker\n');
    const request = { target: 'prod', source: { directory: dir }, build: buildFacts(), initiator: INITIATOR, signer: await env.signer(INITIATOR) };
    await assert.rejects(
      startPromotion(env.client, request, { untilGate: true, unansweredLimitMs: 2_000 }),
      (e: unknown) => e instanceof CountersignError && e.code === 'STACK_ERROR' && /no worker took promote-prod-[0-9a-f]{16}'s workflow task in \d+ s .*the run is kept/.test(e.message),
    );
    // The run's id from the target and the digest, as the start named it; not from visibility, which lags.
    const running = { workflowId: promotionId('prod', (await buildImageFromDirectory(dir)).digest) };
    assert.equal((await env.client.workflow.getHandle(running.workflowId).describe()).status.name, 'RUNNING', 'the start stands');
    // waitForGate gives up the same way while no worker runs.
    await assert.rejects(waitForGate(env.client, running.workflowId, { unansweredLimitMs: 2_000 }), (e: unknown) => e instanceof CountersignError && e.code === 'STACK_ERROR');

    await env.startWorker();
    const gate = await waitForGate(env.client, running.workflowId);
    assert.equal(gate.state, 'AWAITING_APPROVAL', gate.error);

    // Parked at the gate, no worker: an update's workflow task waits for one like any other, so
    // waitForGate and a vote give up the same way.
    await env.stopWorkers();
    const noWorker = (e: unknown) => e instanceof CountersignError && e.code === 'STACK_ERROR' && /^STACK_ERROR: no worker took promote-prod-[0-9a-f]{16}'s workflow task in \d+ s/.test(e.message);
    await assert.rejects(waitForGate(env.client, running.workflowId, { unansweredLimitMs: 2_000 }), noWorker);
    const held = signAndDecide(env.client, running.workflowId, { approver: 'alice', decision: 'approve', signer: await env.signer('alice'), view: gate.approval, unansweredLimitMs: 2_000 });
    await assert.rejects(held, (e: unknown) => noWorker(e) && /Temporal holds the vote meanwhile and may still count it then: see countersign status promote-prod-/.test((e as Error).message));

    // Waiting for the end: parked at the gate with nothing pending, it waits; a workflow task that
    // no worker takes (here a signal's, sent while no worker runs) is said.
    await env.client.workflow.getHandle(running.workflowId).signal('countersign-test-nudge');
    await assert.rejects(waitForPromotionEnd(env.client, running.workflowId, { unansweredLimitMs: 2_000 }), (e: unknown) => e instanceof CountersignError && e.code === 'STACK_ERROR');
    await env.startWorker();
    // The held vote may be applied once the worker comes (then voting again is refused: the run
    // may already be PROMOTED by it), or have been dropped; either way it counts once.
    await env.decideAs(running.workflowId, 'alice', 'approve').catch((e: unknown) => {
      if (!(e instanceof CountersignError && e.code === 'APPROVAL_REFUSED' && /alice has already voted|is already decided|has ended: PROMOTED/.test(e.message))) throw e;
    });
    const done = await waitForPromotionEnd(env.client, running.workflowId);
    assert.equal(done.state, 'PROMOTED', done.error);
    assert.deepEqual(done.approval.votes.map((v) => v.approver), ['alice']);
  });
});
