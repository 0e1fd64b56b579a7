/**
 * Production signing when the signer is slower than any timeout: a real KMS API (local-kms) whose
 * Sign answers are stalled by test/support/holding-proxy.ts (they trickle in for as long as the
 * test likes, longer than the signer's own request timeout), a real registry. An attempt stalled
 * in the signer is overtaken by a second attempt that signs and finishes; when the first one's
 * signature finally comes back it must write nothing. The second attempt reaches the registry
 * under another host name, as a second worker process would, so no in-process lock is shared.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import { verifyAttestations } from '../../src/cosign/attestations';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { APPROVAL_PREDICATE_TYPE } from '../../src/approval/constants';
import { DEFAULT_KMS_REQUEST_TIMEOUT_MS, KmsSigner } from '../../src/keys/kms-signer';
import { keyFingerprint } from '../../src/keys/public-key';
import { RegistryStore } from '../../src/oci/registry';
import { productionSign, type StepDeps } from '../../src/promotion/steps';
import type { HoldingProxy } from '../support/holding-proxy';
import { createTestKey, type KmsTestServer } from '../support/kms-server';
import { localKmsPath, startLocalKms } from '../support/local-kms';
import { useRegistryFixture } from '../support/registry-fixture';

const isSign = (_method: string, _url: string, headers: Record<string, unknown>) => headers['x-amz-target'] === 'TrentService.Sign';

describe('production signing with a signer slower than any timeout', { skip: localKmsPath() ? false : 'local-kms not installed (bash scripts/toolchain.sh local-kms)' }, () => {
  const fx = useRegistryFixture({ name: 'prod-sign' });
  let kms: KmsTestServer;
  let kmsProxy: HoldingProxy;
  let registryProxy: HoldingProxy;
  let promotions = 0;

  before(async () => {
    kms = await startLocalKms();
    fx.defer(() => kms.close());
    kmsProxy = await fx.proxy(kms.address);
    registryProxy = await fx.proxy();
  });

  /** A fresh repository with the image, a fresh KMS key reached through the stalling proxy, and two workers' views of them. */
  async function setUp() {
    const { registry, image } = fx;
    const repo = await fx.pushImage();
    const key = await createTestKey(kms);
    const ref = key.ref.replace(kms.address, kmsProxy.address);
    const pem = await new KmsSigner(key.ref, { env: kms.env }).publicKeyPem();
    const worker = (host: string): StepDeps => ({ storeFor: () => new RegistryStore(host), env: { ...kms.env } });
    return {
      repo,
      pem,
      first: worker(registry.address),
      second: worker(registryProxy.address),
      target: { repository: `${registry.address}/${repo}`, digest: image.digest },
      key: { ref, passwordEnv: 'UNUSED', fingerprint: keyFingerprint(pem) },
      record: { promotionId: `promote-prod-${++promotions}`, decisions: [] },
    };
  }

  /** Stalls the next KMS Sign answer only; resolves once it is stalled. */
  function stallFirstSign(): Promise<void> {
    let signs = 0;
    return kmsProxy.stallNext((method, url, headers) => isSign(method, url, headers) && ++signs === 1);
  }

  test('an attempt overtaken while it signs writes nothing: exactly one signature and one approval record', async () => {
    const { registry, image } = fx;
    const s = await setUp();
    const stalled = stallFirstSign();
    const firstAttempt = productionSign(s.first, s.target, s.key, s.record);
    await stalled;
    const stalledAt = Date.now();

    const second = await productionSign(s.second, s.target, s.key, s.record);
    assert.deepEqual(second, { added: true, keyFingerprint: s.key.fingerprint, approvalRecordAdded: true });
    // Keep the first attempt's KMS call going past the signer's own request timeout: the trickle keeps it alive.
    await sleep(Math.max(0, DEFAULT_KMS_REQUEST_TIMEOUT_MS + 2_000 - (Date.now() - stalledAt)));
    kmsProxy.releaseStalled();

    const first = await firstAttempt;
    assert.deepEqual(first, { added: false, keyFingerprint: s.key.fingerprint, approvalRecordAdded: false });
    const direct = new RegistryStore(registry.address);
    assert.equal((await verifyImageSignatures(direct, s.repo, image.digest, s.pem)).valid, 1, 'exactly one production signature');
    const records = (await verifyAttestations(direct, s.repo, image.digest, s.pem)).attestations.filter((a) => a.predicateType === APPROVAL_PREDICATE_TYPE);
    assert.equal(records.length, 1, 'exactly one approval record');
  });

  test('nothing half-signed: the approval record is sent only once the platform signature is in the registry', async () => {
    const { registry, image } = fx;
    const s = await setUp();
    const tagUrl = (suffix: string) => `/v2/${s.repo}/manifests/sha256-${image.digest.slice('sha256:'.length)}.${suffix}`;
    const puts: string[] = [];
    // Records this image's .sig/.att manifest writes until released, and holds the platform signature's.
    const held = registryProxy.holdNext((method, url) => {
      if (method !== 'PUT' || (url !== tagUrl('sig') && url !== tagUrl('att'))) return false;
      puts.push(url.endsWith('.sig') ? 'sig' : 'att');
      return url === tagUrl('sig');
    });
    const signing = productionSign(s.second, s.target, s.key, s.record);
    await held;
    // A writer that did not wait for the signature would send its record now: the .att edit takes
    // well under this on any machine, and a correct one never sends it, however long this is.
    await sleep(1_500);
    assert.deepEqual(puts, ['sig'], 'no approval record while the signature is unwritten');
    assert.equal((await verifyAttestations(new RegistryStore(registry.address), s.repo, image.digest, s.pem)).attestations.length, 0);
    registryProxy.releaseHeld();
    assert.deepEqual(await signing, { added: true, keyFingerprint: s.key.fingerprint, approvalRecordAdded: true });
    const records = (await verifyAttestations(new RegistryStore(registry.address), s.repo, image.digest, s.pem)).attestations.filter((a) => a.predicateType === APPROVAL_PREDICATE_TYPE);
    assert.equal(records.length, 1, 'then the approval record');
  });

  test('an attempt Temporal has given up on (its signal aborted) writes nothing once its signer returns', async () => {
    const { registry, image } = fx;
    const s = await setUp();
    const superseded = new AbortController();
    const stalled = stallFirstSign();
    const firstAttempt = productionSign(s.first, s.target, s.key, s.record, { signal: superseded.signal });
    await stalled;
    superseded.abort(new Error('attempt superseded'));
    const direct = new RegistryStore(registry.address);
    kmsProxy.releaseStalled();
    await assert.rejects(firstAttempt, /attempt superseded/);
    assert.equal((await verifyImageSignatures(direct, s.repo, image.digest, s.pem)).valid, 0, 'the superseded attempt wrote no signature');

    const second = await productionSign(s.second, s.target, s.key, s.record);
    assert.equal(second.added, true);
    assert.equal((await verifyImageSignatures(direct, s.repo, image.digest, s.pem)).valid, 1);
  });
});
