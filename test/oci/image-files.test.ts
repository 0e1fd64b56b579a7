import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { hasCode } from '../../src/errors';
import { buildImageFromDirectory, gzipDeterministic } from '../../src/oci/build';
import { blobOf, digestOf } from '../../src/oci/digest';
import { imageFiles } from '../../src/oci/image-files';
import { createTar, type TarEntry } from '../../src/oci/tar';
import { MEDIA_TYPE } from '../../src/oci/types';
import { MemoryStore } from '../support/memory-store';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'hello-image');

async function pushed() {
  const store = new MemoryStore();
  const image = await buildImageFromDirectory(FIXTURE);
  for (const blob of [...image.layers, image.config]) await store.putBlob('apps/hello', blob);
  await store.putManifest('apps/hello', image.digest, image.manifest.data, image.manifest.descriptor.mediaType);
  return { store, image };
}

/** The pushed image with one more layer on top; returns the new manifest's digest. */
async function withUpperLayer(store: MemoryStore, image: Awaited<ReturnType<typeof buildImageFromDirectory>>, entries: TarEntry[]): Promise<string> {
  const upper = blobOf(gzipDeterministic(createTar(entries)), MEDIA_TYPE.layerTarGzip);
  await store.putBlob('apps/hello', upper);
  const manifest = JSON.parse(image.manifest.data.toString('utf8'));
  manifest.layers.push(upper.descriptor);
  const data = Buffer.from(JSON.stringify(manifest));
  return store.putManifest('apps/hello', digestOf(data), data, MEDIA_TYPE.imageManifest);
}

test('the files read back from a pushed image are the ones its build listed (same SBOM without a rebuild)', async () => {
  const { store, image } = await pushed();
  assert.deepEqual(await imageFiles(store, 'apps/hello', image.digest), image.files);
});

test('a later layer replaces a file and its whiteout removes one', async () => {
  const { store, image } = await pushed();
  const [first, ...rest] = image.files;
  assert.ok(first && rest.length > 0, 'the fixture has several files');
  const digest = await withUpperLayer(store, image, [
    { path: first.path, type: 'file', data: Buffer.from('replaced\n') },
    { path: rest[0].path.replace(/([^/]+)$/, '.wh.$1'), type: 'file', data: Buffer.alloc(0) },
  ]);
  const files = await imageFiles(store, 'apps/hello', digest);
  assert.equal(files.find((f) => f.path === first.path)?.size, 'replaced\n'.length);
  assert.equal(files.some((f) => f.path === rest[0].path), false, 'whited out');
  assert.equal(files.length, image.files.length - 1);
});

test("an opaque whiteout hides what earlier layers had in its directory, and keeps its own layer's files", async () => {
  const { store, image } = await pushed();
  const digest = await withUpperLayer(store, image, [
    { path: 'data/.wh..wh..opq', type: 'file', data: Buffer.alloc(0) },
    { path: 'data/new.txt', type: 'file', data: Buffer.from('new\n') },
  ]);
  const paths = (await imageFiles(store, 'apps/hello', digest)).map((f) => f.path);
  assert.deepEqual(paths, ['bin/hello.sh', 'data/new.txt', 'index.html']);
});

test('refuses an unknown digest and a layer that is not a tar', async () => {
  const { store, image } = await pushed();
  await assert.rejects(imageFiles(store, 'apps/hello', `sha256:${'0'.repeat(64)}`), (e) => hasCode(e, 'MANIFEST_UNKNOWN'));
  const manifest = JSON.parse(image.manifest.data.toString('utf8'));
  manifest.layers[0].mediaType = 'application/vnd.example.not-a-layer';
  const data = Buffer.from(JSON.stringify(manifest));
  const digest = await store.putManifest('apps/hello', digestOf(data), data, MEDIA_TYPE.imageManifest);
  await assert.rejects(imageFiles(store, 'apps/hello', digest), (e) => hasCode(e, 'BAD_INPUT') && /not a tar layer/.test((e as Error).message));
});

test('a gzip bomb layer is refused at the layer limit, naming it, instead of being inflated whole', async () => {
  const { store, image } = await pushed();
  // 64 MiB of zeros in one file: about 64 KiB once gzipped.
  const bomb = gzipDeterministic(createTar([{ path: 'zeros', type: 'file', data: Buffer.alloc(64 * 1024 * 1024) }]));
  assert.ok(bomb.length < 256 * 1024, `the bomb is small compressed (${bomb.length})`);
  const digest = await withUpperLayer(store, image, []);
  const manifest = JSON.parse((await store.getManifest('apps/hello', digest))!.data.toString('utf8'));
  const layer = blobOf(bomb, MEDIA_TYPE.layerTarGzip);
  await store.putBlob('apps/hello', layer);
  manifest.layers = [layer.descriptor];
  const data = Buffer.from(JSON.stringify(manifest));
  const bombed = await store.putManifest('apps/hello', digestOf(data), data, MEDIA_TYPE.imageManifest);
  await assert.rejects(imageFiles(store, 'apps/hello', bombed, { maxLayerBytes: 8 * 1024 * 1024 }), (e) => {
    assert.ok(hasCode(e, 'INPUT_TOO_LARGE'), String(e));
    assert.match((e as Error).message, new RegExp(`layer ${layer.descriptor.digest} inflates past the 8388608-byte limit \\(${bomb.length} bytes compressed\\)`));
    return true;
  });
  assert.equal((await imageFiles(store, 'apps/hello', bombed, { maxLayerBytes: 65 * 1024 * 1024 })).length, 1, 'under the limit it reads');
});

test('more layers than docker runs is refused with the count, before any layer is fetched', async () => {
  const { store, image } = await pushed();
  const manifest = JSON.parse(image.manifest.data.toString('utf8'));
  manifest.layers = Array.from({ length: 129 }, () => manifest.layers[0]);
  const data = Buffer.from(JSON.stringify(manifest));
  const digest = await store.putManifest('apps/hello', digestOf(data), data, MEDIA_TYPE.imageManifest);
  await assert.rejects(imageFiles(store, 'apps/hello', digest), (e) => hasCode(e, 'INPUT_TOO_LARGE') && /has 129 layers, more than the 128 read/.test((e as Error).message));
});

test('a manifest that is not one is MANIFEST_INVALID, with every problem', async () => {
  const { store } = await pushed();
  for (const [body, fact] of [
    ['not json', /is not JSON/],
    ['[]', /is not a JSON object/],
    ['{"schemaVersion":2,"config":{},"layers":[{"digest":"sha256:../../x","size":-1}]}', /config.mediaType is missing.*layers\[0\].digest is not a digest.*layers\[0\].size is not a non-negative integer/],
  ] as const) {
    const data = Buffer.from(body);
    const digest = await store.putManifest('apps/hello', digestOf(data), data, MEDIA_TYPE.imageManifest);
    await assert.rejects(imageFiles(store, 'apps/hello', digest), (e) => hasCode(e, 'MANIFEST_INVALID') && fact.test((e as Error).message), body);
  }
});

test('a layer whose descriptor understates its size is not read past that size', async () => {
  const { store, image } = await pushed();
  const manifest = JSON.parse(image.manifest.data.toString('utf8'));
  manifest.layers[0].size -= 1;
  const data = Buffer.from(JSON.stringify(manifest));
  const digest = await store.putManifest('apps/hello', digestOf(data), data, MEDIA_TYPE.imageManifest);
  await assert.rejects(imageFiles(store, 'apps/hello', digest), (e) => hasCode(e, 'REGISTRY_RESPONSE_TOO_LARGE'));
});
