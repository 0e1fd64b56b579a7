/**
 * The process's verified answers for bundle referrers (src/cosign/verified-referrers.ts), against a
 * REAL registry (distribution 2.8, referrers by fallback tag). An answer is given again only for
 * the same referrer, subject, key, store and repository, and only while the blob cache holds what
 * it was read from. The attacker can push to the registry, rewrite a fallback index and delete blobs.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { signImageBundle, verifiedReferrers, verifyImageBundles } from '../../src/cosign/bundle-images';
import { listReferrers, referrersFallbackTag } from '../../src/cosign/referrers';
import { VerifiedReferrers } from '../../src/cosign/verified-referrers';
import { blobCache } from '../../src/oci/blob-cache';
import { buildImageFromDirectory } from '../../src/oci/build';
import { RegistryStore } from '../../src/oci/registry';
import { MEDIA_TYPE } from '../../src/oci/types';
import { pushImageTo, useRegistryFixture } from '../support/registry-fixture';

describe('verified referrers', () => {
  const fixture = useRegistryFixture({ name: 'verified', keys: ['platform', 'developer'] });

  async function signed() {
    const repo = await fixture.pushImage();
    const store = new RegistryStore(fixture.registry.address);
    const developer = fixture.key('developer');
    await signImageBundle(store, repo, fixture.image.digest, developer.signer);
    return { repo, store, pem: developer.publicKeyPem };
  }

  const hitsDuring = async (read: () => Promise<unknown>) => {
    const before = verifiedReferrers.counts.hits;
    await read();
    return verifiedReferrers.counts.hits - before;
  };

  test('a second read takes the answer; a fresh read verifies again', async () => {
    const { repo, store, pem } = await signed();
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem)).signatures, 1);
    assert.equal(await hitsDuring(() => verifyImageBundles(store, repo, fixture.image.digest, pem)), 1);
    assert.equal(await hitsDuring(() => verifyImageBundles(store, repo, fixture.image.digest, pem, { fresh: true })), 0);
    const again = await verifyImageBundles(store, repo, fixture.image.digest, pem);
    assert.equal(again.signatures, 1);
  });

  test('attack: a bundle verified under the developer key is not counted under another key', async () => {
    const { repo, store, pem } = await signed();
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem)).signatures, 1);
    const other = await verifyImageBundles(store, repo, fixture.image.digest, fixture.key('platform').publicKeyPem);
    assert.deepEqual({ signatures: other.signatures, problems: other.problems.map((p) => p.code) }, { signatures: 0, problems: ['WRONG_KEY'] });
    // The refusal is judged from the bytes: remembered, and given again as a refusal.
    let again: Awaited<ReturnType<typeof verifyImageBundles>> | undefined;
    assert.equal(await hitsDuring(async () => (again = await verifyImageBundles(store, repo, fixture.image.digest, fixture.key('platform').publicKeyPem))), 1);
    assert.deepEqual({ signatures: again!.signatures, problems: again!.problems.map((p) => p.code) }, { signatures: 0, problems: ['WRONG_KEY'] });
    // The same key as a KeyObject is the same key; another KeyObject is not.
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, createPublicKey(pem))).signatures, 1);
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    assert.deepEqual((await verifyImageBundles(store, repo, fixture.image.digest, stranger)).problems.map((p) => p.code), ['WRONG_KEY']);
  });

  test("attack: another image's fallback index naming a verified referrer does not borrow its answer", async () => {
    const { repo, store, pem } = await signed();
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem)).signatures, 1);
    const [referrer] = await listReferrers(store, repo, fixture.image.digest);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-other-image-'));
    await fs.writeFile(path.join(dir, 'index.html'), '<h1>another image</h1>\n');
    const other = await buildImageFromDirectory(dir);
    await fs.rm(dir, { recursive: true, force: true });
    await pushImageTo(store, repo, other);
    const index = { schemaVersion: 2, mediaType: MEDIA_TYPE.imageIndex, manifests: [referrer] };
    await store.putManifest(repo, referrersFallbackTag(other.digest), Buffer.from(JSON.stringify(index)), MEDIA_TYPE.imageIndex);
    const borrowed = await verifyImageBundles(store, repo, other.digest, pem);
    assert.deepEqual({ signatures: borrowed.signatures, problems: borrowed.problems.map((p) => p.code) }, { signatures: 0, problems: ['WRONG_DIGEST'] });
  });

  test('attack: an answer is not given for another repository or store, nor once the cache forgot a blob it came from', async () => {
    const { repo, store, pem } = await signed();
    assert.equal((await verifyImageBundles(store, repo, fixture.image.digest, pem)).signatures, 1);
    const [referrer] = await listReferrers(store, repo, fixture.image.digest);
    const read = { store, repository: repo, subject: fixture.image.digest, referrer: referrer.digest, publicKey: pem };
    assert.ok(verifiedReferrers.lookup(read), 'held for the repository it was read in');
    assert.equal(verifiedReferrers.lookup({ ...read, repository: `${repo}-copy` }), undefined);
    assert.equal(verifiedReferrers.lookup({ ...read, store: new RegistryStore(fixture.registry.address) }), undefined, 'nor for another Store (its blob cache entries are its own)');

    blobCache.forget(store, repo, referrer.digest);
    assert.equal(await hitsDuring(() => verifyImageBundles(store, repo, fixture.image.digest, pem)), 0, 'the manifest is read and the bundle checked again');
    assert.equal(await hitsDuring(() => verifyImageBundles(store, repo, fixture.image.digest, pem)), 1);
  });

  test('a remembered statement is frozen, and the memo keeps at most its limit, least recently used out', async () => {
    const { repo, store, pem } = await signed();
    const [referrer] = await listReferrers(store, repo, fixture.image.digest);
    const memo = new VerifiedReferrers<{ n: number }>(2);
    const read = (subject: string) => ({ store, repository: repo, subject, referrer: referrer.digest, publicKey: pem });
    const outcome = memo.remember(read('a'), { n: 1 });
    assert.throws(() => {
      (outcome as { n: number }).n = 2;
    }, TypeError);
    memo.remember(read('b'), { n: 2 });
    assert.deepEqual(memo.lookup(read('a')), { n: 1 }, 'a is now the most recently used');
    memo.remember(read('c'), { n: 3 });
    assert.equal(memo.size, 2);
    assert.equal(memo.lookup(read('b')), undefined, 'b was the least recently used');
    assert.deepEqual(memo.lookup(read('a')), { n: 1 });
  });
});
