/**
 * The long promotion activities heartbeat for as long as they run, in the SDK's activity harness
 * (MockActivityEnvironment, which reports each heartbeat): prodSign while its KMS Sign answer is
 * stalled (local-kms behind test/support/holding-proxy.ts), release while its registry write is
 * held. A heartbeat once at the start would let Temporal start a second attempt beside a slow one.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPromotionActivities } from '../../activities/promotion';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { KmsSigner } from '../../src/keys/kms-signer';
import { keyFingerprint } from '../../src/keys/public-key';
import { RegistryStore } from '../../src/oci/registry';
import type { HoldingProxy } from '../support/holding-proxy';
import { createTestKey, type KmsTestServer } from '../support/kms-server';
import { localKmsPath, startLocalKms } from '../support/local-kms';
import { useRegistryFixture } from '../support/registry-fixture';
import { PROMOTION_SEALS } from '../../src/promotion/plan';
import { memoryKeyring, sealedAs, sealedRun, testPlan } from '../support/sealed-plan';

/** Short, so the harness sees several heartbeats quickly; the workflow's own is 30 s. */
const HEARTBEAT_TIMEOUT_MS = 1_500;
/** Heartbeats that must arrive while the call is stalled: more than the one at the start. */
const WANTED = 3;

/** Resolves once `n` heartbeats more have been reported by the harness. */
function heartbeats(env: MockActivityEnvironment, n: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    const on = () => {
      if (++seen >= n) {
        env.off('heartbeat', on);
        resolve();
      }
    };
    env.on('heartbeat', on);
  });
}

describe('long promotion activities heartbeat while they wait', { skip: localKmsPath() ? false : 'local-kms not installed (bash scripts/toolchain.sh local-kms)' }, () => {
  const fx = useRegistryFixture({ name: 'heartbeat' });
  let kms: KmsTestServer;
  let kmsProxy: HoldingProxy;
  let registryProxy: HoldingProxy;
  const repo = 'heartbeat/hello';

  before(async () => {
    kms = await startLocalKms();
    fx.defer(() => kms.close());
    kmsProxy = await fx.proxy(kms.address);
    registryProxy = await fx.proxy();
    await fx.pushImage(repo);
  });

  const keyring = memoryKeyring();
  const activities = () => createPromotionActivities({ storeFor: (host) => new RegistryStore(host), env: { ...kms.env }, seal: () => keyring });
  // Production signing acts only on a sealed passing report, with an approval record whose quorum holds (none is asked here).
  const passed = () => sealedAs(keyring, PROMOTION_SEALS.report, { ok: true, checks: [] });
  const noVotes = { decisions: [] };

  test('prodSign keeps heartbeating while its KMS Sign call is stalled, then signs once', { timeout: 60_000 }, async () => {
    const { registry, image } = fx;
    const key = await createTestKey(kms);
    const pem = await new KmsSigner(key.ref, { env: kms.env }).publicKeyPem();
    const env = new MockActivityEnvironment({ activityType: 'prodSign', heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS });
    const stalled = kmsProxy.stallNext((_m, _u, headers) => headers['x-amz-target'] === 'TrentService.Sign');
    const platform = { ref: key.ref.replace(kms.address, kmsProxy.address), passwordEnv: 'UNUSED', publicKeyPem: pem, fingerprint: keyFingerprint(pem) };
    const plan = testPlan({ repository: `${registry.address}/${repo}`, digest: image.digest, keys: { developer: { passwordEnv: 'UNUSED', publicKeyPem: '', fingerprint: 'other' }, platform } });
    const run = env.run(activities().prodSign, sealedRun(keyring, plan), passed(), noVotes);
    await stalled;
    await heartbeats(env, WANTED);
    kmsProxy.releaseStalled();
    assert.equal(((await run) as { added: boolean }).added, true);
    assert.equal((await verifyImageSignatures(new RegistryStore(registry.address), repo, image.digest, pem)).valid, 1);
  });

  test('release keeps heartbeating while its registry write is held, then tags the digest', { timeout: 60_000 }, async () => {
    const { registry, image } = fx;
    const env = new MockActivityEnvironment({ activityType: 'release', heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS });
    const held = registryProxy.holdNext((method, url) => method === 'PUT' && url === `/v2/${repo}/manifests/prod`);
    const run = env.run(activities().release, sealedRun(keyring, testPlan({ repository: `${registryProxy.address}/${repo}`, digest: image.digest, releaseTag: 'prod' })));
    await held;
    await heartbeats(env, WANTED);
    registryProxy.releaseHeld();
    assert.equal(((await run) as { reference: string }).reference, `${registryProxy.address}/${repo}:prod@${image.digest}`);
    assert.equal((await new RegistryStore(registry.address).getManifest(repo, 'prod'))?.digest, image.digest);
  });
});
