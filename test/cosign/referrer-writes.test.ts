/**
 * Pushing a bundle as an OCI referrer: a registry with the Referrers API (olareg) answers the
 * manifest PUT with `OCI-Subject`, and countersign takes that as the referrer indexed, with no
 * listing to confirm it; distribution 2.8 sends no such header, and the fallback index is written.
 * The attack: a registry that claims to have indexed a referrer it does not list. No real registry
 * here does that, so a proxy in front of distribution adds the header (named as a fake); what
 * counts the signature lists afresh, and production signing reports nothing signed. And what a
 * listing reads: where the API answers, the API alone (as cosign), the fallback tag only for a
 * key campaign; a registry that stops answering is read through the tag again.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { EMPTY_CONFIG_BLOB, signImageBundle, verifyImageBundles } from '../../src/cosign/bundle-images';
import { listReferrers, REFERRERS_API_RECHECK_MS, referrersFallbackTag } from '../../src/cosign/referrers';
import { CountersignError } from '../../src/errors';
import { keyFingerprint } from '../../src/keys/public-key';
import { buildImageFromDirectory, type BuiltImage } from '../../src/oci/build';
import { RegistryStore } from '../../src/oci/registry';
import { productionSign } from '../../src/promotion/steps';
import { olaregPath, startOlareg, type RunningOlareg } from '../../src/stack/olareg';
import { FIXTURE_IMAGE_DIR, FIXTURE_KEY_PASSWORD, pushImageTo, useRegistryFixture } from '../support/registry-fixture';

describe('bundle referrers: what the registry says it indexed', () => {
  const fixture = useRegistryFixture({ name: 'referrer-writes', keys: ['platform'] });

  describe('olareg, with the Referrers API', { skip: olaregPath() ? false : 'olareg not installed (bash scripts/toolchain.sh olareg)' }, () => {
    let olareg: RunningOlareg;
    let image: BuiltImage;
    before(async () => {
      olareg = await startOlareg();
      image = await buildImageFromDirectory(FIXTURE_IMAGE_DIR);
    });
    after(async () => olareg?.stop());

    test('answers the referrer PUT with OCI-Subject; the bundle is listed by the API and no fallback tag is written', async () => {
      const store = new RegistryStore(olareg.address);
      await pushImageTo(store, 'apps/indexed', image);
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.example+json', config: EMPTY_CONFIG_BLOB.descriptor, layers: [EMPTY_CONFIG_BLOB.descriptor], subject: { mediaType: image.manifest.descriptor.mediaType, digest: image.digest, size: image.manifest.data.length } }));
      await store.putBlob('apps/indexed', EMPTY_CONFIG_BLOB);
      const put = await store.putReferrerManifest('apps/indexed', manifest, 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(put.indexedFor, image.digest);
      const key = fixture.key('platform');
      assert.deepEqual(await signImageBundle(store, 'apps/indexed', image.digest, key.signer), { added: true });
      assert.equal((await verifyImageBundles(store, 'apps/indexed', image.digest, key.publicKeyPem, { fresh: true })).signatures, 1);
      assert.equal((await store.getReferrers('apps/indexed', image.digest))?.length, 2);
      assert.equal(await store.getManifest('apps/indexed', referrersFallbackTag(image.digest)), undefined);
    });

    test('where the Referrers API answers, its list is the answer: a fallback tag another tool wrote is read only by a key campaign (fallbackToo)', async () => {
      const proxy = await fixture.proxy(olareg.address);
      const store = new RegistryStore(proxy.address);
      await pushImageTo(store, 'apps/listed', image);
      const key = fixture.key('platform');
      await signImageBundle(store, 'apps/listed', image.digest, key.signer);
      const [indexed] = (await store.getReferrers('apps/listed', image.digest))!;
      // A manifest with no subject (so the API does not list it), named by a fallback index.
      const empty = EMPTY_CONFIG_BLOB.descriptor;
      const loose = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.example+json', config: empty, layers: [empty] }));
      const looseDigest = await store.putManifest('apps/listed', `sha256:${createHash('sha256').update(loose).digest('hex')}`, loose, 'application/vnd.oci.image.manifest.v1+json');
      const tag = referrersFallbackTag(image.digest);
      const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: looseDigest, size: loose.length, artifactType: 'application/vnd.example+json' }] };
      await store.putManifest('apps/listed', tag, Buffer.from(JSON.stringify(index)), 'application/vnd.oci.image.index.v1+json');

      assert.deepEqual((await listReferrers(store, 'apps/listed', image.digest)).map((d) => d.digest), [indexed.digest], 'as cosign: the API only');
      assert.deepEqual((await listReferrers(store, 'apps/listed', image.digest, { fallbackToo: true })).map((d) => d.digest).sort(), [indexed.digest, looseDigest].sort());

      // Once the registry's API has answered, a listing asks it alone: no read of the tag.
      const tagReads = (method: string, url: string) => method === 'GET' && url.endsWith(`/manifests/${tag}`);
      proxy.delayBy(tagReads, 1);
      await listReferrers(store, 'apps/listed', image.digest);
      await listReferrers(store, 'apps/listed', image.digest);
      assert.equal(proxy.faults.delayed, 0, 'the fallback tag was not read');
      await listReferrers(store, 'apps/listed', image.digest, { fallbackToo: true });
      assert.equal(proxy.faults.delayed, 1, 'a campaign reads it');

      // Junk under the tag (a manifest, not an index) fails only the reader that reads the tag.
      await store.putManifest('apps/listed', tag, loose, 'application/vnd.oci.image.manifest.v1+json');
      assert.deepEqual((await listReferrers(store, 'apps/listed', image.digest)).map((d) => d.digest), [indexed.digest]);
      await assert.rejects(listReferrers(store, 'apps/listed', image.digest, { fallbackToo: true }), (e: unknown) => e instanceof CountersignError && e.code === 'SIGNATURE_INVALID');

      // A registry that stops answering the API (fake: the proxy answers 404 for it) is read through the tag again.
      await store.putManifest('apps/listed', tag, Buffer.from(JSON.stringify(index)), 'application/vnd.oci.image.index.v1+json');
      proxy.failWith((method, url) => url.includes('/referrers/'), { status: 404, body: '{"errors":[{"code":"NOT_FOUND"}]}' });
      assert.deepEqual((await listReferrers(store, 'apps/listed', image.digest)).map((d) => d.digest), [looseDigest]);
      proxy.heal();
    });
  });

  test('distribution 2.8 sends no OCI-Subject: the referrer goes in the fallback index', async () => {
    const repo = await fixture.pushImage();
    const store = new RegistryStore(fixture.registry.address);
    const key = fixture.key('platform');
    await signImageBundle(store, repo, fixture.image.digest, key.signer);
    assert.ok(await store.getManifest(repo, referrersFallbackTag(fixture.image.digest)), 'the fallback index tag');
    assert.equal((await listReferrers(store, repo, fixture.image.digest)).length, 1);
  });

  test('distribution 2.8 has no Referrers API: once it said so, a repository is listed through the tag alone until the recheck interval; a key campaign and another repository ask it', async (t) => {
    const repo = await fixture.pushImage();
    const other = await fixture.pushImage();
    const proxy = await fixture.proxy();
    const store = new RegistryStore(proxy.address);
    const apiAsked = () => proxy.requests.filter((r) => r.startsWith('GET ') && r.includes('/referrers/')).length;
    const tagRead = () => proxy.requests.filter((r) => r.startsWith('GET ') && r.endsWith(`/manifests/${referrersFallbackTag(fixture.image.digest)}`)).length;
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    assert.deepEqual(await listReferrers(store, repo, fixture.image.digest), [], 'nothing yet: the tag does not exist');
    assert.equal(apiAsked(), 1, 'the first listing asks the API');
    await signImageBundle(store, repo, fixture.image.digest, fixture.key('platform').signer);
    const tagReadsBefore = tagRead();
    assert.equal((await listReferrers(store, repo, fixture.image.digest)).length, 1, 'the bundle, through the fallback index');
    assert.equal(tagRead(), tagReadsBefore + 1);
    assert.equal(apiAsked(), 1, 'signing and listing again did not ask the API');

    await listReferrers(store, repo, fixture.image.digest, { fallbackToo: true });
    assert.equal(apiAsked(), 2, 'a key campaign asks it');
    await listReferrers(store, other, fixture.image.digest);
    assert.equal(apiAsked(), 3, 'another repository asks it the first time');

    t.mock.timers.tick(REFERRERS_API_RECHECK_MS - 1);
    await listReferrers(store, repo, fixture.image.digest);
    assert.equal(apiAsked(), 3, 'within the interval: the tag alone');
    t.mock.timers.tick(1);
    assert.equal((await listReferrers(store, repo, fixture.image.digest)).length, 1);
    assert.equal(apiAsked(), 4, 'the interval over, the API is asked again');
    await listReferrers(store, repo, fixture.image.digest);
    assert.equal(apiAsked(), 4, 'and its "no" is remembered again');
  });

  test('attack (fake: a proxy adds OCI-Subject to distribution\'s answers): a referrer the registry claims but does not list is never reported signed', async () => {
    const repo = await fixture.pushImage();
    const proxy = await fixture.proxy();
    proxy.addHeaders((method, url) => method === 'PUT' && url.includes('/manifests/sha256:'), { 'OCI-Subject': fixture.image.digest });
    // One Store for every attempt, as a worker keeps one per registry.
    const store = new RegistryStore(proxy.address);
    const keys = fixture.key('platform');
    const deps = { storeFor: () => store, env: { PLATFORM_PASSWORD: FIXTURE_KEY_PASSWORD } };
    const target = { repository: `${proxy.address}/${repo}`, digest: fixture.image.digest, signatureFormat: 'bundle' as const };
    const key = { ref: keys.privateKeyPath, passwordEnv: 'PLATFORM_PASSWORD', fingerprint: keyFingerprint(keys.publicKeyPem) };
    const refused = await productionSign(deps, target, key).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(refused instanceof CountersignError, `production signing must not succeed: ${String(refused)}`);
    // Retryable: the step tries again, and fails again for as long as the registry lists nothing.
    assert.equal(refused.code, 'REGISTRY_ERROR');
    assert.match(refused.message, /read back no platform signature bundle by [0-9a-f]{16} on /, refused.message);
    // The bundle was pushed by digest but nothing lists it: no reader counts it.
    assert.deepEqual(await listReferrers(store, repo, fixture.image.digest), []);
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, keys.publicKeyPem, { fresh: true })).signatures, 0);
  });
});
