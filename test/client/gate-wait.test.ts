/**
 * waitForGate on a real dev server, registry and worker: the waitForGate update answers once the
 * promotion is parked at the gate (no status polling: the answer is in history as an update), and
 * a run the update cannot answer for (it has ended) is waited for by the tolerant poll instead.
 * The approver signs over the view that answer carries (signAndDecide's `view`); one altered by the
 * caller signs over a digest the gate does not show and is refused.
 * startPromotion with `untilGate` carries the update on the start itself (update-with-start), and
 * falls back to a plain start and waitForGate on a server without it (a fake server answer: below).
 * The same run shows which states reach the CountersignState search attribute: only those a
 * listing asks for (workflows/promotion-messages.ts UNLISTED_STATES and, in a run with the
 * one-marker-fewer-writes marker, UNLISTED_SINCE_FEWER_WRITES are left out).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { defineUpdate } from '@temporalio/workflow';
import { CountersignError, hasCode } from '../../src/errors';
import { workflowAnswer } from '../../src/client/workflow-answer';
import { getApproval, signAndDecide, startPromotion, waitForGate, waitForPromotion, type PromoteRequest } from '../../src/client/promotions';
import { stepsOf } from '../../src/client/history-steps';
import { runRequestNonce } from '../../src/client/prior-runs';
import { buildImageFromDirectory } from '../../src/oci/build';
import { signStartRequest, signStatement } from '../../src/requests/sign';
import { START_REQUEST_TYPE, parseStartRequest } from '../../src/requests/start-request';
import { TASK_QUEUE } from '../../src/temporal-names';
import { PROMOTION_WORKFLOW_TYPE, SEARCH_ATTRIBUTES, promotionId, waitForGateUpdate, type PromotionStatus } from '../../workflows/promotion-messages';
import { countingClient } from '../support/counting-client';
import { INITIATOR, buildFacts, copyDir, useTestEnv, type TestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

/**
 * FAKE, named as such: the dev server here (Temporal 1.32) always has update-with-start and no
 * setting turns it off, so a server without it is stood in for by a gRPC interceptor on the
 * client's connection that answers ExecuteMultiOperation as such a server does (UNIMPLEMENTED from
 * one without the method; PERMISSION_DENIED from one that has it turned off, as Temporal shipped
 * it at first), and sends every other call to the real server.
 */
const SERVERS_WITHOUT_MULTI_OPERATION = [
  { code: grpc.status.UNIMPLEMENTED, details: 'unknown method ExecuteMultiOperation for service temporal.api.workflowservice.v1.WorkflowService' },
  { code: grpc.status.PERMISSION_DENIED, details: 'ExecuteMultiOperation API is disabled' },
];
function serverWithoutMultiOperation(answer: { code: grpc.status; details: string }): grpc.Interceptor {
  return answeredWithoutServer('ExecuteMultiOperation', answer);
}

/** Answers every call of `method` with `answer` itself (the call never reaches the server); every other call goes to the real one. */
function answeredWithoutServer(method: string, answer: { code: grpc.status; details: string }): grpc.Interceptor {
  return (options, nextCall) => {
    if (!options.method_definition.path.endsWith(`/${method}`)) return new grpc.InterceptingCall(nextCall(options));
    // The next call is never started: nothing reaches the server.
    return new grpc.InterceptingCall(nextCall(options), {
      start: (_metadata, listener) => {
        setImmediate(() => listener.onReceiveStatus({ ...answer, metadata: new grpc.Metadata() }));
      },
      sendMessage: () => undefined,
      halfClose: () => undefined,
      cancel: () => undefined,
    });
  };
}

/**
 * FAKE interleaving, named as such: a run started between a refused update and the describe that
 * follows it is a race a real caller loses only sometimes (waiting on a start still in flight).
 * This interceptor runs `meanwhile` (which starts the run) before the first DescribeWorkflowExecution
 * reaches the real server, so the race is lost every time.
 */
