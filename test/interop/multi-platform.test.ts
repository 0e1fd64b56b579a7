/**
 * Images as they come, on a real Temporal dev server and registry with stock cosign: a
 * multi-platform OCI index (with BuildKit's unsigned provenance inside) and a Docker manifest list
 * promoted by `--image` in each publishing format, the index digest signed as cosign signs it and
 * verified by cosign v3 and v2; an index whose only provenance is BuildKit's is rejected; an image
 * copied with `cosign copy` verifies with countersign as with cosign, and cosign v2's own blob
 * bundle verifies with `countersign verify-blob`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitForPromotion } from '../../src/client/promotions';
import type { SignatureFormat } from '../../src/cosign/formats';
import { signImageAs } from '../../src/cosign/verify-image';
import { FileSigner } from '../../src/keys/file-signer';
import { buildImageFromDirectory } from '../../src/oci/build';
import { jsonBlob } from '../../src/oci/digest';
import { MEDIA_TYPE } from '../../src/oci/types';
import { developerSign } from '../../src/promotion/steps';
import { createProvenance } from '../../src/provenance/slsa';
import { createStatement } from '../../src/provenance/statement';
import { SPDX_PREDICATE_TYPE, createSpdxSbom } from '../../src/sbom/spdx';
import { locateTool } from '../../src/stack/tools';
import { APPROVAL_PREDICATE_TYPE } from '../../workflows/approval-messages';
import { runCli } from '../support/cli';
import { noServicesRootArgs } from '../support/cosign-v2';
import { COMMIT, TEST_PASSWORD, buildFacts, startTestEnv, type TestEnv } from '../support/env';
import { pushMultiPlatformImage } from '../support/multi-platform';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const VECTORS = path.resolve(__dirname, '../vectors');
const cosign = locateTool('cosign');
const cosignV2 = locateTool('cosign-v2');

describe('multi-platform images, cosign copy and cosign v2 bundles with stock cosign', { skip: cosign ? false : 'cosign not installed (npm run toolchain)' }, () => {
  let env: TestEnv;
  before(async () => {
    env = await startTestEnv();
    await env.startWorker();
  });
  after(async () => {
    await env?.close();
  });

  const run = (args: string[], bin = cosign!) => spawnSync(bin, [...args, '--insecure-ignore-tlog=true', '--allow-http-registry'], { encoding: 'utf8', env: { ...process.env, HOME: env.dir } });
  const key = (name: string) => path.join(env.keysDir, name);

  /** The developer's CI: signs the index digest and attests provenance and SBOM for it with the developer key. */
  async function developerCi(repository: string, digest: string, signatureFormat: SignatureFormat = 'legacy') {
    const deps = { storeFor: () => env.store, env: { CI_KEY_PASSWORD: TEST_PASSWORD } };
    // In the target's format: cosign v3 stops reading .sig tags once an image has any bundle.
    const location = { repository: `${env.stack.registry.address}/${repository}`, digest, signatureFormat };
    const times = { invocationId: `ci-${digest.slice(7, 19)}`, startedOn: '2026-11-21T00:00:00Z', finishedOn: '2026-11-21T00:01:00Z' };
    const provenance = jsonBlob(createProvenance({ ...buildFacts(), ...times, subjectName: location.repository, digest }), MEDIA_TYPE.emptyJson);
    const sbom = jsonBlob(createStatement(location.repository, digest, SPDX_PREDICATE_TYPE, createSpdxSbom({ imageName: location.repository, imageDigest: digest, files: [], created: times.finishedOn })), MEDIA_TYPE.emptyJson);
    for (const b of [provenance, sbom]) await env.store.putBlob(repository, b);
    await developerSign(deps, location, { ref: key('dev.key'), passwordEnv: 'CI_KEY_PASSWORD' }, [provenance.descriptor.digest, sbom.descriptor.digest]);
  }

  async function promote(repository: string, digest: string, format: SignatureFormat, name: string) {
    const target = env.targetWith({ repository: `${env.stack.registry.address}/${repository}`, signatureFormat: format }, name);
    const started = await env.promote({ target, source: { image: `${target.repository}@${digest}` }, commit: COMMIT });
    return { started, target };
  }

  for (const format of ['legacy', 'bundle', 'both'] as const) {
    it(`${format}: an OCI index with BuildKit provenance is promoted by its index digest; cosign v3 and v2 verify it`, async () => {
      const repository = `apps/multi-${format}`;
      const pushed = await pushMultiPlatformImage(env.store, repository, HELLO, path.join(env.dir, `multi-${format}`), { buildkitProvenance: { builder: { id: 'https://github.com/docker/buildx' } } });
      await developerCi(repository, pushed.digest, format);
      const { started } = await promote(repository, pushed.digest, format, `multi-${format}`);
      const waiting = await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' || s.state === 'REJECTED' });
      assert.equal(waiting.state, 'AWAITING_APPROVAL', JSON.stringify(waiting.checks));
      await env.decideAs(started.promotionId, 'alice', 'approve', 'multi-platform');
      const done = await waitForPromotion(env.client, started.promotionId);
      assert.equal(done.state, 'PROMOTED', done.error);
      assert.equal(started.digest, pushed.digest);
      const released = await env.store.getManifest(repository, 'prod');
      assert.deepEqual([released?.digest, released?.mediaType], [pushed.digest, MEDIA_TYPE.imageIndex], 'the release tag names the index itself');

      const ref = `${env.stack.registry.address}/${repository}@${pushed.digest}`;
      for (const args of [
        ['verify', '--key', key('platform.pub'), ref],
        ['verify', '--key', key('dev.pub'), ref],
        ['verify-attestation', '--key', key('platform.pub'), '--type', APPROVAL_PREDICATE_TYPE, ref],
        ['verify-attestation', '--key', key('dev.pub'), '--type', 'slsaprovenance1', ref],
      ]) {
        const r = run(args);
        assert.equal(r.status, 0, `cosign v3 ${args.join(' ')}\n${r.stderr}`);
      }
      assert.notEqual(run(['verify', '--key', key('alice.pub'), ref]).status, 0, 'cosign v3 refuses the wrong key');
      // cosign verifies the digest it is given: a platform image is not signed by signing its index.
      assert.notEqual(run(['verify', '--key', key('platform.pub'), `${env.stack.registry.address}/${repository}@${pushed.platforms[0]}`]).status, 0);
      if (cosignV2) {
        // From v2.6.3 cosign v2 reads bundles too, given a trusted root (docs/cosign-interop.md).
        const v2 = run(['verify', '--key', key('platform.pub'), ref, ...noServicesRootArgs(env.dir)], cosignV2);
        assert.equal(v2.status, 0, `cosign v2 ${format}\n${v2.stderr}`);
      }
      const ours = await runCli(['verify', ref, '--key', key('platform.pub'), '--type', APPROVAL_PREDICATE_TYPE, '--json']);
      assert.equal(ours.code, 0, ours.stdout + ours.stderr);
      const notices: string[] = JSON.parse(ours.stdout).notices;
      assert.equal(notices.filter((n) => /BuildKit attestation manifest .* unsigned, never counted as evidence/.test(n)).length, 2);
    });
  }

  it('a Docker manifest list is promoted and verified by its own digest', async () => {
    const repository = 'apps/multi-docker';
    const pushed = await pushMultiPlatformImage(env.store, repository, HELLO, path.join(env.dir, 'multi-docker'), { docker: true });
    await developerCi(repository, pushed.digest);
    const { started } = await promote(repository, pushed.digest, 'legacy', 'multi-docker');
    await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(started.promotionId, 'bob', 'approve');
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    assert.equal((await env.store.getManifest(repository, 'prod'))?.mediaType, MEDIA_TYPE.dockerManifestList);
    const r = run(['verify', '--key', key('platform.pub'), `${env.stack.registry.address}/${repository}@${pushed.digest}`]);
    assert.equal(r.status, 0, r.stderr);
  });

  it("an index whose only provenance is BuildKit's unsigned one is rejected, the BuildKit manifests named in its notices", async () => {
    const repository = 'apps/multi-buildkit-only';
    const pushed = await pushMultiPlatformImage(env.store, repository, HELLO, path.join(env.dir, 'multi-bk'), { buildkitProvenance: { ...buildFacts() } });
    const dev = await FileSigner.load(key('dev.key'), TEST_PASSWORD);
    await signImageAs('legacy', env.store, repository, pushed.digest, dev);
    const { started } = await promote(repository, pushed.digest, 'legacy', 'multi-bk');
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'REJECTED');
    assert.deepEqual(done.checks.filter((c) => !c.ok).map((c) => c.name).sort(), ['provenanceAttestation', 'sbomAttestation']);
    assert.notEqual(run(['verify', '--key', key('platform.pub'), `${env.stack.registry.address}/${repository}@${pushed.digest}`]).status, 0, 'nothing was production-signed');
  });

  it('an image and an index copied with cosign copy verify with countersign as with cosign', async () => {
    const platform = await FileSigner.load(key('platform.key'), TEST_PASSWORD);
    const single = await buildImageFromDirectory(HELLO);
    for (const blob of [...single.layers, single.config]) await env.store.putBlob('apps/copy-src', blob);
    await env.store.putManifest('apps/copy-src', single.digest, single.manifest.data, single.manifest.descriptor.mediaType);
    const index = await pushMultiPlatformImage(env.store, 'apps/copy-src', HELLO, path.join(env.dir, 'copy'));
    for (const [i, digest] of [single.digest, index.digest].entries()) {
      await signImageAs('legacy', env.store, 'apps/copy-src', digest, platform);
      const copy = () => spawnSync(cosign!, ['copy', '--allow-http-registry', `${env.stack.registry.address}/apps/copy-src@${digest}`, `${env.stack.registry.address}/apps/copied-${i}`], { encoding: 'utf8', env: { ...process.env, HOME: env.dir } });
      let copied = copy();
      // cosign copy pushes an index's platforms while it pushes the index, and distribution refuses an
      // index whose platform has not landed yet (MANIFEST_BLOB_UNKNOWN); once they are there, copy again.
      if (copied.status !== 0 && /MANIFEST_BLOB_UNKNOWN/.test(copied.stderr)) copied = copy();
      assert.equal(copied.status, 0, copied.stderr);
      assert.equal((await env.store.getManifest(`apps/copied-${i}`, `sha256-${digest.slice(7)}`))?.digest, digest, 'cosign copy tags the image itself sha256-<hex>');
      const ref = `${env.stack.registry.address}/apps/copied-${i}@${digest}`;
      assert.equal(run(['verify', '--key', key('platform.pub'), ref]).status, 0);
      const ours = await runCli(['verify', ref, '--key', key('platform.pub')]);
      assert.equal(ours.code, 0, ours.stdout + ours.stderr);
      const wrong = await runCli(['verify', ref, '--key', key('dev.pub')]);
      assert.equal(wrong.code, 4, wrong.stdout);
    }
  });

  it("cosign v2's default sign-blob --bundle output verifies with countersign verify-blob, and cosign v2 reads it too", { skip: cosignV2 ? false : 'cosign v2 not installed' }, async () => {
    const file = path.join(VECTORS, 'cosign-keys', 'blob.txt');
    const bundle = path.join(env.dir, 'v2.bundle');
    const signed = spawnSync(cosignV2!, ['sign-blob', '--key', path.join(VECTORS, 'cosign-keys', 'cosign.key'), '--bundle', bundle, '--tlog-upload=false', '--yes', file], {
      encoding: 'utf8',
      env: { ...process.env, HOME: env.dir, COSIGN_PASSWORD: 'countersign-test' },
    });
    assert.equal(signed.status, 0, signed.stderr);
    const fresh = JSON.parse(await fs.readFile(bundle, 'utf8'));
    const committed = JSON.parse(await fs.readFile(path.join(VECTORS, 'cosign-v2-blob', 'blob.bundle.json'), 'utf8'));
    assert.deepEqual(Object.keys(fresh), Object.keys(committed), 'the same shape as the committed vector');
    const ours = await runCli(['verify-blob', file, '--key', path.join(VECTORS, 'cosign-keys', 'cosign.pub'), '--bundle', bundle, '--json']);
    assert.equal(ours.code, 0, ours.stdout + ours.stderr);
    assert.equal(JSON.parse(ours.stdout).bundleFormat, 'cosign-v2');
    const stock = spawnSync(cosignV2!, ['verify-blob', '--key', path.join(VECTORS, 'cosign-keys', 'cosign.pub'), '--bundle', bundle, '--insecure-ignore-tlog=true', file], { encoding: 'utf8', env: { ...process.env, HOME: env.dir } });
    assert.equal(stock.status, 0, stock.stderr);
  });
});
