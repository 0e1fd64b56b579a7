/**
 * Reading signatures, attestations and referrers stays bounded whatever the registry holds: a
 * count cap on layers and referrers (refused with the count before anything is fetched), a few
 * fetches in flight at a time, byte limits taken from descriptors, and manifests nested too deep
 * to re-serialise refused on read. Committed cosign vectors in an in-memory store.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { parseBundle } from '../../src/cosign/bundle';
import { BUNDLE_FETCH_CONCURRENCY, verifyImageBundles } from '../../src/cosign/bundle-images';
import { EvidenceError } from '../../src/cosign/problems';
import { DEFAULT_MAX_REFERRERS, pushReferrer, referrersFallbackTag } from '../../src/cosign/referrers';
import { SIGNATURE_ANNOTATION, signImage, verifyImageSignatures } from '../../src/cosign/image-signatures';
import { createSimpleSigningPayload } from '../../src/cosign/simple-signing';
import { DEFAULT_SIGNATURE_LAYER_MAX_BYTES, MAX_LAYERS, SIGNATURE_FETCH_CONCURRENCY } from '../../src/cosign/signature-manifest';
import { cosignTag } from '../../src/cosign/tags';
import { CountersignError } from '../../src/errors';
import type { StoredManifest } from '../../src/oci/store';
import { MEDIA_TYPE, type Descriptor, type ImageManifest } from '../../src/oci/types';
import { MemoryStore } from '../support/memory-store';
import { throwawaySigner } from '../support/throwaway-signer';

const IMAGE = path.join(__dirname, '..', 'vectors', 'cosign-image');
const BUNDLE = path.join(__dirname, '..', 'vectors', 'cosign-bundle');
const vector = JSON.parse(readFileSync(path.join(IMAGE, 'vector.json'), 'utf8'));
const COSIGN_PUB = readFileSync(path.join(IMAGE, 'cosign.pub'), 'utf8');
const REPO: string = vector.repository;
const DIGEST: string = vector.imageDigest;
const SIG_TAG = cosignTag(DIGEST, 'sig');
const sigManifest = (): ImageManifest => JSON.parse(readFileSync(path.join(IMAGE, 'sig-manifest.json'), 'utf8'));

/** A MemoryStore that counts reads and how many were in flight at once. */
class CountingStore extends MemoryStore {
  blobReads = 0;
  manifestReads = 0;
  inFlight = 0;
  maxInFlight = 0;

  async #track<T>(read: () => Promise<T>): Promise<T> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setImmediate(resolve)); // let every caller that would start now start
      return await read();
    } finally {
      this.inFlight -= 1;
    }
  }

  override async getBlob(repository: string, digest: string, size?: number): Promise<Buffer> {
    this.blobReads += 1;
    return this.#track(() => super.getBlob(repository, digest, size));
  }

  override async getManifest(repository: string, reference: string, size?: number): Promise<StoredManifest | undefined> {
    if (reference.startsWith('sha256:')) this.manifestReads += 1;
    return this.#track(() => super.getManifest(repository, reference, size));
  }
}

async function storeWithSignatureLayers(count: number): Promise<CountingStore> {
  const store = new CountingStore(vector.registry);
  await store.putRaw(REPO, readFileSync(path.join(IMAGE, 'sig-payload.json')));
  await store.putRaw(REPO, readFileSync(path.join(IMAGE, 'sig-config.json')));
  await store.tagRaw(REPO, DIGEST, readFileSync(path.join(IMAGE, 'image-manifest.json')), MEDIA_TYPE.imageManifest);
  const manifest = sigManifest();
  manifest.layers = Array.from({ length: count }, () => manifest.layers[0]!);
  await store.tagRaw(REPO, SIG_TAG, JSON.stringify(manifest), MEDIA_TYPE.imageManifest);
  store.blobReads = 0;
  return store;
}

