/**
 * A registry outage of more than half a minute right after build is waited out: the registry (a
 * real docker-registry process) is stopped once the image is pushed, started again on the same
 * port and data, and the promotion ends PROMOTED. The proof is the history: the step that met the
 * outage ran more than once, then succeeded (and, while it was retrying, the worker's metrics). The holding proxy only marks the moment (attest's
 * first upload after build); the outage itself is the registry process being gone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getPromotionStatus, waitForPromotion } from '../../src/client/promotions';
import { stepsOf } from '../../src/client/history-steps';
import { CountersignMetrics } from '../../src/metrics/metrics';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { startRegistry, type RunningRegistry } from '../../src/stack/registry';
import { buildImageFromDirectory } from '../../src/oci/build';
import { BOUNDARIES, boundaryUrls } from '../../bench/faults/boundaries';
import { startHoldingProxy } from '../support/holding-proxy';
import { buildFacts, copyDir, useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('a registry outage right after build', () => {
  const metrics = new CountersignMetrics();
  // The registry is started again on its port after ~35 s: a port from below the ephemeral range, which no outgoing connection takes meanwhile.
  const env = useTestEnv({ worker: false, stablePorts: true });
  let restarted: RunningRegistry | undefined;
  before(async () => {
    await env.startWorker({ metrics });
  });
  after(async () => {
    await restarted?.stop();
  });

  /**
   * How many attempts of `step` have failed so far, from the worker's own metrics: attest is a
   * local step, retried by the worker beside the workflow task, so Temporal shows no pending
   * activity for it.
   */
  async function failedAttempts(step: string): Promise<number> {
    const text = await metrics.text();
    const counts = [...text.matchAll(new RegExp(`^countersign_step_failures_total\\{step="${step}",code="[A-Z_]+"\\} (\\d+)$`, 'gm'))];
    return counts.reduce((sum, m) => sum + Number(m[1]), 0);
  }

  it('is waited out: attest retries while the registry is down, goes on when it returns, and the promotion ends PROMOTED', async (t) => {
    const proxy = await startHoldingProxy(env.stack.registry.address);
    t.after(() => proxy.close());
    const target = env.targetWith({ repository: `${proxy.address}/apps/hello` });
    const dir = await copyDir(HELLO, path.join(env.dir, 'outage'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'outage\n');

    // Held where the fault suite holds a promotion inside attest: its first statement upload, after
    // build pushed the image manifest (attest reads the image back from the worker's blob cache).
    const digest = (await buildImageFromDirectory(dir)).digest;
    const insideAttest = BOUNDARIES.find((b) => b.name === 'attest')!;
    const firstUploadAfterBuild = proxy.holdNext(insideAttest.hold!(boundaryUrls('apps/hello', digest, 'prod')));
    const run = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
    await firstUploadAfterBuild;
    const built = await getPromotionStatus(env.client, run.promotionId);
    assert.equal(built.timeline.find((s) => s.step === 'build')?.status, 'succeeded');

    await env.stack.registry.stop();
    const stoppedAt = Date.now();
    proxy.dropHeld();
    for (let i = 0; i < 600 && (await failedAttempts('attestImage')) < 2; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok((await failedAttempts('attestImage')) >= 2, 'attest retried while the registry was down');
    assert.equal((await getPromotionStatus(env.client, run.promotionId)).state, 'ATTESTING', 'still waiting, not FAILED');
    // The outage lasts about 35 s (the old policy gave up after about 15 s); no assertion rests on it.
    await new Promise((r) => setTimeout(r, Math.max(0, 35_000 - (Date.now() - stoppedAt))));
    restarted = await startRegistry({ rootDir: env.stack.registry.rootDir, port: env.stack.registry.port });

    const parked = await waitForPromotion(env.client, run.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(parked.state, 'AWAITING_APPROVAL', parked.error);
    await env.decideAs(run.promotionId, 'alice', 'approve');
    const done = await waitForPromotion(env.client, run.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);

    // From the history: one attest step, retried inside Temporal, which succeeded on its third attempt or later.
    const history = await env.client.workflow.getHandle(run.promotionId).fetchHistory();
    const attest = stepsOf(history.events ?? []).filter((s) => s.name === 'attestImage');
    assert.equal(attest.length, 1, 'one attest step, retried inside Temporal');
    assert.ok(attest[0].attempt >= 3, `attest's successful attempt: ${attest[0].attempt}`);
    assert.ok(attest[0].result, 'attest completed');
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/hello', run.digest, platformPem)).valid, 1, 'one production signature');
  });
});
