/**
 * The process's cache of small blobs (src/oci/blob-cache.ts) against a REAL registry (distribution
 * 2.8), with test/support/holding-proxy.ts standing in for a registry that lies: one that serves
 * other bytes under a digest, and one that no longer has a blob the cache holds. The attacker is
 * someone who can push to (or delete from) the registry.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { before, describe, test } from 'node:test';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { createSimpleSigningPayload } from '../../src/cosign/simple-signing';
import { CountersignError } from '../../src/errors';
import { keyFingerprint } from '../../src/keys/public-key';
import { BlobCache, blobCache, ownCopy } from '../../src/oci/blob-cache';
import { RegistryStore } from '../../src/oci/registry';
import type { Blob } from '../../src/oci/types';
import { productionSign } from '../../src/promotion/steps';
import type { HoldingProxy } from '../support/holding-proxy';
import { FIXTURE_KEY_PASSWORD, useRegistryFixture } from '../support/registry-fixture';

const code = (c: string) => (e: unknown) => e instanceof CountersignError && e.code === c;

function blobOf(text: string): Blob {
  const data = Buffer.from(text, 'utf8');
  return { data, descriptor: { mediaType: 'application/octet-stream', digest: `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`, size: data.length } };
}

describe('the blob cache', () => {
  const fx = useRegistryFixture({ name: 'blob-cache', keys: ['platform'] });
  let proxy: HoldingProxy;
  let counter = 0;

  before(async () => {
    proxy = await fx.proxy();
  });

  /** A blob pushed to a fresh repository, and a store reaching it through the proxy. */
  async function pushed(text: string) {
    const repo = `cache/r${++counter}`;
    const blob = blobOf(`${text} ${counter}`);
    const store = new RegistryStore(proxy.address);
    await store.putBlob(repo, blob);
    return { repo, blob, store, url: `/v2/${repo}/blobs/${blob.descriptor.digest}` };
  }

  test('a second read of a blob is answered from the cache; fresh reads fetch', async () => {
    const cache = new BlobCache();
    const { repo, blob, store } = await pushed('hello');
    assert.deepEqual(await cache.get(store, repo, blob.descriptor.digest, blob.descriptor.size), blob.data);
    assert.deepEqual(await cache.get(store, repo, blob.descriptor.digest, blob.descriptor.size), blob.data);
    assert.deepEqual(cache.counts, { hits: 1, misses: 1, joined: 0 });
    await cache.get(store, repo, blob.descriptor.digest, undefined, { fresh: true });
    assert.deepEqual(cache.counts, { hits: 1, misses: 2, joined: 0 });
  });

  test('reads of one digest side by side share one fetch; a fresh read makes its own and is joined by none', async () => {
    const cache = new BlobCache();
    const { repo, blob, store, url } = await pushed('side by side');
    proxy.requests.splice(0);
    const reads = await Promise.all([1, 2, 3].map(() => cache.get(store, repo, blob.descriptor.digest, blob.descriptor.size)));
    for (const read of reads) assert.deepEqual(read, blob.data);
    reads[1][0] ^= 0xff;
    assert.deepEqual(reads[2], blob.data, 'each caller has bytes of its own');
    assert.deepEqual(proxy.requests, [`GET ${url}`]);
    assert.deepEqual(cache.counts, { hits: 0, misses: 1, joined: 2 });

    cache.clear();
    proxy.requests.splice(0);
    await Promise.all([cache.get(store, repo, blob.descriptor.digest), cache.get(store, repo, blob.descriptor.digest, undefined, { fresh: true }), cache.get(store, repo, blob.descriptor.digest, undefined, { fresh: true })]);
    assert.deepEqual(proxy.requests, [`GET ${url}`, `GET ${url}`, `GET ${url}`]);
  });

  test('a read under way that fails fails those that joined it, and the next read fetches again', async () => {
    const cache = new BlobCache();
    const { repo, blob, store, url } = await pushed('joined failure');
    const failedBefore = proxy.faults.failed;
    proxy.failWith((method, u) => method === 'GET' && u === url, { status: 404, body: '{"errors":[{"code":"BLOB_UNKNOWN"}]}' });
    const outcomes = await Promise.allSettled([1, 2].map(() => cache.get(store, repo, blob.descriptor.digest)));
    proxy.heal();
    assert.deepEqual(outcomes.map((o) => o.status === 'rejected' && code('BLOB_UNKNOWN')(o.reason)), [true, true]);
    assert.equal(proxy.faults.failed - failedBefore, 1, 'one fetch for both');
    assert.deepEqual(await cache.get(store, repo, blob.descriptor.digest), blob.data);
  });

  test('entries are per repository and per store: a blob cached for one says nothing about another', async () => {
    const cache = new BlobCache();
    const { repo, blob, store } = await pushed('scoped');
    await cache.get(store, repo, blob.descriptor.digest);
    await assert.rejects(cache.get(store, `${repo}-other`, blob.descriptor.digest), code('BLOB_UNKNOWN'));
    await cache.get(new RegistryStore(proxy.address), repo, blob.descriptor.digest);
    assert.equal(cache.counts.hits, 0);
  });

  test('bounded in bytes: least recently used out first, large blobs never kept', async () => {
    const cache = new BlobCache(100, 40);
    const store = new RegistryStore(fx.registry.address);
    const blobs = Array.from({ length: 5 }, (_, i) => blobOf(`${'x'.repeat(20)} ${i}`.padEnd(30, '.')));
    for (const b of blobs) cache.remember(store, 'cache/bounded', b);
    assert.ok(cache.bytes <= 100, `${cache.bytes} bytes held`);
    cache.remember(store, 'cache/bounded', blobOf('y'.repeat(41)));
    assert.ok(cache.bytes <= 100);
    // The newest three (90 bytes) are held; the two oldest went first.
    for (const b of blobs.slice(2)) await store.putBlob('cache/bounded', b);
    for (const b of blobs.slice(2)) await cache.get(store, 'cache/bounded', b.descriptor.digest);
    assert.equal(cache.counts.hits, 3);
  });

  test('an entry owns its memory, so the byte bound bounds memory: no small blob keeps a shared 8 KiB pool slab alive', () => {
    const small = Buffer.from('a small blob');
    assert.ok(small.buffer.byteLength > small.length, 'node puts a small Buffer.from() copy in a shared pool slab');
    const kept = ownCopy(small);
    assert.deepEqual(kept, small);
    assert.equal(kept.buffer.byteLength, small.length, 'the cached copy holds nothing but its bytes');
  });

  test('attack: a registry serving other bytes under the digest is refused and fills nothing', async () => {
    const cache = new BlobCache();
    const { repo, blob, store, url } = await pushed('genuine');
    proxy.failWith((method, u) => method === 'GET' && u === url, { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: 'forged bytes' });
    try {
      await assert.rejects(cache.get(store, repo, blob.descriptor.digest), code('DIGEST_MISMATCH'));
      assert.equal(cache.bytes, 0, 'nothing cached');
    } finally {
      proxy.heal();
    }
    assert.deepEqual(await cache.get(store, repo, blob.descriptor.digest), blob.data);
    // Once cached, a forged answer is never asked for: the cached bytes are the digest's.
    proxy.failWith((method, u) => method === 'GET' && u === url, { status: 200, body: 'forged bytes' });
    try {
      assert.deepEqual(await cache.get(store, repo, blob.descriptor.digest), blob.data);
    } finally {
      proxy.heal();
    }
  });

  test('attack: bytes remembered under a digest they do not hash to are not kept; a returned buffer changed by its caller changes nothing', async () => {
    const cache = new BlobCache();
    const { repo, blob, store } = await pushed('kept');
    cache.remember(store, repo, { ...blob, data: Buffer.from('not these bytes') });
    assert.equal(cache.bytes, 0);
    const first = await cache.get(store, repo, blob.descriptor.digest);
    first.fill(0);
    assert.deepEqual(await cache.get(store, repo, blob.descriptor.digest), blob.data);
    assert.equal(cache.counts.hits, 1);
  });

  test('attack: a blob deleted from the registry is served from the cache, noticed by a fresh read, and forgotten', async () => {
    const cache = new BlobCache();
    const { repo, blob, store, url } = await pushed('deleted');
    await cache.get(store, repo, blob.descriptor.digest);
    proxy.failWith((method, u) => method === 'GET' && u === url, { status: 404, body: '{"errors":[{"code":"BLOB_UNKNOWN"}]}' });
    try {
      assert.deepEqual(await cache.get(store, repo, blob.descriptor.digest), blob.data, 'a cached read does not see the deletion');
      await assert.rejects(cache.get(store, repo, blob.descriptor.digest, undefined, { fresh: true }), code('BLOB_UNKNOWN'));
      await assert.rejects(cache.get(store, repo, blob.descriptor.digest), code('BLOB_UNKNOWN'), 'forgotten: the next read asks the registry');
    } finally {
      proxy.heal();
    }
  });

  test('attack, where it matters: production signing does not report a signature whose payload the registry no longer serves', async () => {
    const { image } = fx;
    const repo = await fx.pushImage();
    const keys = fx.key('platform');
    const pem = keys.publicKeyPem;
    // One Store for both attempts, as a worker keeps one per registry: they share its cache entries.
    const store = new RegistryStore(proxy.address);
    const deps = { storeFor: () => store, env: { PLATFORM_PASSWORD: FIXTURE_KEY_PASSWORD } };
    const target = { repository: `${proxy.address}/${repo}`, digest: image.digest };
    const key = { ref: keys.privateKeyPath, passwordEnv: 'PLATFORM_PASSWORD', fingerprint: keyFingerprint(pem) };
    assert.equal((await productionSign(deps, target, key)).added, true);

    // Someone with push rights deletes the signature's payload (the simple-signing blob every .sig layer of the image names).
    const payload = createSimpleSigningPayload(`${proxy.address}/${repo}`, image.digest);
    const digest = `sha256:${crypto.createHash('sha256').update(payload).digest('hex')}`;
    proxy.failWith((method, u) => method === 'GET' && u === `/v2/${repo}/blobs/${digest}`, { status: 404, body: '{"errors":[{"code":"BLOB_UNKNOWN"}]}' });
    try {
      assert.equal((await verifyImageSignatures(store, repo, image.digest, pem)).valid, 1, 'the cache still holds the payload');
      await assert.rejects(productionSign(deps, target, key), code('BLOB_UNKNOWN'), 'the read-back of what was published goes to the registry');
      await assert.rejects(verifyImageSignatures(store, repo, image.digest, pem), code('BLOB_UNKNOWN'), 'and the cache has forgotten it');
    } finally {
      proxy.heal();
    }
    assert.equal((await productionSign(deps, target, key)).added, false, 'once the registry serves it again, the one signature stands');
  });

  test('the worker-wide cache is bounded by its defaults', () => {
    assert.ok(blobCache.maxBytes <= 64 * 1024 * 1024 && blobCache.entryMaxBytes <= 1024 * 1024);
  });
});
