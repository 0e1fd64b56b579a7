/**
 * Both directions against the REAL cosign v3.1.2 in its default (bundle) format, on two real
 * registries: distribution 2.8 without the Referrers API (cosign and we keep the fallback index
 * tag) and olareg with it (no fallback tag; referrers listed by the registry). Then a promotion on
 * a real Temporal dev server that starts from an image cosign signed and attested. Skips when
 * cosign (or, for its half, olareg) is not installed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signBlob } from '../../src/cosign/blob';
import { attestImageAs, signImageAs } from '../../src/cosign/verify-image';
import { waitForPromotion } from '../../src/client/promotions';
import { FileSigner } from '../../src/keys/file-signer';
import { buildImageFromDirectory } from '../../src/oci/build';
import { RegistryStore } from '../../src/oci/registry';
import { verifyForPlatform } from '../../src/promotion/steps';
import { createStatement } from '../../src/provenance/statement';
import { startRegistry } from '../../src/stack/registry';
import { locateTool } from '../../src/stack/tools';
import { listReferrers, referrersFallbackTag } from '../../src/cosign/referrers';
import { olaregPath, startOlareg } from '../../src/stack/olareg';
import { KEYS, PASSWORD, produceWithCosign, runCosign, shapeOf, type Produced } from '../vectors/cosign-bundle/produce';
import { startTestEnv, type TestEnv } from '../support/env';
import { FIXTURE_IMAGE_DIR, pushImageTo } from '../support/registry-fixture';
import { throwawaySigner } from '../support/throwaway-signer';

const VECTORS = path.join(__dirname, '..', 'vectors', 'cosign-bundle');
const PUB = path.join(KEYS, 'cosign.pub');
const cosign = locateTool('cosign');
const POLICY = { sourceRepo: 'https://github.com/acme/hello', builderIds: ['https://countersign.dev/builders/local@v1'], buildCommand: 'countersign build examples/hello', requireCommit: true };
const COMMIT = '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e';

function committed(): Produced {
  const v = JSON.parse(fs.readFileSync(path.join(VECTORS, 'vector.json'), 'utf8'));
  const read = (n: string) => fs.readFileSync(path.join(VECTORS, n));
  return {
    repository: v.repository,
    imageDigest: v.imageDigest,
    imageManifest: read('image-manifest.json'),
    fallbackIndex: read('fallback-index.json'),
    referrers: v.referrers.map((r: any) => ({ predicateType: r.predicateType, manifest: read(r.manifest), bundle: read(r.bundle) })),
    blobBundle: read('blob.bundle.json'),
  };
}

interface RegistryUnderTest {
  address: string;
  stop(): Promise<void>;
}

const REGISTRIES: Array<{ name: string; referrersApi: boolean; skip: string | false; start: (work: string) => Promise<RegistryUnderTest> }> = [
  { name: 'distribution 2.8, no Referrers API', referrersApi: false, skip: false, start: (work) => startRegistry({ rootDir: path.join(work, 'registry') }) },
  { name: 'olareg, with the Referrers API', referrersApi: true, skip: olaregPath() ? false : 'olareg not installed (bash scripts/toolchain.sh olareg)', start: () => startOlareg() },
];

for (const kind of REGISTRIES) {
  describe(`real cosign v3, default bundle format, on ${kind.name}`, { skip: cosign ? kind.skip : 'cosign not installed' }, () => {
    let work: string;
    let registry: RegistryUnderTest;
    let store: RegistryStore;
    before(async () => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-interop-'));
      registry = await kind.start(work);
      store = new RegistryStore(registry.address);
    });
    after(async () => {
      await registry?.stop();
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    test('cosign sign + attest + sign-blob: same shapes as the committed vectors, and our platform verify passes', async () => {
      const fresh = await produceWithCosign(cosign!, registry.address, work, 'apps/hello');
      const expected = shapeOf(committed()) as { fallbackIndex: unknown };
      assert.deepEqual(shapeOf(fresh), kind.referrersApi ? { ...expected, fallbackIndex: undefined } : expected);
      assert.equal((await store.getReferrers('apps/hello', fresh.imageDigest))?.length, kind.referrersApi ? 3 : undefined, 'what the Referrers API lists');
      const report = await verifyForPlatform({ storeFor: () => store }, { repository: `${registry.address}/apps/hello`, digest: fresh.imageDigest }, fs.readFileSync(PUB, 'utf8'), POLICY, COMMIT);
      assert.deepEqual(report.checks.filter((c) => !c.ok), []);
      assert.equal(report.checks.length, 7);

      // A countersignature by another key is one more referrer; cosign's stays and both verify.
      const other = throwawaySigner('other');
      assert.deepEqual(await signImageAs('bundle', store, 'apps/hello', fresh.imageDigest, other), { added: true, format: 'bundle' });
      assert.equal((await listReferrers(store, 'apps/hello', fresh.imageDigest)).length, 4);
      const otherPub = path.join(work, 'other.pub');
      fs.writeFileSync(otherPub, other.publicKey);
      for (const key of [PUB, otherPub]) {
        const r = await runCosign(cosign!, ['verify', '--key', key, '--insecure-ignore-tlog=true', '--allow-http-registry', `${registry.address}/apps/hello@${fresh.imageDigest}`], work);
        assert.equal(r.code, 0, `cosign verify --key ${path.basename(key)}: ${r.stderr}`);
      }
    });

    test('stock cosign verifies our bundle-format signature, both attestations and our blob bundle', async () => {
      const signer = await FileSigner.load(path.join(KEYS, 'cosign.key'), PASSWORD);
      const image = await buildImageFromDirectory(FIXTURE_IMAGE_DIR);
      const repo = await pushImageTo(store, 'apps/ours', image);
      const ref = `${registry.address}/${repo}@${image.digest}`;
      const predicate = (n: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'vectors', 'cosign-image', n), 'utf8'));
      assert.deepEqual(await signImageAs('bundle', store, repo, image.digest, signer), { added: true, format: 'bundle' });
      await attestImageAs('bundle', store, repo, image.digest, createStatement(`${registry.address}/${repo}`, image.digest, 'https://slsa.dev/provenance/v1', predicate('slsa-predicate.json')), signer);
      await attestImageAs('bundle', store, repo, image.digest, createStatement(`${registry.address}/${repo}`, image.digest, 'https://spdx.dev/Document', predicate('spdx-predicate.json')), signer);
      const flags = ['--key', PUB, '--insecure-ignore-tlog=true', '--allow-http-registry'];
      for (const args of [['verify', ...flags, ref], ['verify-attestation', ...flags, '--type', 'slsaprovenance1', ref], ['verify-attestation', ...flags, '--type', 'spdxjson', ref]]) {
        const r = await runCosign(cosign!, args, work);
        assert.equal(r.code, 0, `cosign ${args[0]}: ${r.stderr}`);
      }
      const tags = await store.listTags(repo);
      assert.equal(tags.some((t) => t.endsWith('.sig')), false, 'bundle format writes no .sig tag');
      assert.equal(tags.includes(referrersFallbackTag(image.digest)), !kind.referrersApi, 'a fallback index tag only where the registry has no Referrers API');

      const blobFile = path.join(KEYS, 'blob.txt');
      const bundleFile = path.join(work, 'ours.bundle.json');
      fs.writeFileSync(bundleFile, JSON.stringify(await signBlob(fs.readFileSync(blobFile), signer)));
      const blob = await runCosign(cosign!, ['verify-blob', '--key', PUB, '--bundle', bundleFile, '--insecure-ignore-tlog=true', blobFile], work);
      assert.equal(blob.code, 0, blob.stderr);
      const wrong = await runCosign(cosign!, ['verify-blob', '--key', PUB, '--bundle', bundleFile, '--insecure-ignore-tlog=true', bundleFile], work);
      assert.notEqual(wrong.code, 0, 'cosign refuses the bundle for another file');
    });
  });
}

describe('a promotion that starts from an image stock cosign v3 signed and attested', { skip: cosign ? false : 'cosign not installed' }, () => {
  let env: TestEnv;
  let stopWorker: () => Promise<void>;
  before(async () => {
    env = await startTestEnv();
    stopWorker = await env.startWorker();
  });
  after(async () => {
    await stopWorker?.();
    await env?.close();
  });

  test('platform verifies the bundles, countersigns, and stock cosign verifies both keys', async () => {
    const work = path.join(env.dir, 'cosign-home');
    fs.mkdirSync(work);
    // The developer's cosign key is the one this target pins.
    const target = env.targetWith({ keys: { developer: { key: undefined, publicKey: PUB } } });
    const produced = await produceWithCosign(cosign!, env.stack.registry.address, work, 'apps/hello');
    const reference = `${env.stack.registry.address}/apps/hello@${produced.imageDigest}`;
    const started = await env.promote({ target, source: { image: reference }, commit: COMMIT });
    const waiting = await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(waiting.state, 'AWAITING_APPROVAL', waiting.error);
    await env.decideAs(started.promotionId, 'alice', 'approve');
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    assert.match(done.timeline.find((t) => t.step === 'prod-sign')?.detail ?? '', /^platform key/);
    const flags = ['--insecure-ignore-tlog=true', '--allow-http-registry', reference];
    for (const key of [path.join(env.keysDir, 'platform.pub'), PUB]) {
      const r = await runCosign(cosign!, ['verify', '--key', key, ...flags], work);
      assert.equal(r.code, 0, `cosign verify --key ${path.basename(key)}: ${r.stderr}`);
    }
  });
});
