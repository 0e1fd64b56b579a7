/**
 * Workflow stack traces are off unless the worker is told otherwise (workers/worker.ts,
 * STACK_TRACES_OFF_MODULE): the `__stack_trace` query the Temporal UI's stack tab sends is answered
 * without a frame by a default worker, and with the promotion's frames by one started with them
 * on, for the same parked run, which then promotes as usual. Real dev server, registry and workers.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Worker } from '@temporalio/worker';
import { waitForGate, waitForPromotion } from '../../src/client/promotions';
import { DEFAULT_LOCAL_STEP_SLOTS, createWorker } from '../../workers/worker';
import { buildFacts, copyDir, useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const STACK_TRACE_QUERY = '__stack_trace';

describe("the worker's defaults: local step slots, workflow stack traces", () => {
  const env = useTestEnv({ worker: false });
  const stops: Array<() => Promise<void>> = [];
  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  /** A worker on the test stack, running until the returned stop; `workflowStackTraces` as given. */
  async function startWorker(workflowStackTraces: boolean | undefined): Promise<{ worker: Worker; stop(): Promise<void> }> {
    const created = await createWorker({ address: env.stack.temporal.address, env: env.workerEnv, config: () => env.config, workflowStackTraces });
    const running = created.worker.run();
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      if (created.worker.getState() === 'RUNNING') created.worker.shutdown();
      await running.catch(() => undefined);
      await created.close();
    };
    stops.push(stop);
    return { worker: created.worker, stop };
  }

  it('a default worker runs as many local steps at once as queued ones (20), not the SDK\'s 100', async () => {
    const { worker, stop } = await startWorker(undefined);
    const tuner = worker.options.tuner as { activityTaskSlotSupplier: { numSlots?: number }; localActivityTaskSlotSupplier: { numSlots?: number } };
    assert.equal(DEFAULT_LOCAL_STEP_SLOTS, 20);
    assert.equal(tuner.localActivityTaskSlotSupplier.numSlots, DEFAULT_LOCAL_STEP_SLOTS);
    assert.equal(tuner.activityTaskSlotSupplier.numSlots, 20);
    await stop();
  });

  it('a default worker answers the __stack_trace query without frames; one with workflowStackTraces with the promotion\'s, for the same parked run, which then promotes', { timeout: 180_000 }, async () => {
    const first = await startWorker(undefined);
    const dir = await copyDir(HELLO, path.join(env.dir, 'stack-traces'));
    const started = await env.promote({ source: { directory: dir }, build: buildFacts() });
    const parked = await waitForGate(env.client, started.promotionId);
    assert.equal(parked.state, 'AWAITING_APPROVAL', parked.error);
    const handle = env.client.workflow.getHandle(started.promotionId);
    const frameless = (await handle.query(STACK_TRACE_QUERY)) as string;
    assert.equal(typeof frameless, 'string');
    // A frame reads "    at name (file:line:column)"; the sandbox captured none.
    assert.doesNotMatch(frameless, /^\s+at /m, frameless);
    assert.doesNotMatch(frameless, /workflows\//, frameless);
    await first.stop();

    // The run's history is the same either way: a worker with them on replays it and answers.
    await startWorker(true);
    const stack = (await handle.query(STACK_TRACE_QUERY)) as string;
    assert.equal(typeof stack, 'string');
    assert.match(stack, /^\s+at .*workflows\/promotion/m, stack);

    await env.decideAs(started.promotionId, 'alice', 'approve');
    const promoted = await waitForPromotion(env.client, started.promotionId);
    assert.equal(promoted.state, 'PROMOTED', promoted.error);
  });
});