function refusedWith(code: string, fact: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof CountersignError, `a CountersignError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, fact);
    return true;
  };
}

describe('signature manifests', () => {
  test(`more than ${MAX_LAYERS} layers is TOO_MANY_SIGNATURES with the count, and no layer is fetched`, async () => {
    const store = await storeWithSignatureLayers(MAX_LAYERS + 1);
    await assert.rejects(verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB), refusedWith('TOO_MANY_SIGNATURES', /holds 1001 layers, more than the 1000 read/));
    assert.equal(store.blobReads, 0);
  });

  test(`layers are fetched ${SIGNATURE_FETCH_CONCURRENCY} at a time, and all of them count`, async () => {
    const signer = throwawaySigner();
    const store = new CountingStore(vector.registry);
    const manifest = sigManifest();
    manifest.layers = [];
    for (let i = 0; i < 40; i++) {
      const payload = createSimpleSigningPayload(`${vector.registry}/copy-${i}`, DIGEST);
      const digest = await store.putRaw(REPO, payload);
      const signature = (await signer.sign(payload)).toString('base64');
      manifest.layers.push({ mediaType: MEDIA_TYPE.cosignSimpleSigning, digest, size: payload.length, annotations: { [SIGNATURE_ANNOTATION]: signature } });
    }
    await store.tagRaw(REPO, SIG_TAG, JSON.stringify(manifest), MEDIA_TYPE.imageManifest);
    store.blobReads = 0;
    const report = await verifyImageSignatures(store, REPO, DIGEST, signer.publicKey);
    assert.equal(report.valid, 40);
    assert.equal(store.blobReads, 40);
    assert.equal(store.maxInFlight, SIGNATURE_FETCH_CONCURRENCY);
  });

  test('one blob that many layers name (cosign signature layers share their payload) is fetched once, and every layer counts', async () => {
    const store = await storeWithSignatureLayers(40);
    const report = await verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB);
    assert.equal(report.valid, 40);
    assert.equal(store.blobReads, 1);
  });

  test('a layer declaring more than the layer limit, or layers together over the total, are refused before fetching', async () => {
    const store = await storeWithSignatureLayers(1);
    const manifest = sigManifest();
    manifest.layers[0]!.size = DEFAULT_SIGNATURE_LAYER_MAX_BYTES + 1;
    await store.tagRaw(REPO, SIG_TAG, JSON.stringify(manifest), MEDIA_TYPE.imageManifest);
    await assert.rejects(verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB), refusedWith('INPUT_TOO_LARGE', /layer 1 declares 100663297 bytes, over the 100663296-byte limit/));
    manifest.layers = Array.from({ length: 3 }, () => ({ ...manifest.layers[0]!, size: DEFAULT_SIGNATURE_LAYER_MAX_BYTES }));
    await store.tagRaw(REPO, SIG_TAG, JSON.stringify(manifest), MEDIA_TYPE.imageManifest);
    await assert.rejects(verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB), refusedWith('INPUT_TOO_LARGE', /layers declare 301989888 bytes together, over the 268435456-byte limit/));
    assert.equal(store.blobReads, 0);
  });

  test('a layer whose descriptor understates its size is not read past it', async () => {
    const store = await storeWithSignatureLayers(1);
    const manifest = sigManifest();
    manifest.layers[0]!.size -= 1;
    await store.tagRaw(REPO, SIG_TAG, JSON.stringify(manifest), MEDIA_TYPE.imageManifest);
    await assert.rejects(verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB), (e) => e instanceof CountersignError && e.code === 'REGISTRY_RESPONSE_TOO_LARGE');
  });

  test('a planted manifest nested too deep to write back is refused on read, not a RangeError on append', async () => {
    const store = await storeWithSignatureLayers(1);
    const manifest = sigManifest() as ImageManifest & { layers: Array<Descriptor & { platform?: unknown }> };
    const depth = 20_000;
    const text = JSON.stringify(manifest).replace('"annotations":', `"platform":${'['.repeat(depth)}${']'.repeat(depth)},"annotations":`);
    await store.tagRaw(REPO, SIG_TAG, text, MEDIA_TYPE.imageManifest);
    // Another key: no signature of its own yet, so signImage reads the manifest and would append to it.
    await assert.rejects(signImage(store, REPO, DIGEST, throwawaySigner()), refusedWith('INPUT_TOO_LARGE', /nests arrays\/objects deeper than 64 levels/));
  });

  test('a manifest whose descriptors are not descriptors is a MALFORMED problem, like one that is not JSON', async () => {
    const store = await storeWithSignatureLayers(1);
    const manifest = sigManifest();
    (manifest.layers[0] as unknown as Record<string, unknown>).digest = '../../../v2/_catalog';
    await store.tagRaw(REPO, SIG_TAG, JSON.stringify(manifest), MEDIA_TYPE.imageManifest);
    const report = await verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB);
    assert.equal(report.valid, 0);
    assert.deepEqual(report.issues.map((i) => i.code), ['MALFORMED']);
    assert.match(report.problems[0]!, /layers\[0\]\.digest is not a digest/);
    assert.equal(store.blobReads, 0);
  });
});

describe('referrers', () => {
  async function storeWithReferrers(count: number): Promise<CountingStore> {
    const store = new CountingStore(vector.registry);
    const index = { schemaVersion: 2, mediaType: MEDIA_TYPE.imageIndex, manifests: [] as Descriptor[] };
    for (let i = 0; i < count; i++) {
      const digest = `sha256:${i.toString(16).padStart(64, '0')}`;
      index.manifests.push({ mediaType: MEDIA_TYPE.imageManifest, size: 100, digest, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' });
    }
    await store.tagRaw(REPO, referrersFallbackTag(DIGEST), JSON.stringify(index), MEDIA_TYPE.imageIndex);
    return store;
  }

  test(`more than ${DEFAULT_MAX_REFERRERS} referrers is TOO_MANY_REFERRERS with the count, and none is fetched`, async () => {
    const store = await storeWithReferrers(DEFAULT_MAX_REFERRERS + 1);
    await assert.rejects(verifyImageBundles(store, REPO, DIGEST, COSIGN_PUB), refusedWith('TOO_MANY_REFERRERS', /lists 1001 referrers, more than the 1000 read/));
    assert.equal(store.manifestReads, 0);
  });

  test(`a ${DEFAULT_MAX_REFERRERS + 1}th referrer is refused when written, so reads never meet more than they read`, async () => {
    const full = await storeWithReferrers(DEFAULT_MAX_REFERRERS);
    const before = await full.getManifest(REPO, referrersFallbackTag(DIGEST));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.imageManifest, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json', config: { mediaType: MEDIA_TYPE.emptyJson, size: 2, digest: `sha256:${'4'.repeat(64)}` }, layers: [] }));
    await assert.rejects(pushReferrer(full, REPO, DIGEST, manifest, 'application/vnd.dev.sigstore.bundle.v0.3+json', {}), refusedWith('TOO_MANY_REFERRERS', /already lists 1000 referrers, the most that are read/));
    assert.equal((await full.getManifest(REPO, referrersFallbackTag(DIGEST)))?.digest, before?.digest, 'the index is unchanged');
    const roomForOne = await storeWithReferrers(DEFAULT_MAX_REFERRERS - 1);
    await pushReferrer(roomForOne, REPO, DIGEST, manifest, 'application/vnd.dev.sigstore.bundle.v0.3+json', {});
    const index = JSON.parse((await roomForOne.getManifest(REPO, referrersFallbackTag(DIGEST)))!.data.toString('utf8'));
    assert.equal(index.manifests.length, DEFAULT_MAX_REFERRERS, 'the last one that fits is added');
  });

  test(`referrers are checked ${BUNDLE_FETCH_CONCURRENCY} at a time, each one reported`, async () => {
    const store = await storeWithReferrers(40);
    const evidence = await verifyImageBundles(store, REPO, DIGEST, COSIGN_PUB);
    assert.equal(evidence.problems.length, 40);
    assert.ok(evidence.problems.every((p) => p.code === 'NOT_FOUND'));
    assert.equal(store.manifestReads, 40);
    assert.equal(store.maxInFlight, BUNDLE_FETCH_CONCURRENCY);
  });
});

describe('bundles', () => {
  test('dsseEnvelope.signatures that is not a list is MALFORMED, not a TypeError', () => {
    const bundle = JSON.parse(readFileSync(path.join(BUNDLE, 'sign-bundle.json'), 'utf8'));
    for (const signatures of ['x', 7, {}, true]) {
      bundle.dsseEnvelope.signatures = signatures;
      assert.throws(() => parseBundle(JSON.stringify(bundle)), (e) => e instanceof EvidenceError && e.code === 'MALFORMED' && /signatures is not a list/.test(e.message), JSON.stringify(signatures));
    }
  });

  test('a bundle over the size limit or nested too deep is INPUT_TOO_LARGE', () => {
    assert.throws(() => parseBundle(`${'['.repeat(100)}${']'.repeat(100)}`), refusedWith('INPUT_TOO_LARGE', /bundle nests arrays\/objects deeper than 64 levels/));
    assert.throws(() => parseBundle(Buffer.alloc(100 * 1024 * 1024, 0x20)), refusedWith('INPUT_TOO_LARGE', /bundle is 104857600 bytes, over the limit of 100728832/));
  });
});
