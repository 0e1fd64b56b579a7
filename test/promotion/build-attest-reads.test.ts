/**
 * Build, then attest, against a REAL registry (distribution 2.8) through a proxy that lists every
 * request: attest's SBOM lists the files read back from the image's layers by digest, and the
 * worker that just pushed the image answers those reads from its blob cache. A worker that did
 * not build it (another Store) reads them from the registry, and both list the same files.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_BLOB_CACHE_ENTRY_MAX_BYTES } from '../../src/oci/blob-cache';
import { buildImageFromDirectory } from '../../src/oci/build';
import { RegistryStore } from '../../src/oci/registry';
import { attestPushedImage, buildAndPush, type StepDeps } from '../../src/promotion/steps';
import { SPDX_PREDICATE_TYPE } from '../../src/sbom/spdx';
import { FIXTURE_IMAGE_DIR, useRegistryFixture } from '../support/registry-fixture';

const FACTS = {
  sourceRepo: 'https://git.example/acme/hello',
  commit: 'a'.repeat(40),
  buildCommand: 'countersign build',
  builderId: 'https://countersign.dev/builder/test',
  invocationId: 'promote-hello/run-1',
  startedOn: '2026-11-27T12:00:00.000Z',
  finishedOn: '2026-11-27T12:00:01.000Z',
};

describe('build, then attest', () => {
  const fixture = useRegistryFixture({ name: 'build-attest' });

  async function sbomFiles(store: RegistryStore, repo: string, sbomDigest: string): Promise<string[]> {
    const statement = JSON.parse((await store.getBlob(repo, sbomDigest)).toString('utf8')) as { predicateType: string; predicate: { files: Array<{ fileName: string }> } };
    assert.equal(statement.predicateType, SPDX_PREDICATE_TYPE);
    return statement.predicate.files.map((f) => f.fileName).sort();
  }

  test('the worker that pushed the image reads neither its manifest nor its layer back; another worker reads both; the SBOMs list the same files', async () => {
    const proxy = await fixture.proxy();
    const builder = new RegistryStore(proxy.address);
    const deps: StepDeps = { storeFor: () => builder };
    const target = { repository: `${proxy.address}/build-attest/hello`, digest: fixture.image.digest };

    await buildAndPush(deps, FIXTURE_IMAGE_DIR, target);
    proxy.requests.length = 0;
    const own = await attestPushedImage(deps, target, FACTS);
    assert.deepEqual(
      proxy.requests.filter((r) => r.startsWith('GET') || r.startsWith('HEAD')),
      [],
      'attest in the worker that built the image asks the registry for nothing',
    );
    const uploaded = proxy.requests.filter((r) => r.startsWith('PUT')).map((r) => decodeURIComponent(/[?&]digest=([^&]+)/.exec(r)?.[1] ?? ''));
    assert.deepEqual(uploaded.sort(), [own.provenanceDigest, own.sbomDigest].sort(), 'its uploads finish with the two statements');
    assert.ok(
      proxy.requests.every((r) => /^(POST|PUT) \/v2\/build-attest\/hello\/blobs\/uploads\//.test(r)),
      `attest pushes its two statements and nothing else: ${proxy.requests.join(', ')}`,
    );

    proxy.requests.length = 0;
    const other = new RegistryStore(proxy.address);
    const elsewhere = await attestPushedImage({ storeFor: () => other }, target, FACTS);
    const layer = JSON.parse(fixture.image.manifest.data.toString('utf8')).layers[0].digest as string;
    const reads = proxy.requests.filter((r) => r.startsWith('GET'));
    assert.deepEqual(reads, [`GET /v2/build-attest/hello/manifests/${fixture.image.digest}`, `GET /v2/build-attest/hello/blobs/${layer}`], 'a worker that did not build it reads the manifest and the layer');

    assert.equal(elsewhere.sbomDigest, own.sbomDigest, 'the same statement either way');
    const files = await sbomFiles(fixture.store, 'build-attest/hello', own.sbomDigest);
    assert.deepEqual(files, fixture.image.files.map((f) => `./${f.path}`).sort());
  });

  test('a layer too large for the cache is read back from the registry; the manifest is not', async () => {
    const dir = path.join(fixture.dir, 'large');
    fs.mkdirSync(dir, { recursive: true });
    // Random bytes do not compress: the gzipped layer stays over the cache's entry limit.
    fs.writeFileSync(path.join(dir, 'blob.bin'), crypto.randomBytes(DEFAULT_BLOB_CACHE_ENTRY_MAX_BYTES + 64 * 1024));
    const image = await buildImageFromDirectory(dir);
    const layer = JSON.parse(image.manifest.data.toString('utf8')).layers[0] as { digest: string; size: number };
    assert.ok(layer.size > DEFAULT_BLOB_CACHE_ENTRY_MAX_BYTES, `the layer is ${layer.size} bytes`);

    const proxy = await fixture.proxy();
    const store = new RegistryStore(proxy.address);
    const deps: StepDeps = { storeFor: () => store };
    const target = { repository: `${proxy.address}/build-attest/large`, digest: image.digest };
    await buildAndPush(deps, dir, target);
    proxy.requests.length = 0;
    const attested = await attestPushedImage(deps, target, FACTS);
    assert.deepEqual(
      proxy.requests.filter((r) => r.startsWith('GET') || r.startsWith('HEAD')),
      [`GET /v2/build-attest/large/blobs/${layer.digest}`],
      'only the large layer is fetched',
    );
    assert.deepEqual(await sbomFiles(fixture.store, 'build-attest/large', attested.sbomDigest), ['./blob.bin']);
  });
});
