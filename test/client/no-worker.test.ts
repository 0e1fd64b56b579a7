/**
 * A client that waits for the gate when no worker is running: the update is held by Temporal
 * and would be asked again for ever, so the wait gives up (STACK_ERROR, naming the cause) once
 * the run's workflow task has waited for a worker longer than the limit, as the status poll does
 * when its queries go unanswered. The start itself stands: a worker started later carries the
 * run to the gate. Waiting for the end likewise gives up on a workflow task no worker takes. Real dev server and registry; no worker until the test starts one.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startPromotion, waitForGate, waitForPromotionEnd } from '../../src/client/promotions';
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

    // Waiting for the end: parked at the gate with nothing pending, it waits; a workflow task that
    // no worker takes (here a signal's, sent while no worker runs) is said. (A vote would not do:
    // an update's task is speculative and never shows as pending; see the note in
    // src/client/worker-watchdog.ts.)
    await env.stopWorkers();
    await env.client.workflow.getHandle(running.workflowId).signal('countersign-test-nudge');
    await assert.rejects(waitForPromotionEnd(env.client, running.workflowId, { unansweredLimitMs: 2_000 }), (e: unknown) => e instanceof CountersignError && e.code === 'STACK_ERROR');
    await env.startWorker();
    await env.decideAs(running.workflowId, 'alice', 'approve');
    assert.equal((await waitForPromotionEnd(env.client, running.workflowId)).state, 'PROMOTED');
  });
});
