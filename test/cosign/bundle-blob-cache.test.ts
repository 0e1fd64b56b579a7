/**
 * Sigstore bundles read through the process's blob cache (src/oci/blob-cache.ts), against a REAL
 * registry (distribution 2.8): what the cache may answer (a referrer manifest and its bundle blob,
 * each by digest, once its bytes hashed to it) and what it never answers (the listing: the
 * fallback index, read on every verification). The attacker can push to and delete from the registry.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attestImageBundle, EMPTY_CONFIG_BLOB, signImageBundle, verifiedReferrers, verifyImageBundles } from '../../src/cosign/bundle-images';
import { createStatement } from '../../src/provenance/statement';
import { listReferrers, referrersFallbackTag } from '../../src/cosign/referrers';
import { CountersignError } from '../../src/errors';
import { keyFingerprint } from '../../src/keys/public-key';
import { blobCache } from '../../src/oci/blob-cache';
import { RegistryStore } from '../../src/oci/registry';
import { MEDIA_TYPE, type ImageManifest } from '../../src/oci/types';
import { productionSign } from '../../src/promotion/steps';
import { FIXTURE_KEY_PASSWORD, useRegistryFixture } from '../support/registry-fixture';

const code = (c: string) => (e: unknown) => e instanceof CountersignError && e.code === c;

describe('bundles through the blob cache', () => {
  const fixture = useRegistryFixture({ name: 'bundles', keys: ['platform', 'developer'] });

  /** The image pushed to a fresh repository, and the platform key. */
  async function pushed() {
    const repo = await fixture.pushImage();
    const key = fixture.key('platform');
    return { repo, store: new RegistryStore(fixture.registry.address), key, signer: key.signer, pem: key.publicKeyPem };
  }

  /** The one bundle layer of each referrer of the image: the blobs the cache may hold. */
  async function bundleBlobs(store: RegistryStore, repo: string): Promise<string[]> {
    const out: string[] = [];
    for (const r of await listReferrers(store, repo, fixture.image.digest)) {
      const manifest = JSON.parse((await store.getManifest(repo, r.digest))!.data.toString('utf8')) as ImageManifest;
      out.push(manifest.layers[0].digest);
    }
    return out;
  }

  /** Removes the repository's link to a blob, as `DELETE /v2/<name>/blobs/<digest>` does for anyone with delete rights. */
  async function deleteBlob(repo: string, digest: string): Promise<void> {
    const res = await fetch(`${fixture.registry.url}/v2/${repo}/blobs/${digest}`, { method: 'DELETE' });
    assert.equal(res.status, 202, `DELETE blob answered ${res.status}`);
  }

  test('a second verification fetches neither the referrer manifest nor its bundle; the listing is read every time', async () => {
    const { repo, signer, pem } = await pushed();
    await signImageBundle(new RegistryStore(fixture.registry.address), repo, fixture.image.digest, signer);
    // Another Store object: its cache entries start empty, as a worker's that did not sign.
    const store = new RegistryStore(fixture.registry.address);
    const before = { ...blobCache.counts };
    const since = () => ({ hits: blobCache.counts.hits - before.hits, misses: blobCache.counts.misses - before.misses });
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem)).signatures, 1);
    assert.deepEqual(since(), { hits: 0, misses: 2 }, 'first read fetches the referrer manifest and its bundle');
    const verifiedBefore = { ...verifiedReferrers.counts };
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem)).signatures, 1);
    assert.deepEqual(since(), { hits: 0, misses: 2 }, 'second read asks the store for neither blob');
    assert.equal(verifiedReferrers.counts.hits - verifiedBefore.hits, 1, 'it takes the verified answer, given while the cache holds both blobs');
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem, { fresh: true })).signatures, 1);
    assert.deepEqual(since(), { hits: 0, misses: 4 }, 'a fresh read fetches both again');
  });

  test('attack: a referrer manifest deleted from the registry but still listed is served from the cache, refused by a fresh read, and forgotten', async () => {
    const { repo, store, signer, pem } = await pushed();
    await signImageBundle(store, repo, fixture.image.digest, signer);
    const [referrer] = await listReferrers(store, repo, fixture.image.digest);
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem)).signatures, 1);
    const res = await fetch(`${fixture.registry.url}/v2/${repo}/manifests/${referrer.digest}`, { method: 'DELETE' });
    assert.equal(res.status, 202, `DELETE manifest answered ${res.status}`);
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem)).signatures, 1, 'a cached read does not see the deletion (as for bundle blobs)');
    const fresh = await verifyImageBundles(store, repo, fixture.image.digest, pem, { fresh: true });
    assert.equal(fresh.signatures, 0);
    assert.deepEqual(fresh.problems.map((p) => p.code), ['NOT_FOUND']);
    const next = await verifyImageBundles(store, repo, fixture.image.digest, pem);
    assert.deepEqual({ signatures: next.signatures, problems: next.problems.map((p) => p.code) }, { signatures: 0, problems: ['NOT_FOUND'] }, 'forgotten: the next read asks the registry');
  });

  test('attack: a referrer taken out of the fallback index no longer counts, though its bundle is still cached', async () => {
    const { repo, store, signer, pem } = await pushed();
    await signImageBundle(store, repo, fixture.image.digest, signer);
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem)).signatures, 1);
    const tag = referrersFallbackTag(fixture.image.digest);
    const index = JSON.parse((await store.getManifest(repo, tag))!.data.toString('utf8'));
    await store.putManifest(repo, tag, Buffer.from(JSON.stringify({ ...index, manifests: [] })), MEDIA_TYPE.imageIndex);
    const evidence = await verifyImageBundles(store, repo, fixture.image.digest, pem);
    assert.deepEqual({ signatures: evidence.signatures, examined: evidence.examined }, { signatures: 0, examined: 0 });
  });

  test('attack: a bundle blob deleted from the registry is served from the cache, refused by a fresh read, and forgotten', async () => {
    const { repo, store, signer, pem } = await pushed();
    await signImageBundle(store, repo, fixture.image.digest, signer);
    const [blob] = await bundleBlobs(store, repo);
    await verifyImageBundles(store, repo, fixture.image.digest, pem);
    await deleteBlob(repo, blob);
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem)).signatures, 1, 'a cached read does not see the deletion (as for .sig/.att layers)');
    await assert.rejects(verifyImageBundles(store, repo, fixture.image.digest, pem, { fresh: true }), code('BLOB_UNKNOWN'));
    await assert.rejects(verifyImageBundles(store, repo, fixture.image.digest, pem), code('BLOB_UNKNOWN'), 'forgotten: the next read asks the registry');
  });

  test('a read-back (freshWhereCounted) fetches again only the referrers that count under the key, not those just pushed, and refuses one whose manifest the registry lost', async () => {
    const { repo, signer, pem } = await pushed();
    const developer = fixture.key('developer');
    const proxy = await fixture.proxy();
    const store = new RegistryStore(proxy.address);
    await signImageBundle(store, repo, fixture.image.digest, developer.signer);
    await attestImageBundle(store, repo, fixture.image.digest, createStatement(`${proxy.address}/${repo}`, fixture.image.digest, 'https://example.com/predicate/dev', {}), developer.signer);
    await signImageBundle(store, repo, fixture.image.digest, signer);
    const mine = (await verifyImageBundles(store, repo, fixture.image.digest, pem)).examined;
    assert.equal(mine, 3, 'three bundles on the image');
    const referrers = await listReferrers(store, repo, fixture.image.digest);
    const platformReferrer = referrers[2].digest;
    const [, , platformBlob] = await bundleBlobs(store, repo);

    proxy.requests.splice(0);
    const readBack = await verifyImageBundles(store, repo, fixture.image.digest, pem, { freshWhereCounted: true });
    assert.equal(readBack.signatures, 1);
    const fetched = proxy.requests.filter((r) => !r.includes('/referrers/') && !r.includes(referrersFallbackTag(fixture.image.digest)));
    assert.deepEqual(fetched.sort(), [`GET /v2/${repo}/blobs/${platformBlob}`, `GET /v2/${repo}/manifests/${platformReferrer}`].sort(), "the platform key's bundle and its manifest, nothing of the developer's");

    // What the caller pushed a moment ago is named by the listing and not fetched again.
    proxy.requests.splice(0);
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem, { freshWhereCounted: true, pushedJustNow: new Set([platformReferrer]) })).signatures, 1);
    assert.deepEqual(proxy.requests.filter((r) => !r.includes('/referrers/') && !r.includes(referrersFallbackTag(fixture.image.digest))), []);

    const res = await fetch(`${fixture.registry.url}/v2/${repo}/manifests/${platformReferrer}`, { method: 'DELETE' });
    assert.equal(res.status, 202, `DELETE manifest answered ${res.status}`);
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem)).signatures, 1, 'the cache alone does not see it');
    const lost = await verifyImageBundles(store, repo, fixture.image.digest, pem, { freshWhereCounted: true });
    assert.equal(lost.signatures, 0);
    assert.deepEqual(lost.problems.map((p) => [p.where, p.code]).sort(), [[`bundle ${platformReferrer.slice(0, 19)}`, 'NOT_FOUND'], ...referrers.slice(0, 2).map((r) => [`bundle ${r.digest.slice(0, 19)}`, 'WRONG_KEY'])].sort());
  });

  test('attack, where it matters: production signing in the bundle format does not report a bundle the registry no longer serves', async () => {
    const { repo, key: keys, pem } = await pushed();
    // One Store for every attempt, as a worker keeps one per registry: they share its cache entries.
    const store = new RegistryStore(fixture.registry.address);
    const deps = { storeFor: () => store, env: { PLATFORM_PASSWORD: FIXTURE_KEY_PASSWORD } };
    const target = { repository: `${fixture.registry.address}/${repo}`, digest: fixture.image.digest, signatureFormat: 'bundle' as const };
    const key = { ref: keys.privateKeyPath, passwordEnv: 'PLATFORM_PASSWORD', fingerprint: keyFingerprint(pem) };
    assert.equal((await productionSign(deps, target, key)).added, true);
    const [blob] = await bundleBlobs(store, repo);
    const bytes = await store.getBlob(repo, blob);
    await deleteBlob(repo, blob);
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem)).signatures, 1, 'the cache still holds the bundle');
    await assert.rejects(productionSign(deps, target, key), code('BLOB_UNKNOWN'), 'the read-back of what was published goes to the registry');
    await assert.rejects(verifyImageBundles(store, repo, fixture.image.digest, pem), code('BLOB_UNKNOWN'), 'and the cache has forgotten it');
    await store.putBlob(repo, { data: bytes, descriptor: { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', digest: blob, size: bytes.length } });
    assert.equal((await productionSign(deps, target, key)).added, false, 'once the registry serves it again, the one signature stands');
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem, { fresh: true })).signatures, 1);
  });

  test('each bundle of an image reads the image manifest and pushes the empty config once; a registry that lost the config gets it again on the next attempt', async () => {
    const { repo, signer, pem } = await pushed();
    const proxy = await fixture.proxy();
    const store = new RegistryStore(proxy.address);
    const emptyConfig = EMPTY_CONFIG_BLOB.descriptor.digest;
    const counted = (method: string, url: string) =>
      (url.endsWith(`/blobs/${emptyConfig}`) && method === 'HEAD') || (method === 'GET' && url.endsWith(`/manifests/${fixture.image.digest}`));
    const attest = (n: number) => attestImageBundle(store, repo, fixture.image.digest, createStatement(`${proxy.address}/${repo}`, fixture.image.digest, `https://example.com/predicate/${n}`, { n }), signer);
    assert.equal((await signImageBundle(store, repo, fixture.image.digest, signer)).added, true);
    proxy.delayBy(counted, 1);
    for (let n = 1; n <= 3; n++) assert.equal((await attest(n)).added, true);
    assert.equal(proxy.faults.delayed, 0, 'three more bundles: no HEAD of the empty config, no read of the image manifest');
    proxy.heal();

    // The registry loses the empty config (a blob DELETE, as an operator's clean-up would).
    const deleted = await fetch(`http://${fixture.registry.address}/v2/${repo}/blobs/${emptyConfig}`, { method: 'DELETE' });
    assert.equal(deleted.status, 202);
    await assert.rejects(attest(4), (e: unknown) => e instanceof CountersignError && e.code === 'REGISTRY_ERROR' && /MANIFEST_BLOB_UNKNOWN/.test(e.message));
    // The step's next attempt (the activity's retry) pushes it again and lands.
    assert.equal((await attest(4)).added, true);
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem, { fresh: true })).attestations.length, 4);
  });
});
