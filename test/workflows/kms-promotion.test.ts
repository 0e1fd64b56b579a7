/**
 * A promotion whose platform key lives in KMS (awskms://127.0.0.1:PORT/alias/..., served by
 * local-kms), on a real Temporal dev server and registry. The worker gets the AWS settings in its
 * environment and no platform passphrase at all; the production signature verifies with our
 * verifier and with stock cosign, using the PEM that GetPublicKey returned.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DisableKeyCommand } from '@aws-sdk/client-kms';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { getPromotionStatus, waitForPromotion } from '../../src/client/promotions';
import { KmsSigner } from '../../src/keys/kms-signer';
import { CountersignMetrics } from '../../src/metrics/metrics';
import { stepsOf } from '../../src/client/history-steps';
import { requireTool } from '../../src/stack/tools';
import { buildFacts, copyDir, PLATFORM_PASSWORD_ENV, startTestEnv, type TestEnv } from '../support/env';
import { createTestKey, type KmsTestServer } from '../support/kms-server';
import { localKmsPath, startLocalKms } from '../support/local-kms';
import { runCosign } from '../vectors/cosign-bundle/produce';

const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('promotion signed by a KMS platform key', { skip: localKmsPath() ? false : 'local-kms not installed (bash scripts/toolchain.sh local-kms)' }, () => {
  let env: TestEnv;
  let kms: KmsTestServer;
  let stopWorker: () => Promise<void>;
  const metrics = new CountersignMetrics();

  /** A target whose platform key is a fresh KMS key; its public key file holds the GetPublicKey PEM. */
  async function kmsTarget(name: string, opts: { disabled?: boolean } = {}) {
    const key = await createTestKey(kms, { alias: `platform-${name}` });
    const pem = await new KmsSigner(key.ref, { env: kms.env }).publicKeyPem();
    await fs.writeFile(path.join(env.keysDir, `kms-${name}.pub`), pem);
    if (opts.disabled) await kms.client.send(new DisableKeyCommand({ KeyId: key.keyId }));
    const target = env.targetWith({ keys: { platform: { key: key.ref, publicKey: `keys/kms-${name}.pub` } } });
    return { key, pem, target };
  }

  before(async () => {
    env = await startTestEnv();
    kms = await startLocalKms();
    Object.assign(env.workerEnv, kms.env); // AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
    delete env.workerEnv[PLATFORM_PASSWORD_ENV]; // a KMS key has no passphrase
    stopWorker = await env.startWorker({ metrics });
  });
  after(async () => {
    await stopWorker?.();
    await env?.close();
    await kms?.close();
  });

  it('ends PROMOTED; our verifier and stock cosign accept the production signature', async () => {
    const { key, pem, target } = await kmsTarget('prod');
    assert.equal(target.keys.platform.key, key.ref);
    const started = await env.promote({ target, source: { directory: HELLO }, build: buildFacts() });
    await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(started.promotionId, 'alice', 'approve');
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);

    assert.equal((await verifyImageSignatures(env.store, 'apps/hello', started.digest, pem)).valid, 1);
    // npm test installs cosign first, so a missing one is a broken toolchain (TOOL_MISSING), never a pass.
    const cosign = requireTool('cosign');
    const pemFile = path.join(env.dir, 'kms-prod.pub');
    await fs.writeFile(pemFile, pem);
    const ref = `${env.stack.registry.address}/apps/hello@${started.digest}`;
    const result = await runCosign(cosign, ['verify', '--key', pemFile, '--insecure-ignore-tlog=true', '--allow-http-registry', ref], env.dir);
    assert.equal(result.code, 0, result.stderr);
  });

  /** The attempt the keys check finished on, from the workflow's history (queued or local). */
  async function keyCheckAttempts(promotionId: string): Promise<number> {
    const history = await env.client.workflow.getHandle(promotionId).fetchHistory();
    return Math.max(0, ...stepsOf(history.events ?? []).filter((s) => s.name === 'checkKeys').map((s) => s.attempt));
  }

  it('a disabled KMS key fails the run at the key check, at once (not retried) and with the reason', async () => {
    const { target } = await kmsTarget('disabled', { disabled: true });
    const dir = await copyDir(HELLO, path.join(env.dir, 'disabled'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'disabled\n');
    const run = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
    const done = await waitForPromotion(env.client, run.promotionId);
    assert.equal(done.state, 'FAILED');
    assert.match(done.error ?? '', /KMS_KEY_DISABLED/);
    assert.equal(done.timeline.find((t) => t.step === 'keys')?.status, 'failed');
    assert.equal(await keyCheckAttempts(run.promotionId), 1, 'a disabled key is not retried');
  });

  /**
   * How many attempts of the keys check have failed with KMS_UNAVAILABLE so far, from the worker's
   * own metrics: the check is a local step, retried by the worker beside the workflow task, so
   * Temporal shows no pending activity for it.
   */
  async function failedKeyChecks(): Promise<number> {
    const line = /^countersign_step_failures_total\{step="checkKeys",code="KMS_UNAVAILABLE"\} (\d+)$/m.exec(await metrics.text());
    return line ? Number(line[1]) : 0;
  }

  it('a KMS outage at the key check is waited out: retried with backoff while KMS is down, nothing built, then the run goes on', async () => {
    const { target } = await kmsTarget('outage');
    await kms.stop();
    const dir = await copyDir(HELLO, path.join(env.dir, 'outage'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'outage\n');
    const run = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
    try {
      for (let i = 0; i < 600 && (await failedKeyChecks()) < 2; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok((await failedKeyChecks()) >= 2, 'the keys check retried while KMS is down');
      const during = await getPromotionStatus(env.client, run.promotionId);
      assert.equal(during.state, 'CHECKING_KEYS');
      assert.equal(await env.store.getManifest('apps/hello', run.digest), undefined, 'nothing was pushed');
    } finally {
      await kms.restart();
    }
    const parked = await waitForPromotion(env.client, run.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(parked.state, 'AWAITING_APPROVAL', parked.error);
    assert.ok((await keyCheckAttempts(run.promotionId)) >= 3, 'the attempt that succeeded came after the failed ones');
    await env.decideAs(run.promotionId, 'alice', 'approve');
    assert.equal((await waitForPromotion(env.client, run.promotionId)).state, 'PROMOTED');
  });
});
