/**
 * waitForPromotionEnd (the client API's waitForEnd; `promote --wait` and the demo use it) on a real
 * dev server, registry and worker: a promotion waiting at the gate is waited on through the run's
 * result, which the server answers when the run closes. No status query (which a worker must
 * answer, replaying the run when it is no longer cached) and no describe is sent meanwhile,
 * counted on the waiting client's own connection. A run that ends without a promotion's result
 * (terminated by an operator) and an unknown id are said by the status read it falls back to.
 * untilRunCloses (`keys revoke --wait`, `keys root --wait`) waits for any run's close the same way.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { untilRunCloses } from '../../src/client/final-result';
import { waitForGate, waitForPromotionEnd } from '../../src/client/promotions';
import { CountersignError } from '../../src/errors';
import { countingClient } from '../support/counting-client';
import { buildFacts, copyDir, useTestEnv, type TestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

async function variant(env: TestEnv, name: string): Promise<string> {
  const dir = path.join(env.dir, name);
  await copyDir(HELLO, dir);
  await fs.writeFile(path.join(dir, 'VERSION'), `${name}\n`);
  return dir;
}

describe('waitForPromotionEnd', () => {
  const env = useTestEnv();

  it('waits at the gate without a status query or a describe, and answers with the final status once the approval ends the run', async () => {
    const started = await env.promote({ source: { directory: await variant(env, 'end-approved') }, build: buildFacts() });
    assert.equal((await waitForGate(env.client, started.promotionId)).state, 'AWAITING_APPROVAL');
    const waiter = await countingClient(env.stack.temporal.address);
    try {
      const seen: string[] = [];
      const ending = waitForPromotionEnd(waiter.client, started.promotionId, { onUpdate: (s) => seen.push(s.state) });
      // Time at the gate, in which a status poll (every 250 ms) would have asked several times.
      await sleep(1500);
      await env.decideAs(started.promotionId, 'alice', 'approve');
      const final = await ending;
      assert.equal(final.state, 'PROMOTED', final.error);
      assert.ok(final.timeline.some((t) => t.step === 'release' && t.status === 'succeeded'), JSON.stringify(final.timeline));
      assert.deepEqual(seen, ['PROMOTED'], 'onUpdate gets the final status');
      assert.deepEqual(waiter.calls.filter((c) => c === 'QueryWorkflow' || c === 'DescribeWorkflowExecution'), [], waiter.calls.join(' '));
      assert.ok(waiter.calls.includes('GetWorkflowExecutionHistory'), `the result is read by the history's long poll: ${waiter.calls.join(' ')}`);
    } finally {
      await waiter.close();
    }
  });

  it('untilRunCloses: back after its timeout while the run waits, at once when it has closed; asks no worker anything', async () => {
    const started = await env.promote({ source: { directory: await variant(env, 'until-closes') }, build: buildFacts() });
    assert.equal((await waitForGate(env.client, started.promotionId)).state, 'AWAITING_APPROVAL');
    const waiter = await countingClient(env.stack.temporal.address);
    try {
      let closedYet = false;
      await untilRunCloses(waiter.client, started.promotionId, 1000).then(() => (closedYet = true));
      assert.equal(closedYet, true, 'back after the timeout');
      assert.equal((await env.client.workflow.getHandle(started.promotionId).describe()).status.name, 'RUNNING', 'the run still waits at the gate');
      const closing = untilRunCloses(waiter.client, started.promotionId, 3_600_000);
      await env.decideAs(started.promotionId, 'alice', 'approve');
      await closing;
      assert.equal((await env.client.workflow.getHandle(started.promotionId).describe()).status.name, 'COMPLETED');
      assert.deepEqual(waiter.calls.filter((c) => c === 'QueryWorkflow' || c === 'DescribeWorkflowExecution'), [], waiter.calls.join(' '));
    } finally {
      await waiter.close();
    }
  });

  it('a run an operator terminated at the gate: said by the status read (no result); an unknown id: UNKNOWN_PROMOTION', async () => {
    const started = await env.promote({ source: { directory: await variant(env, 'end-terminated') }, build: buildFacts() });
    assert.equal((await waitForGate(env.client, started.promotionId)).state, 'AWAITING_APPROVAL');
    const ending = waitForPromotionEnd(env.client, started.promotionId);
    await env.client.workflow.getHandle(started.promotionId).terminate('operator stopped it');
    await assert.rejects(ending, (e: unknown) => e instanceof CountersignError && e.code === 'INTERNAL' && /ended as TERMINATED without a result/.test(e.message));
    await assert.rejects(waitForPromotionEnd(env.client, 'promote-prod-0000000000000000'), (e: unknown) => e instanceof CountersignError && e.code === 'UNKNOWN_PROMOTION');
  });
});
