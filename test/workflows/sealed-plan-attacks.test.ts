/**
 * A caller allowed to complete activities by id (RespondActivityTaskCompletedById) answers a
 * promotion's authorize step before the worker does, with a plan of their own: their roster,
 * their repository, a directory of the worker's to build. Every later step checks the worker's
 * seal on the plan first, so the run fails at its next step and nothing is built, pushed or signed.
 * Real Temporal dev server and registry; the attacker uses the SDK's own async-completion client.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NativeConnection, Worker } from '@temporalio/worker';
import { defaultPayloadConverter } from '@temporalio/common';
import { waitForPromotion } from '../../src/client/promotions';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { buildImageFromDirectory } from '../../src/oci/build';
import { TASK_QUEUE, type PromotionStatus } from '../../workflows/promotion-messages';
import { workflowBundle } from '../../workers/worker';
import { buildFacts, COMMIT, useTestEnv, type TestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

/** Waits until the run has scheduled an activity of `type`; returns its activity id. */
async function scheduled(env: TestEnv, workflowId: string, runId: string, type: string): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const description = await env.client.workflow.getHandle(workflowId, runId).describe();
    const pending = description.raw.pendingActivities?.find((a) => a.activityType?.name === type);
    if (pending?.activityId) return pending.activityId;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${workflowId} never scheduled ${type}`);
}

/** The sealed plan an earlier run's authorize step returned, read from its history. */
async function authorizedPlanOf(env: TestEnv, workflowId: string, runId: string): Promise<Record<string, unknown>> {
  const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
  const completed = history.events!.find((e) => e.activityTaskCompletedEventAttributes)!;
  return defaultPayloadConverter.fromPayload(completed.activityTaskCompletedEventAttributes!.result!.payloads![0]) as Record<string, unknown>;
}

describe('a plan written into history by anyone but the worker is refused at the next step', () => {
  const env = useTestEnv({ worker: false });
  // Runs workflow tasks only: the run reaches its authorize step, which no one here executes.
  let workflowsOnly: { worker: Worker; running: Promise<void>; connection: NativeConnection };
  let digest: string;

  before(async () => {
    const connection = await NativeConnection.connect({ address: env.stack.temporal.address });
    const worker = await Worker.create({ connection, taskQueue: TASK_QUEUE, workflowBundle: await workflowBundle() });
    workflowsOnly = { worker, connection, running: worker.run() };
    digest = (await buildImageFromDirectory(HELLO)).digest;
  });
  after(async () => {
    workflowsOnly?.worker.shutdown();
    await workflowsOnly?.running.catch(() => undefined);
    await workflowsOnly?.connection.close();
  });

  /** Starts a promotion, answers its authorize step with `plan`, lets a real worker take over, and returns how it ended. */
  async function forgeAuthorize(plan: (genuine: { workflowId: string; runId: string }) => Promise<unknown> | unknown): Promise<PromotionStatus> {
    const started = await env.promote({ source: { directory: HELLO }, build: buildFacts(), commit: COMMIT });
    const run = { workflowId: started.promotionId, runId: (await env.client.workflow.getHandle(started.promotionId).describe()).runId };
    const activityId = await scheduled(env, run.workflowId, run.runId, 'authorize');
    await env.client.activity.complete({ workflowId: run.workflowId, runId: run.runId, activityId }, await plan(run));
    const stop = await env.startWorker();
    try {
      return await waitForPromotion(env.client, run.workflowId, { until: (s) => ['FAILED', 'REFUSED', 'REJECTED', 'PROMOTED', 'AWAITING_APPROVAL'].includes(s.state) });
    } finally {
      await stop();
    }
  }

  async function assertNothingSigned(options: { developer: boolean }, repository = 'apps/hello'): Promise<void> {
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    const devPem = await fs.readFile(path.join(env.keysDir, 'dev.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, repository, digest, platformPem)).valid, 0, 'no platform signature');
    if (options.developer) assert.equal((await verifyImageSignatures(env.store, repository, digest, devPem)).valid, 0, 'no developer signature');
  }

  it('an unsealed plan of the attacker\'s making: fails at the keys step with SEAL_INVALID, nothing built or signed', async () => {
    const secrets = path.join(env.dir, 'worker-secrets');
    await fs.mkdir(secrets, { recursive: true });
    await fs.writeFile(path.join(secrets, 'token'), 'not for the registry');
    const status = await forgeAuthorize(() => ({
      target: 'prod',
      repository: `${env.stack.registry.address}/exfil/secrets`,
      digest,
      source: { kind: 'directory', path: secrets },
      build: buildFacts(),
      policy: env.target.policy,
      approval: { groups: [], vetoOnReject: false, deadlineMs: 60_000, roster: {} },
      keys: {
        developer: { ref: path.join(env.keysDir, 'dev.key'), passwordEnv: 'X', publicKeyPem: '', fingerprint: 'a' },
        platform: { ref: path.join(env.keysDir, 'platform.key'), passwordEnv: 'X', publicKeyPem: '', fingerprint: 'b' },
      },
      releaseTag: 'prod',
      signatureFormat: 'legacy',
      initiator: 'ci',
      policyDigest: `sha256:${'0'.repeat(64)}`,
      configFile: '/dev/null',
    }));
    assert.equal(status.state, 'FAILED', JSON.stringify(status.timeline));
    const keys = status.timeline.find((t) => t.step === 'keys');
    assert.equal(keys?.status, 'failed');
    assert.match(keys?.error ?? '', /^SEAL_INVALID: the promotion plan of promote-prod-[0-9a-f]+ carries no worker seal/);
    assert.ok(!status.timeline.some((t) => t.step === 'build' && t.status === 'succeeded'), 'nothing was built');
    assert.equal(await env.store.getManifest('exfil/secrets', digest), undefined, 'nothing was pushed to the attacker\'s repository');
    await assertNothingSigned({ developer: true });
  });

  it("a genuine sealed plan copied from an earlier run's history, or one with a field changed, is refused", async () => {
    // A real earlier run, authorised by a real worker and rejected at the gate.
    const stop = await env.startWorker();
    const first = await env.promote({ source: { directory: HELLO }, build: buildFacts(), commit: COMMIT });
    await waitForPromotion(env.client, first.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(first.promotionId, 'alice', 'reject', 'not this week');
    await waitForPromotion(env.client, first.promotionId);
    await stop();
    const genuine = await authorizedPlanOf(env, first.promotionId, (await env.client.workflow.getHandle(first.promotionId).describe()).runId);
    assert.equal(typeof genuine.seal, 'string', 'the worker sealed the plan it resolved');

    // Replayed as is into the next run of the same promotion (which would otherwise need a re-open).
    const copied = await forgeAuthorize(() => genuine);
    assert.equal(copied.state, 'FAILED');
    assert.match(copied.timeline.find((t) => t.step === 'keys')?.error ?? '', /^SEAL_INVALID: the promotion plan of .* does not match its seal \(changed after the worker sealed it, or sealed for another run or purpose\)/);

    // The same plan with a laxer quorum and the seal kept.
    const relaxed = structuredClone(genuine) as { approval: { groups: Array<{ required: number }> } };
    relaxed.approval.groups[0].required = 0;
    const changed = await forgeAuthorize(() => relaxed);
    assert.equal(changed.state, 'FAILED');
    assert.match(changed.timeline.find((t) => t.step === 'keys')?.error ?? '', /^SEAL_INVALID: .* does not match its seal/);
    // The earlier run was developer-signed before its rejection; the platform key signed nothing.
    await assertNothingSigned({ developer: false });
  });
});
