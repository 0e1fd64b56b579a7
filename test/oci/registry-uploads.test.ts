/**
 * Blob uploads, counted at a proxy in front of real registries: olareg takes OCI's single-request
 * upload (POST with `?digest=` and the bytes, answered 201), so a small blob costs one request and
 * no HEAD; large blobs take HEAD, POST and PUT. distribution 2.8 answers that POST with an upload
 * session (202) and drops the bytes: the same call PUTs them, and from then on that registry gets
 * HEAD, POST and PUT. A registry that refuses the form outright (fake: the proxy answers 405 in
 * its place; neither registry here does) is uploaded to the long way in the same call, and
 * remembered; a 500 (faked the same way) fails the upload and is not held against the form.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CountersignError } from '../../src/errors';
import { RegistryStore, SINGLE_REQUEST_UPLOAD_MAX_BYTES } from '../../src/oci/registry';
import type { Blob } from '../../src/oci/types';
import { olaregPath, startOlareg, type RunningOlareg } from '../../src/stack/olareg';
import { startHoldingProxy, type HoldingProxy } from '../support/holding-proxy';
import { useRegistryFixture } from '../support/registry-fixture';

function blobOf(bytes: number): Blob {
  const data = randomBytes(bytes);
  return { data, descriptor: { mediaType: 'application/octet-stream', digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, size: data.length } };
}

/** The requests the proxy saw since the last call, without query strings' digests (for readable comparisons). */
function take(proxy: HoldingProxy): string[] {
  return proxy.requests.splice(0).map((r) => r.replace(/sha256:[0-9a-f]{64}/g, 'D').replace(/sha256%3A[0-9a-f]{64}/g, 'D').replace(/\/blobs\/uploads\/[^?\s]+/, '/blobs/uploads/S'));
}

async function storedAs(store: RegistryStore, repository: string, blob: Blob): Promise<void> {
  assert.deepEqual(await store.getBlob(repository, blob.descriptor.digest, blob.descriptor.size), blob.data);
}

/** A small blob is one POST, again one when it is already there; a large one takes HEAD, POST and PUT. */
async function singleRequestUploads(proxy: HoldingProxy): Promise<void> {
  const store = new RegistryStore(proxy.address);
  const small = blobOf(1000);
  await store.putBlob('apps/small', small);
  assert.deepEqual(take(proxy), ['POST /v2/apps/small/blobs/uploads/?digest=D']);
  await storedAs(store, 'apps/small', small);
  take(proxy);

  await store.putBlob('apps/small', small);
  assert.deepEqual(take(proxy), ['POST /v2/apps/small/blobs/uploads/?digest=D'], 'no HEAD first: the registry answers 201 for a blob it holds');
  await storedAs(store, 'apps/small', small);
  take(proxy);

  const large = blobOf(SINGLE_REQUEST_UPLOAD_MAX_BYTES + 1);
  await store.putBlob('apps/small', large);
  const [head, post, put, ...rest] = take(proxy);
  assert.equal(head, 'HEAD /v2/apps/small/blobs/D');
  assert.equal(post, 'POST /v2/apps/small/blobs/uploads/');
  assert.match(put, /^PUT \/v2\/apps\/small\/blobs\/uploads\/S\?.*digest=D/);
  assert.deepEqual(rest, []);
  await storedAs(store, 'apps/small', large);
}

describe('blob uploads: one request where the registry takes it', () => {
  describe('olareg', { skip: olaregPath() ? false : 'olareg not installed (bash scripts/toolchain.sh olareg)' }, () => {
    let olareg: RunningOlareg;
    let proxy: HoldingProxy;
    before(async () => {
      olareg = await startOlareg();
      proxy = await startHoldingProxy(olareg.address);
    });
    after(async () => {
      await proxy?.close();
      await olareg?.stop();
    });

    test('takes the single-request upload: a small blob costs one request, no HEAD', () => singleRequestUploads(proxy));

    test('a 500 to the single-request POST (fake: the proxy answers in its place) fails the upload, retryable, and is not remembered against the form', async () => {
      const troubled = await startHoldingProxy(olareg.address);
      try {
        const store = new RegistryStore(troubled.address);
        troubled.failWith((method, url) => method === 'POST' && url.includes('?digest='), { status: 500, body: '{"errors":[{"code":"UNKNOWN"}]}' });
        const blob = blobOf(700);
        await assert.rejects(store.putBlob('apps/troubled', blob), (e: unknown) => e instanceof CountersignError && e.code === 'REGISTRY_ERROR' && /HTTP 500/.test(e.message));
        assert.deepEqual(take(troubled), ['POST /v2/apps/troubled/blobs/uploads/?digest=D'], 'no fallback to the long way on a 5xx');
        troubled.heal();
        await store.putBlob('apps/troubled', blob);
        assert.deepEqual(take(troubled), ['POST /v2/apps/troubled/blobs/uploads/?digest=D'], 'the next upload takes the single request again');
        await storedAs(store, 'apps/troubled', blob);
      } finally {
        await troubled.close();
      }
    });
  });

  describe('distribution 2.8', () => {
    const fixture = useRegistryFixture({ name: 'registry-uploads' });

    test('opens a session for it and drops the bytes: the same call PUTs them, later uploads go HEAD, POST, PUT', async () => {
      const proxy = await fixture.proxy();
      const store = new RegistryStore(proxy.address);
      const first = blobOf(500);
      await store.putBlob('apps/sessions', first);
      const [post, put, ...rest] = take(proxy);
      assert.equal(post, 'POST /v2/apps/sessions/blobs/uploads/?digest=D');
      assert.match(put, /^PUT \/v2\/apps\/sessions\/blobs\/uploads\/S\?.*digest=D/);
      assert.deepEqual(rest, []);
      await storedAs(store, 'apps/sessions', first);
      take(proxy);

      const second = blobOf(500);
      await store.putBlob('apps/sessions', second);
      assert.deepEqual(take(proxy).map((r) => r.split('?')[0]), ['HEAD /v2/apps/sessions/blobs/D', 'POST /v2/apps/sessions/blobs/uploads/', 'PUT /v2/apps/sessions/blobs/uploads/S']);
      await storedAs(store, 'apps/sessions', second);
      take(proxy);

      await store.putBlob('apps/sessions', second);
      assert.deepEqual(take(proxy), ['HEAD /v2/apps/sessions/blobs/D'], 'a blob the registry holds is not sent again');
    });

    test('a registry that refuses it (fake: the proxy answers 405 in its place): the blob is uploaded the long way in the same call, and the form is not tried again', async () => {
      const proxy = await fixture.proxy();
      proxy.failWith((method, url) => method === 'POST' && url.includes('?digest='), { status: 405, body: '{"errors":[{"code":"UNSUPPORTED"}]}' });
      const store = new RegistryStore(proxy.address);
      const blob = blobOf(500);
      await store.putBlob('apps/refused', blob);
      assert.equal(proxy.faults.failed, 1);
      assert.deepEqual(take(proxy).map((r) => r.split('?')[0]), ['POST /v2/apps/refused/blobs/uploads/', 'HEAD /v2/apps/refused/blobs/D', 'POST /v2/apps/refused/blobs/uploads/', 'PUT /v2/apps/refused/blobs/uploads/S']);
      await storedAs(store, 'apps/refused', blob);
      take(proxy);
      await store.putBlob('apps/refused', blobOf(500));
      assert.equal(proxy.faults.failed, 1, 'remembered: not tried again');
    });
  });
});
