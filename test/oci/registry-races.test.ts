/**
 * A manifest PUT that names a blob the real registry does not have yet (another writer still
 * uploading it, as when promotions of one digest to many targets push the same layers at once)
 * is a retryable REGISTRY_ERROR, not a refusal: the step's retry pushes the blob and succeeds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CountersignError } from '../../src/errors';
import { useRegistryFixture } from '../support/registry-fixture';

const fx = useRegistryFixture({ name: 'races' });

test('a manifest whose blob is not there yet fails retryably, and succeeds once the blob is pushed', async () => {
  const { image, store } = fx;
  await store.putBlob('races/hello', image.config);
  const err = await store.putManifest('races/hello', image.digest, image.manifest.data, image.manifest.descriptor.mediaType).catch((e: unknown) => e);
  assert.ok(err instanceof CountersignError, String(err));
  assert.equal(err.code, 'REGISTRY_ERROR', err.message);
  assert.equal(err.retryable, true);
  assert.match(err.message, /MANIFEST_BLOB_UNKNOWN.*not visible yet; retrying/);
  for (const layer of image.layers) await store.putBlob('races/hello', layer);
  assert.equal(await store.putManifest('races/hello', image.digest, image.manifest.data, image.manifest.descriptor.mediaType), image.digest);
});
