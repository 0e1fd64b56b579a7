/**
 * Platform verify with a target's keyless trust: what a registry writer can push (a real
 * keyless bundle by a trusted identity, signed for something else; one by another identity) is
 * refused with its code, and the key's evidence still passes as before.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { referrersFallbackTag } from '../../src/cosign/referrers';
import { MEDIA_TYPE, type ImageManifest } from '../../src/oci/types';
import type { TargetPolicy } from '../../src/policy/policy';
import { verifyForPlatform } from '../../src/promotion/steps';
import type { KeylessPin } from '../../src/sigstore/pin';
import { DEFAULT_KEYLESS_REQUIREMENTS } from '../../src/sigstore/keyless';
import { MemoryStore, sha256Digest } from '../support/memory-store';

const DIR = path.join(__dirname, '..', 'vectors', 'cosign-bundle');
const CONF = path.join(__dirname, '..', 'vectors', 'sigstore-conformance');
const file = (name: string) => readFileSync(path.join(DIR, name));
const json = (name: string) => JSON.parse(file(name).toString('utf8'));
const vector = json('vector.json');
const PUB = readFileSync(path.join(__dirname, '..', 'vectors', 'cosign-keys', 'cosign.pub'), 'utf8');
const REPO = vector.repository as string;
const DIGEST = vector.imageDigest as string;
const POLICY: TargetPolicy = { sourceRepo: 'https://github.com/acme/hello', builderIds: ['https://countersign.dev/builders/local@v1'], buildCommand: 'countersign build examples/hello', requireCommit: true };
const COMMIT = '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e';
const BEACON = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const GITHUB = 'https://token.actions.githubusercontent.com';
const rootText = readFileSync(path.join(CONF, 'public-good-trusted-root.json'), 'utf8');
const pin = (subject: string): KeylessPin => ({
  trustedRoot: rootText,
  trustedRootDigest: `sha256:${crypto.createHash('sha256').update(rootText).digest('hex')}`,
  identities: [{ subject, issuer: GITHUB }],
  require: { ...DEFAULT_KEYLESS_REQUIREMENTS },
});
const otherKey = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
const deps = (store: MemoryStore) => ({ storeFor: () => store });
const target = { repository: `${vector.registry}/${REPO}`, digest: DIGEST };

/** cosign's vectors, with the signature referrer's bundle swapped for a real public-good keyless one. */
async function storeWithKeylessSignature(): Promise<MemoryStore> {
  const store = new MemoryStore(vector.registry);
  await store.tagRaw(REPO, DIGEST, file('image-manifest.json'), MEDIA_TYPE.imageManifest);
  await store.putRaw(REPO, '{}');
  const index = json('fallback-index.json');
  for (const r of vector.referrers) {
    const keyless = r.predicateType === 'https://sigstore.dev/cosign/sign/v1';
    const bundle = keyless ? readFileSync(path.join(CONF, 'bundle-verify', 'happy-path-intoto-in-dsse-v3', 'bundle.sigstore.json')) : file(r.bundle);
    await store.putRaw(REPO, bundle);
    const manifest: ImageManifest = json(r.manifest);
    manifest.layers[0] = { ...manifest.layers[0], digest: sha256Digest(bundle), size: bundle.length };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = await store.tagRaw(REPO, sha256Digest(bytes), bytes, MEDIA_TYPE.imageManifest);
    index.manifests = index.manifests.map((d: { digest: string }) => (d.digest === sha256Digest(file(r.manifest)) ? { ...d, digest, size: bytes.length } : d));
  }
  await store.tagRaw(REPO, referrersFallbackTag(DIGEST), JSON.stringify(index), MEDIA_TYPE.imageIndex);
  return store;
}

const check = (report: { checks: Array<{ name: string; ok: boolean; code?: string; message: string }> }, name: string) => report.checks.find((c) => c.name === name)!;

describe('platform verify with keyless trust', () => {
  test('a real keyless bundle by the trusted identity, signed for another artifact, does not sign the image: WRONG_DIGEST', async () => {
    const report = await verifyForPlatform(deps(await storeWithKeylessSignature()), target, otherKey(), POLICY, COMMIT, undefined, undefined, pin(BEACON));
    assert.equal(report.ok, false);
    assert.equal(check(report, 'developerSignature').ok, false);
    assert.equal(check(report, 'developerSignature').code, 'WRONG_DIGEST', check(report, 'developerSignature').message);
    assert.equal(report.checks.filter((c) => c.name.startsWith('keylessSource')).length, 0, 'no keyless signer counted');
  });

  test('the same bundle when another identity is trusted: IDENTITY_MISMATCH', async () => {
    const report = await verifyForPlatform(deps(await storeWithKeylessSignature()), target, otherKey(), POLICY, COMMIT, undefined, undefined, pin('https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main'));
    assert.equal(check(report, 'developerSignature').code, 'IDENTITY_MISMATCH', check(report, 'developerSignature').message);
  });

  test('without keyless trust the keyless bundle is UNSUPPORTED, as before', async () => {
    const report = await verifyForPlatform(deps(await storeWithKeylessSignature()), target, PUB, POLICY, COMMIT);
    assert.equal(check(report, 'developerSignature').code, 'UNSUPPORTED');
  });

  test("the key's own attestations still pass beside keyless trust", async () => {
    const report = await verifyForPlatform(deps(await storeWithKeylessSignature()), target, PUB, POLICY, COMMIT, undefined, undefined, pin(BEACON));
    assert.equal(check(report, 'provenanceAttestation').ok, true);
    assert.equal(check(report, 'sbomAttestation').ok, true);
  });
});