function runStartedBeforeDescribe(meanwhile: () => Promise<unknown>): grpc.Interceptor {
  let done = false;
  return (options, nextCall) => {
    if (done || !options.method_definition.path.endsWith('/DescribeWorkflowExecution')) return new grpc.InterceptingCall(nextCall(options));
    done = true;
    return new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        meanwhile().then(
          () => next(metadata, listener),
          (err: Error) => setImmediate(() => listener.onReceiveStatus({ code: grpc.status.INTERNAL, details: `the test's start failed: ${err.message}`, metadata: new grpc.Metadata() })),
        );
      },
    });
  };
}

/** FAKE, named as such: a server that cannot describe a run now (INTERNAL, which the SDK does not retry); every other call reaches the real one. */
const describeFails = answeredWithoutServer('DescribeWorkflowExecution', { code: grpc.status.INTERNAL, details: 'describe unavailable (fake)' });

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

    // Every waiting update goes through workflowAnswer: a worker from before an update has no
    // handler for it, so the run refuses it and the poll answers; an id with no run is said unknown.
    const newer = defineUpdate<string>('waitForSomethingNewer');
    const answer = (id: string) => workflowAnswer(env.client, id, newer, { poll: async () => 'polled', notFound: () => new CountersignError('UNKNOWN_PROMOTION', `no run ${id}`) });
    assert.equal(await answer(started.promotionId), 'polled');
    await assert.rejects(answer(`${started.promotionId}-none`), (e: Error) => hasCode(e, 'UNKNOWN_PROMOTION') && e.message === `UNKNOWN_PROMOTION: no run ${started.promotionId}-none`);

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

  it('asks again, rather than polling, when the run starts between a refused update and the describe after it', async () => {
    const pending = await request(env, 'started-meanwhile');
    const id = promotionId('prod', (await buildImageFromDirectory((pending.source as { directory: string }).directory)).digest);
    const caller = await countingClient(env.stack.temporal.address, [runStartedBeforeDescribe(() => startPromotion(env.client, pending))]);
    const calls = caller.calls;
    try {
      let polled = 0;
      const gate = await workflowAnswer(caller.client, id, waitForGateUpdate, {
        poll: async () => {
          polled++;
          return waitForGate(env.client, id);
        },
        notFound: () => new CountersignError('UNKNOWN_PROMOTION', `no run ${id}`),
      });
      assert.equal(gate.state, 'AWAITING_APPROVAL', gate.error);
      assert.equal(polled, 0, 'answered by the update, not the poll');
      // Refused (no run yet), described (the run now there), asked again; the watchdog's own
      // describes every few seconds may come between, so only the order of the updates is fixed.
      assert.deepEqual(calls.filter((c) => c !== 'DescribeWorkflowExecution'), ['UpdateWorkflowExecution', 'UpdateWorkflowExecution']);
      assert.equal(calls[1], 'DescribeWorkflowExecution', calls.join(' '));
      assert.ok(!calls.includes('QueryWorkflow'), calls.join(' '));
    } finally {
      await caller.close();
    }
    await signAndDecide(env.client, id, { approver: 'alice', decision: 'approve', signer: await env.signer('alice') });
    assert.equal(((await env.client.workflow.getHandle(id).result()) as { state: string }).state, 'PROMOTED');
  });

  it('leaves it to the poll when the update finds no run and the describe after it cannot be read', async () => {
    const caller = await countingClient(env.stack.temporal.address, [describeFails]);
    try {
      const id = 'promote-prod-describe-unreadable';
      const answer = await workflowAnswer(caller.client, id, waitForGateUpdate, {
        poll: async () => 'polled' as unknown as PromotionStatus,
        notFound: () => new CountersignError('UNKNOWN_PROMOTION', `no run ${id}`),
      });
      assert.equal(answer, 'polled', 'the tolerant poll, not the describe error nor "unknown"');
      assert.deepEqual(caller.calls, ['UpdateWorkflowExecution', 'DescribeWorkflowExecution']);
    } finally {
      await caller.close();
    }
  });

  it("answers with the gate, from the run's first workflow task, in one call, and the caller signs over that view", async () => {
    const caller = await countingClient(env.stack.temporal.address);
    const started = await startPromotion(caller.client, await request(env, 'until-gate'), { untilGate: true }).finally(() => caller.close());
    // The update-with-start alone: the gate's answer names the run and its request nonce, so no describe and no history read.
    assert.deepEqual(caller.calls, ['ExecuteMultiOperation']);
    assert.equal(started.attached, false);
    assert.equal(started.gate.state, 'AWAITING_APPROVAL', started.gate.error);
    const { runId } = await env.client.workflow.getHandle(started.promotionId).describe();
    assert.equal(started.gate.approval.subject.runId, runId);
    assert.equal(started.gate.digest, started.digest);

    // The update was accepted and answered by the first workflow task, not a task of its own.
    const types = await eventTypes(env, started.promotionId);
    const firstTaskEnds = types.indexOf('workflowTaskCompleted');
    const accepted = types.indexOf('workflowExecutionUpdateAccepted');
    assert.ok(accepted > firstTaskEnds, types.join(' '));
    assert.equal(types.slice(firstTaskEnds + 1, accepted).filter((t) => t === 'workflowTaskCompleted').length, 0, `no second task before the update: ${types.join(' ')}`);

    // A second caller of the same promotion joins it, is told so, and gets the gate at once.
    const again = await startPromotion(env.client, await request(env, 'until-gate'), { untilGate: true });
    assert.deepEqual({ id: again.promotionId, attached: again.attached, state: again.gate.state }, { id: started.promotionId, attached: true, state: 'AWAITING_APPROVAL' });

    await signAndDecide(env.client, started.promotionId, { approver: 'alice', decision: 'approve', signer: await env.signer('alice'), view: started.gate.approval });
    const done = await env.client.workflow.getHandle(started.promotionId).result();
    assert.equal((done as { state: string }).state, 'PROMOTED');
  });

  it("answers with REFUSED when the worker refuses the start (signed with a key not the initiator's)", async () => {
    const started = await startPromotion(env.client, await request(env, 'until-gate-refused', 'alice'), { untilGate: true });
    assert.equal(started.attached, false);
    assert.equal(started.gate.state, 'REFUSED');
    assert.match(started.gate.error ?? '', /REQUEST_/);
  });

  it("attack: a start naming another request's nonce, under a signature the worker does not accept, is REFUSED and runs nothing; requestNonce only echoes the claim, and the genuine request is not spent by it", async () => {
    // A caller who can reach Temporal writes a start whose statement is a genuine request's, nonce
    // and all, signed with another key: the status's requestNonce is whatever the input claims.
    const genuine = await request(env, 'nonce-copied');
    const dir = (genuine.source as { directory: string }).directory;
    const digest = (await buildImageFromDirectory(dir)).digest;
    const { signed, nonce } = await signStartRequest({ _type: START_REQUEST_TYPE, target: 'prod', digest, artifact: { kind: 'directory', path: dir }, build: buildFacts(), initiator: INITIATOR }, parseStartRequest, genuine.signer);
    const forged = await signStatement(JSON.parse(signed.statement) as object, await env.signer('alice'));
    const id = promotionId('prod', digest);
    await env.client.workflow.start(PROMOTION_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ request: forged }] });

    const refused = (await env.client.workflow.getHandle(id).result()) as PromotionStatus;
    assert.equal(refused.state, 'REFUSED');
    assert.match(refused.error ?? '', /REQUEST_BAD_SIGNATURE/);
    assert.equal(refused.requestNonce, nonce, "the status echoes the claimed nonce, as the run's first event does");
    const { runId } = await env.client.workflow.getHandle(id).describe();
    assert.equal(await runRequestNonce(env.client, id, runId), nonce);
    // Nothing was built or signed on the strength of the claim: the run ran no step past authorize.
    const history = await env.client.workflow.getHandle(id, runId).fetchHistory();
    assert.deepEqual(stepsOf(history.events ?? []).map((s) => s.name), ['authorize']);

    // The genuine request whose nonce was copied is not spent by the refused copy: sent as its
    // owner signed it, it starts a run of its own, which reaches the gate.
    await env.client.workflow.start(PROMOTION_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: id, args: [{ request: signed }] });
    const honest = await waitForGate(env.client, id);
    assert.equal(honest.state, 'AWAITING_APPROVAL', honest.error);
    assert.equal(honest.requestNonce, nonce);
    assert.notEqual(honest.approval.subject.runId, runId);
    // A caller of the same target and digest now joins that run.
    const joined = await startPromotion(env.client, genuine, { untilGate: true });
    assert.equal(joined.attached, true);
    assert.equal(joined.gate.approval.subject.runId, honest.approval.subject.runId);
  });

  for (const answer of SERVERS_WITHOUT_MULTI_OPERATION) {
    it(`on a server that answers update-with-start ${grpc.status[answer.code]} (fake: serverWithoutMultiOperation), starts the run plainly and waits with its own update`, async () => {
      const connection = await Connection.connect({ address: env.stack.temporal.address, interceptors: [serverWithoutMultiOperation(answer)] });
      try {
        const client = new Client({ connection });
        const operation = new WithStartWorkflowOperation(PROMOTION_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: 'promote-prod-multi-operation-probe', args: [{}], workflowIdConflictPolicy: 'USE_EXISTING' });
        await assert.rejects(client.workflow.executeUpdateWithStart(waitForGateUpdate, { startWorkflowOperation: operation }), (err: Error) => /ExecuteMultiOperation/.test(`${err.message} ${String((err.cause as Error | undefined)?.message)}`), 'the fake refuses update-with-start');

        const started = await startPromotion(client, await request(env, `no-multi-operation-${answer.code}`), { untilGate: true, pollMs: 100 });
        assert.equal(started.attached, false);
        assert.equal(started.gate.state, 'AWAITING_APPROVAL', started.gate.error);
        const runs = [];
        for await (const run of client.workflow.list({ query: `WorkflowId = '${started.promotionId}'` })) runs.push(run.runId);
        assert.equal(runs.length, 1, 'one run');
        await signAndDecide(client, started.promotionId, { approver: 'alice', decision: 'approve', signer: await env.signer('alice'), view: started.gate.approval });
        assert.equal(((await client.workflow.getHandle(started.promotionId).result()) as { state: string }).state, 'PROMOTED');
      } finally {
        await connection.close();
      }
    });
  }
});

