/**
 * Prod sign and release run as local steps in the workflow task that takes the approval meeting
 * quorum (LOCAL_PROD_SIGN_PATCH, docs/architecture.md "Local steps"). While prod sign's platform
 * signature write is held inside the registry (the holding proxy, the one stand-in, holds it; no
 * registry can be told to), the approver's `decide` is still answered (at the workflow task's
 * heartbeat) and the run shows PROD_SIGNING; once the write goes through, the run ends PROMOTED
 * with one platform signature, signed in one attempt.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BOUNDARIES, boundaryUrls } from '../../bench/faults/boundaries';
import { stepsOf } from '../../src/client/history-steps';
import { getPromotionStatus, waitForPromotion } from '../../src/client/promotions';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { buildImageFromDirectory } from '../../src/oci/build';
import { startHoldingProxy } from '../support/holding-proxy';
import { buildFacts, copyDir, useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const REPOSITORY = 'apps/local-prod-sign';

describe('prod sign as a local step, in the workflow task that takes the approval', () => {
  const env = useTestEnv();

  it("answers the vote that meets quorum while prod sign's write is held in the registry; the run then ends PROMOTED with one platform signature", async (t) => {
    const proxy = await startHoldingProxy(env.stack.registry.address);
    t.after(() => proxy.close());
    const target = env.targetWith({ repository: `${proxy.address}/${REPOSITORY}` }, 'local-prod-sign');
    const dir = await copyDir(HELLO, path.join(env.dir, 'local-prod-sign'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'local prod sign\n');
    const digest = (await buildImageFromDirectory(dir)).digest;

    // Held where the fault suite holds prod sign: its write of the platform signature (the second
    // write of the .sig manifest, dev sign's being the first).
    const prodSign = BOUNDARIES.find((b) => b.name === 'prod-sign')!;
    const held = proxy.holdNext(prodSign.hold!(boundaryUrls(REPOSITORY, digest, target.releaseTag)));
    const run = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
    const parked = await waitForPromotion(env.client, run.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(parked.state, 'AWAITING_APPROVAL', parked.error);

    const answered = env.decideAs(run.promotionId, 'alice', 'approve', 'held');
    await held;
    // The write is still held (nothing releases it before this answer): decide did not wait for prod sign.
    const view = await answered;
    assert.deepEqual(view.votes.map((v) => [v.approver, v.decision]), [['alice', 'approve']]);
    assert.equal((await getPromotionStatus(env.client, run.promotionId)).state, 'PROD_SIGNING');

    proxy.releaseHeld();
    const done = await waitForPromotion(env.client, run.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, REPOSITORY, digest, platformPem)).valid, 1, 'one platform signature');

    const history = await env.client.workflow.getHandle(run.promotionId).fetchHistory();
    const steps = stepsOf(history.events ?? []);
    const signed = steps.filter((s) => s.name === 'prodSign');
    assert.deepEqual(signed.map((s) => [s.local, s.attempt]), [[true, 1]], 'one local prod sign attempt: the held write was never taken for a dead worker');
    assert.deepEqual(steps.filter((s) => !s.local), [], 'no queued step');
  });
});
