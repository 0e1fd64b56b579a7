/**
 * RegistryStore never holds more of a response than it can use: a descriptor's size when there
 * is one, a streaming limit otherwise. Against the REAL registry (Debian docker-registry on a free
 * loopback port; fails, not skips, without it), plus one hostile server for what no honest
 * registry does (a body without end, bytes that are not the digest's).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { signImage, verifyImageSignatures } from '../../src/cosign/image-signatures';
import { cosignTag } from '../../src/cosign/tags';
import { CountersignError } from '../../src/errors';
import { blobOf, digestOf } from '../../src/oci/digest';
import { RegistryStore } from '../../src/oci/registry';
import { MEDIA_TYPE, type ImageManifest } from '../../src/oci/types';
import { useRegistryFixture } from '../support/registry-fixture';
import { throwawaySigner } from '../support/throwaway-signer';

const fx = useRegistryFixture({ name: 'reglimits' });

function refusedWith(code: string, ...facts: RegExp[]) {
  return (err: unknown) => {
    assert.ok(err instanceof CountersignError, `a CountersignError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const fact of facts) assert.match(err.message, fact);
    return true;
  };
}

describe('against the real registry', () => {
  const blob = blobOf(Buffer.alloc(4096, 'x'), 'application/octet-stream');

  test('a blob is read no further than its descriptor says', async () => {
    const { store } = fx;
    await store.putBlob('limits/blob', blob);
    assert.deepEqual(await store.getBlob('limits/blob', blob.descriptor.digest, 4096), blob.data);
    await assert.rejects(
      store.getBlob('limits/blob', blob.descriptor.digest, 1000),
      refusedWith('REGISTRY_RESPONSE_TOO_LARGE', /GET blob sha256:[0-9a-f]{64} from 127\.0\.0\.1:\d+\/limits\/blob: response declares 4096 bytes, over the 1000-byte descriptor size/),
    );
    await assert.rejects(store.getBlob('limits/blob', blob.descriptor.digest, 5000), refusedWith('DIGEST_MISMATCH', /is 4096 bytes, its descriptor says 5000/));
  });

  test('without a descriptor, the streaming limit; a descriptor past the ceiling is refused before asking', async () => {
    const small = new RegistryStore(fx.registry.address, { limits: { maxUnsizedBlobBytes: 1024, maxBlobBytes: 2048 } });
    await fx.store.putBlob('limits/blob', blob);
    await assert.rejects(small.getBlob('limits/blob', blob.descriptor.digest), refusedWith('REGISTRY_RESPONSE_TOO_LARGE', /over the 1024-byte limit/));
    await assert.rejects(small.getBlob('limits/blob', blob.descriptor.digest, 4096), refusedWith('REGISTRY_RESPONSE_TOO_LARGE', /descriptor declares 4096 bytes, over the 2048-byte limit/));
    await assert.rejects(small.getBlob('limits/blob', '../../_catalog'), refusedWith('BAD_REFERENCE', /not a sha256 digest/));
  });

  test('a manifest over the manifest limit is refused with both numbers', async () => {
    const { image, store } = fx;
    await fx.pushImage('limits/image');
    const tight = new RegistryStore(fx.registry.address, { limits: { maxManifestBytes: 100 } });
    await assert.rejects(tight.getManifest('limits/image', image.digest), refusedWith('REGISTRY_RESPONSE_TOO_LARGE', new RegExp(`declares ${image.manifest.data.length} bytes, over the 100-byte limit`)));
    assert.equal((await store.getManifest('limits/image', image.digest))?.digest, image.digest);
  });

  test('a signature layer whose descriptor understates its size fails verification with the code', async () => {
    const { image, store } = fx;
    await fx.pushImage('limits/signed');
    const signer = throwawaySigner();
    await signImage(store, 'limits/signed', image.digest, signer);
    const tag = cosignTag(image.digest, 'sig');
    assert.equal((await verifyImageSignatures(store, 'limits/signed', image.digest, signer.publicKey)).valid, 1);
    const manifest = JSON.parse((await store.getManifest('limits/signed', tag))!.data.toString('utf8')) as ImageManifest;
    manifest.layers[0]!.size = 10;
    await store.putManifest('limits/signed', tag, Buffer.from(JSON.stringify(manifest)), MEDIA_TYPE.imageManifest);
    await assert.rejects(verifyImageSignatures(store, 'limits/signed', image.digest, signer.publicKey), refusedWith('REGISTRY_RESPONSE_TOO_LARGE', /over the 10-byte descriptor size/));
  });
});

describe('against a hostile server', () => {
  let server: http.Server;
  let host: string;
  const wrong = Buffer.from('these are not the bytes you asked for');
  const asked = digestOf(Buffer.from('the bytes that were asked for'));

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url?.startsWith('/v2/endless/')) {
        // Chunked, no Content-Length, never ends: only counting as it streams can stop this.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 'z');
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        res.on('close', () => res.removeAllListeners('drain'));
        pump();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': wrong.length });
      res.end(wrong);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('a body without end is cut off at the limit and the stream cancelled', async () => {
    const hostile = new RegistryStore(host, { limits: { maxUnsizedBlobBytes: 1024 * 1024 } });
    await assert.rejects(hostile.getBlob('endless/x', asked), refusedWith('REGISTRY_RESPONSE_TOO_LARGE', /response passed \d+ bytes, over the 1048576-byte limit/));
    await assert.rejects(hostile.getManifest('endless/x', 'latest'), refusedWith('REGISTRY_RESPONSE_TOO_LARGE', /over the 4194304-byte limit/));
    await assert.rejects(hostile.getBlob('endless/x', asked, 2048), refusedWith('REGISTRY_RESPONSE_TOO_LARGE', /over the 2048-byte descriptor size/));
  });

  test('bytes that do not hash to the digest asked for are refused', async () => {
    const hostile = new RegistryStore(host);
    await assert.rejects(hostile.getBlob('liar/x', asked), refusedWith('DIGEST_MISMATCH', new RegExp(`expected ${asked}, got ${digestOf(wrong)}`)));
    await assert.rejects(hostile.getManifest('liar/x', asked), refusedWith('DIGEST_MISMATCH', new RegExp(`served with digest ${digestOf(wrong)}`)));
  });
});
