/**
 * A promotion whose KMS is slower than the production signing step's heartbeat timeout, on a real
 * Temporal dev server, registry and KMS API (local-kms). The KMS answers to Sign are stalled by
 * test/support/holding-proxy.ts: they trickle in, so neither the signer's own request timeout nor
 * anything else cuts them off, for longer than the heartbeat timeout. A step that heartbeats only
 * at its start is then taken for dead, a second attempt signs beside the first, and the image ends
 * PROMOTED with two platform signatures; one that heartbeats while it waits signs once.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { waitForPromotion } from '../../src/client/promotions';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { KmsSigner } from '../../src/keys/kms-signer';
import { buildFacts, copyDir, PLATFORM_PASSWORD_ENV, startTestEnv, type TestEnv } from '../support/env';
import { startHoldingProxy, type HoldingProxy } from '../support/holding-proxy';
import { createTestKey, type KmsTestServer } from '../support/kms-server';
import { localKmsPath, startLocalKms } from '../support/local-kms';

const HELLO = path.resolve(__dirname, '../../examples/hello');
/** Longer than the prodSign heartbeat timeout (30 s in workflows/promotion.ts; it was 20 s). */
const STALL_MS = 45_000;

describe('a KMS slower than the heartbeat timeout', { skip: localKmsPath() ? false : 'local-kms not installed (bash scripts/toolchain.sh local-kms)' }, () => {
  let env: TestEnv;
  let kms: KmsTestServer;
  let proxy: HoldingProxy;

  before(async () => {
    env = await startTestEnv();
    kms = await startLocalKms();
    proxy = await startHoldingProxy(kms.address);
    Object.assign(env.workerEnv, kms.env);
    delete env.workerEnv[PLATFORM_PASSWORD_ENV];
    await env.startWorker();
  });
  after(async () => {
    await env?.stopWorkers();
    await proxy?.close();
    await env?.close();
    await kms?.close();
  });

  /** How many attempts of `activity` the run started, from its history. */
  async function attempts(promotionId: string, activity: string): Promise<number> {
    const history = await env.client.workflow.getHandle(promotionId).fetchHistory();
    const scheduled = new Set((history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity).map((e) => String(e.eventId)));
    const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes && scheduled.has(String(e.activityTaskStartedEventAttributes.scheduledEventId)));
    return Math.max(0, ...started.map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0));
  }

  it('ends PROMOTED with exactly one production signature, signed by one attempt', async () => {
    const key = await createTestKey(kms, { alias: 'platform-slow' });
    const pem = await new KmsSigner(key.ref, { env: kms.env }).publicKeyPem();
    await fs.writeFile(path.join(env.keysDir, 'kms-slow.pub'), pem);
    // The worker reaches KMS through the proxy; the key is the same.
    const target = env.targetWith({ keys: { platform: { key: key.ref.replace(kms.address, proxy.address), publicKey: 'keys/kms-slow.pub' } } });
    const dir = await copyDir(HELLO, path.join(env.dir, 'slow'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'slow\n');
    const started = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
    await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });

    // From approval on, every Sign answer trickles in until released.
    const stalled = proxy.stallNext((_m, _u, headers) => headers['x-amz-target'] === 'TrentService.Sign');
    await env.decideAs(started.promotionId, 'alice', 'approve');
    await stalled;
    await sleep(STALL_MS);
    proxy.releaseStalled();

    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    assert.equal((await verifyImageSignatures(env.store, 'apps/hello', started.digest, pem)).valid, 1, 'exactly one production signature');
    assert.equal(proxy.stalledCount, 1, 'one Sign call was made while stalled: no second attempt signed beside the first');
    assert.equal(await attempts(started.promotionId, 'prodSign'), 1, 'the slow attempt was never taken for a dead one');
  });
});
