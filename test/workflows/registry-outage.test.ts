/**
 * A registry outage of more than half a minute right after build is waited out: the registry (a
 * real docker-registry process) is stopped once the image is pushed, started again on the same
 * port and data, and the promotion ends PROMOTED. The proof is the history: the step that met the
 * outage ran more than once, then succeeded. The holding proxy only marks the moment (the first
 * read after build); the outage itself is the registry process being gone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { getPromotionStatus, waitForPromotion } from '../../src/client/promotions';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { startRegistry, type RunningRegistry } from '../../src/stack/registry';
import { startHoldingProxy } from '../support/holding-proxy';
import { buildFacts, copyDir, useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('a registry outage right after build', () => {
  const env = useTestEnv();
  let restarted: RunningRegistry | undefined;
  after(async () => {
    await restarted?.stop();
  });

  /** The attempt a still-retrying activity is on, from the workflow's pending activities. */
  async function pendingAttempt(id: string, activity: string): Promise<number> {
    const { raw } = await env.client.workflow.getHandle(id).describe();
    return (raw.pendingActivities ?? []).find((a) => a.activityType?.name === activity)?.attempt ?? 0;
  }

  it('is waited out: attest retries while the registry is down, goes on when it returns, and the promotion ends PROMOTED', async (t) => {
    const proxy = await startHoldingProxy(env.stack.registry.address);
    t.after(() => proxy.close());
    const target = env.targetWith({ repository: `${proxy.address}/apps/hello` });
    const dir = await copyDir(HELLO, path.join(env.dir, 'outage'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'outage\n');

    // Build pushes blobs and the manifest and reads nothing back; attest's first step reads the manifest.
    const firstReadAfterBuild = proxy.holdNext((method, url) => method === 'GET' && /\/manifests\/sha256:[0-9a-f]{64}$/.test(url));
    const run = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
    await firstReadAfterBuild;
    const built = await getPromotionStatus(env.client, run.promotionId);
    assert.equal(built.timeline.find((s) => s.step === 'build')?.status, 'succeeded');

    await env.stack.registry.stop();
    const stoppedAt = Date.now();
    proxy.dropHeld();
    for (let i = 0; i < 600 && (await pendingAttempt(run.promotionId, 'attestImage')) < 3; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok((await pendingAttempt(run.promotionId, 'attestImage')) >= 3, 'attest retried while the registry was down');
    assert.equal((await getPromotionStatus(env.client, run.promotionId)).state, 'ATTESTING', 'still waiting, not FAILED');
    // The outage lasts about 35 s (the old policy gave up after about 15 s); no assertion rests on it.
    await new Promise((r) => setTimeout(r, Math.max(0, 35_000 - (Date.now() - stoppedAt))));
    restarted = await startRegistry({ rootDir: env.stack.registry.rootDir, port: env.stack.registry.port });

    const parked = await waitForPromotion(env.client, run.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(parked.state, 'AWAITING_APPROVAL', parked.error);
    await env.decideAs(run.promotionId, 'alice', 'approve');
    const done = await waitForPromotion(env.client, run.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);

    // From the history: attest failed at least twice, then succeeded on a later attempt, once.
    const history = await env.client.workflow.getHandle(run.promotionId).fetchHistory();
    const events = history.events ?? [];
    const attest = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'attestImage').map((e) => String(e.eventId));
    assert.equal(attest.length, 1, 'one attest step, retried inside Temporal');
    const started = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === attest[0]);
    assert.ok((started?.activityTaskStartedEventAttributes?.attempt ?? 0) >= 3, `attest's successful attempt: ${started?.activityTaskStartedEventAttributes?.attempt}`);
    assert.ok(events.some((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === attest[0]), 'attest completed');
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/hello', run.digest, platformPem)).valid, 1, 'one production signature');
  });
});