/** A directory of its own to promote, as INITIATOR; `signedBy` another key to have the worker refuse it. */
async function request(env: TestEnv, name: string, signedBy = INITIATOR): Promise<PromoteRequest> {
  const dir = path.join(env.dir, name);
  await fs.access(dir).catch(async () => {
    await copyDir(HELLO, dir);
    await fs.writeFile(path.join(dir, 'VERSION'), `${name}\n`);
  });
  return { target: 'prod', source: { directory: dir }, build: buildFacts(), initiator: INITIATOR, signer: await env.signer(signedBy) };
}

/** Each event of a run's history named by its attributes field (`workflowTaskCompleted`, ...), in order. */
async function eventTypes(env: TestEnv, id: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(id).fetchHistory();
  return (history.events ?? []).map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k] != null)?.replace(/EventAttributes$/, '') ?? '?');
}

/** The CountersignState values the run upserted, in order. */
function upsertedStates(events: Array<{ upsertWorkflowSearchAttributesEventAttributes?: { searchAttributes?: { indexedFields?: Record<string, unknown> | null } | null } | null }>): string[] {
  return events.flatMap((e) => {
    const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[SEARCH_ATTRIBUTES.state];
    return field ? (defaultPayloadConverter.fromPayload(field as never) as string[]) : [];
  });
}
