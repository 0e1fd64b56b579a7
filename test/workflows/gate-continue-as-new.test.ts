/**
 * A promotion parked at the approval gate for a long time continues as new rather than growing one
 * history until Temporal ends it: the votes, the timers and the pinned plan go on in the next run.
 * The dev server here suggests continue-as-new after 40 events (production: 4096 events or 4 MB),
 * so a one-second reminder crosses several boundaries in seconds.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { getPromotionStatus, listPromotions, waitForPromotion } from '../../src/client/promotions';
import { stepsOf } from '../../src/client/history-steps';
import { hasCode } from '../../src/errors';
import { PROMOTION_WORKFLOW_TYPE, TASK_QUEUE, type PromotionInput, type PromotionStatus } from '../../workflows/promotion-messages';
import { buildFacts, copyDir, useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('a long wait at the gate continues as new, carrying votes, timers and the pinned plan', () => {
  const env = useTestEnv({ temporalDynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 } });
  let promotionId: string;

  /** The runs of a workflow id, oldest first. */
  async function runsOf(id: string): Promise<Array<{ runId: string; status: string }>> {
    const runs: Array<{ runId: string; status: string; startTime: Date }> = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push({ runId: wf.runId, status: wf.status.name, startTime: wf.startTime });
    return runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  }

  /** Waits until the chain has continued as new at least `count` times. */
  async function continuedAtLeast(id: string, count: number): Promise<void> {
    for (let i = 0; i < 600; i++) {
      if ((await runsOf(id)).filter((r) => r.status === 'CONTINUED_AS_NEW').length >= count) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`${id} did not continue as new ${count} time(s)`);
  }

  it('a gate with a one-second reminder crosses several continue-as-new boundaries, counts every vote once, and promotes', async () => {
    const target = env.targetWith({
      approval: { approvers: undefined, required: undefined, groups: { platform: { members: ['alice', 'bob', 'carol'], required: 3 } }, deadline: '10m', reminderEvery: '1m' },
    });
    // The configuration check keeps reminders a minute apart or more; the gate runs on the pinned
    // value, so the test pins one second there to see many reminders quickly.
    target.approval.reminderEveryMs = 1000;
    const dir = await copyDir(HELLO, path.join(env.dir, 'long-gate'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'long gate\n');
    ({ promotionId } = await env.promote({ target, source: { directory: dir }, build: buildFacts() }));
    const parked = await waitForPromotion(env.client, promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(parked.state, 'AWAITING_APPROVAL', parked.error);

    await continuedAtLeast(promotionId, 1);
    const first = await getPromotionStatus(env.client, promotionId);
    await env.decideAs(promotionId, 'alice', 'approve', 'first run');
    await continuedAtLeast(promotionId, 2);
    await env.decideAs(promotionId, 'bob', 'approve', 'a later run');
    // A vote already counted in an earlier run is still counted, once.
    await assert.rejects(env.decideAs(promotionId, 'alice', 'approve', 'again'), (e: unknown) => hasCode(e, 'APPROVAL_REFUSED') && /alice has already voted/.test((e as Error).message));
    await continuedAtLeast(promotionId, 3);
    const later = await getPromotionStatus(env.client, promotionId);
    assert.equal(later.state, 'AWAITING_APPROVAL');
    // The timers go on where they were: the same deadline, and reminders counted across runs.
    assert.equal(later.approval.deadline, first.approval.deadline);
    assert.ok(later.approval.reminders > first.approval.reminders, `reminders ${first.approval.reminders} -> ${later.approval.reminders}`);
    assert.deepEqual(later.approval.votes.map((v) => v.approver), ['alice', 'bob']);
    assert.equal(later.policyDigest, first.policyDigest, 'the plan pinned by the first run is the one in force');
    // The evidence pack goes on too: the same pack (nothing changed), read again by each run, so the votes over it still count.
    assert.match(first.approval.evidence?.digest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(later.approval.evidence?.digest, first.approval.evidence?.digest);
    assert.deepEqual(later.approval.dropped ?? [], []);

    await env.decideAs(promotionId, 'carol', 'approve', 'the last one');
    const final = await waitForPromotion(env.client, promotionId);
    assert.equal(final.state, 'PROMOTED', final.error);
    assert.deepEqual(final.approval.votes.map((v) => [v.approver, v.decision, v.countedFor]), [
      ['alice', 'approve', 'platform'],
      ['bob', 'approve', 'platform'],
      ['carol', 'approve', 'platform'],
    ]);
    assert.deepEqual(
      final.timeline.map((t) => `${t.step}:${t.status}`),
      ['authorize', 'keys', 'build', 'attest', 'dev-sign', 'platform-verify', 'approval', 'prod-sign', 'release'].map((s) => `${s}:succeeded`),
    );
    const runs = await runsOf(promotionId);
    assert.ok(runs.filter((r) => r.status === 'CONTINUED_AS_NEW').length >= 3, JSON.stringify(runs));
    for (const run of runs.slice(1)) {
      const events = (await env.client.workflow.getHandle(promotionId, run.runId).fetchHistory()).events ?? [];
      const reads = stepsOf(events).filter((s) => s.name === 'evidence').length;
      assert.ok(reads >= 1, `run ${run.runId} read the evidence pack again (${reads} reads)`);
    }
    assert.equal(runs.at(-1)!.status, 'COMPLETED');
    const listed = await listPromotions(env.client, { target: target.name });
    assert.deepEqual(listed.filter((p) => p.promotionId === promotionId).map((p) => p.state), ['PROMOTED'], 'listed once, as it ended');
    // Every run answers to the first run's id: votes name it, and the approval record carries it.
    for (const v of final.approval.votes) assert.equal(final.approval.subject.runId, runs[0].runId, v.approver);
  });

  it('a start that brings its own carried state (even one copied from a real run) is refused: nothing runs, no gate opens', async () => {
    const runs = await runsOf(promotionId);
    const continued = runs.find((r, i) => i > 0 && r.status !== 'RUNNING');
    assert.ok(continued, 'a continued run to copy from');
    const history = await env.client.workflow.getHandle(promotionId, continued.runId).fetchHistory();
    const genuine = defaultPayloadConverter.fromPayload(history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0]) as PromotionInput;
    assert.ok(genuine.carried, 'the continued run was started with a carried state');
    // A forger's version: the same, with themselves as the only approver needed.
    const forged: PromotionInput = { ...genuine, carried: { ...genuine.carried!, plan: { ...genuine.carried!.plan, approval: { ...genuine.carried!.plan.approval, groups: [{ name: 'me', members: ['erin'], required: 1 }] } } } };
    for (const [n, input] of [genuine, forged].entries()) {
      const id = `${promotionId}-forged-${n}`;
      const handle = await env.client.workflow.start(PROMOTION_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: id, args: [input] });
      const result = (await handle.result()) as PromotionStatus;
      assert.equal(result.state, 'REFUSED');
      assert.match(result.error ?? '', /REQUEST_INVALID: a carried state is accepted only from the earlier run of the same promotion/);
      assert.deepEqual(result.timeline.map((t) => `${t.step}:${t.status}`), ['authorize:failed']);
      assert.equal(result.approval.state, 'WAITING', 'the gate never opened');
    }
  });
});
