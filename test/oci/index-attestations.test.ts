/**
 * Multi-platform images: what an index holds is read within limits, BuildKit's attestation
 * manifests are told apart from platforms and reported, and nothing in them counts as a signature
 * or a signed attestation: platform verify of an index with only BuildKit's provenance fails.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { listReferrers, pushReferrer, referrersFallbackTag } from '../../src/cosign/referrers';
import { signImageAs, collectImageEvidence } from '../../src/cosign/verify-image';
import { digestOf } from '../../src/oci/digest';
import { DEFAULT_INDEX_MAX_ATTESTATIONS_READ, describeIndexAttestations, readIndexContents } from '../../src/oci/index-attestations';
import { MEDIA_TYPE } from '../../src/oci/types';
import { verifyForPlatform } from '../../src/promotion/steps';
import { buildFacts } from '../support/env';
import { MemoryStore } from '../support/memory-store';
import { pushMultiPlatformImage } from '../support/multi-platform';
import { throwawaySigner } from '../support/throwaway-signer';

const HELLO = path.join(__dirname, '..', '..', 'examples', 'hello');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'index-attestations-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const REPO = 'apps/multi';
const PROVENANCE = { buildType: 'https://mobyproject.org/buildkit@v1', builder: { id: '' }, invocation: { configSource: { entryPoint: 'Dockerfile' } } };
let n = 0;
const fresh = async (options: Parameters<typeof pushMultiPlatformImage>[4] = {}) => {
  const store = new MemoryStore();
  const pushed = await pushMultiPlatformImage(store, REPO, HELLO, path.join(work, String(n++)), options);
  return { store, pushed };
};

test('an OCI index: platforms counted apart from BuildKit attestation manifests, each read for its predicate types', async () => {
  const { store, pushed } = await fresh({ buildkitProvenance: PROVENANCE });
  const contents = await readIndexContents(store, REPO, pushed.digest);
  assert.equal(contents.isIndex, true);
  assert.equal(contents.platforms, 2);
  assert.deepEqual(
    contents.attestations,
    pushed.attestations.map((digest, i) => ({ digest, refersTo: pushed.platforms[i], predicateTypes: ['https://slsa.dev/provenance/v0.2'] })),
  );
  assert.match(describeIndexAttestations(contents)[0], /unsigned, never counted as evidence/);
  assert.deepEqual(await readIndexContents(store, REPO, pushed.platforms[0]), { isIndex: false, platforms: 0, attestations: [] }, 'a platform image is no index');
});

test('a Docker manifest list is an index too', async () => {
  const { store, pushed } = await fresh({ docker: true });
  assert.equal(pushed.mediaType, MEDIA_TYPE.dockerManifestList);
  assert.deepEqual(await readIndexContents(store, REPO, pushed.digest), { isIndex: true, platforms: 2, attestations: [] });
});

test(`past ${DEFAULT_INDEX_MAX_ATTESTATIONS_READ} attestation manifests the rest are listed, not fetched`, async () => {
  const { store, pushed } = await fresh({ buildkitProvenance: PROVENANCE });
  const index = JSON.parse((await store.getManifest(REPO, pushed.digest))!.data.toString('utf8'));
  const attestation = index.manifests.find((d: { annotations?: object }) => d.annotations);
  index.manifests.push(...Array.from({ length: DEFAULT_INDEX_MAX_ATTESTATIONS_READ }, () => attestation));
  const data = Buffer.from(JSON.stringify(index));
  const digest = await store.putManifest(REPO, digestOf(data), data, MEDIA_TYPE.imageIndex);
  const contents = await readIndexContents(store, REPO, digest);
  assert.equal(contents.attestations.length, DEFAULT_INDEX_MAX_ATTESTATIONS_READ + 2);
  assert.equal(contents.attestations.filter((a) => a.predicateTypes === undefined).length, 2);
  assert.match(describeIndexAttestations(contents).at(-1)!, new RegExp(`past the ${DEFAULT_INDEX_MAX_ATTESTATIONS_READ} read`));
});

test("BuildKit's unsigned provenance in the index never passes platform verify; signing the index digest counts as cosign's does", async () => {
  const { store, pushed } = await fresh({ buildkitProvenance: { ...PROVENANCE, ...buildFacts() } });
  const dev = throwawaySigner('dev');
  await signImageAs('legacy', store, REPO, pushed.digest, dev);
  const report = await verifyForPlatform({ storeFor: () => store }, { repository: `registry.test/${REPO}`, digest: pushed.digest }, dev.publicKey, { sourceRepo: buildFacts().sourceRepo, builderIds: [buildFacts().builderId], requireCommit: false }, undefined);
  assert.equal(report.ok, false);
  assert.deepEqual(
    report.checks.filter((c) => !c.ok).map((c) => [c.name, c.code]),
    [
      ['provenanceAttestation', 'NOT_FOUND'],
      ['sbomAttestation', 'NOT_FOUND'],
    ],
  );
  assert.equal(report.checks.find((c) => c.name === 'developerSignature')?.ok, true, "the index's own signature");
  assert.equal(report.notices?.filter((n) => /BuildKit attestation manifest .* unsigned, never counted/.test(n)).length, 2);
  // A platform's signature is not the index's: cosign verifies the digest it is given, and so do we.
  assert.equal((await collectImageEvidence(store, REPO, pushed.platforms[0], dev.publicKey)).signatures.legacy, 0);
});

test('cosign copy leaves the image under its own sha256-<hex> tag: no referrers, and a bundle written there replaces the tag', async () => {
  const single = new MemoryStore();
  const { store, pushed } = await fresh();
  for (const [s, digest] of [[single, pushed.platforms[0]], [store, pushed.digest]] as const) {
    if (s === single) {
      const m = (await store.getManifest(REPO, digest))!;
      for (const d of [JSON.parse(m.data.toString('utf8')).config, ...JSON.parse(m.data.toString('utf8')).layers]) await s.putBlob(REPO, { descriptor: d, data: await store.getBlob(REPO, d.digest) });
      await s.putManifest(REPO, digest, m.data, m.mediaType);
    }
    const m = (await s.getManifest(REPO, digest))!;
    await s.tagRaw(REPO, referrersFallbackTag(digest), m.data, m.mediaType);
    assert.deepEqual(await listReferrers(s, REPO, digest), [], `${m.mediaType}: the tag is the image, not a referrers index`);
    const signer = throwawaySigner('platform');
    assert.deepEqual(await signImageAs('legacy', s, REPO, digest, signer), { added: true, format: 'legacy' }, 'legacy stays legacy: the platforms are not bundles');
    await signImageAs('bundle', s, REPO, digest, signer);
    assert.equal((await listReferrers(s, REPO, digest)).length, 1);
    assert.deepEqual((await collectImageEvidence(s, REPO, digest, signer.publicKey)).signatures, { legacy: 1, bundle: 1 });
  }
  // Another image under the tag is still refused: it is neither this image nor a referrers index.
  const other = new MemoryStore();
  const m = (await store.getManifest(REPO, pushed.platforms[1]))!;
  await other.tagRaw(REPO, referrersFallbackTag(pushed.platforms[0]), m.data, m.mediaType);
  await assert.rejects(listReferrers(other, REPO, pushed.platforms[0]), /SIGNATURE_INVALID/);
  await assert.rejects(pushReferrer(other, REPO, pushed.platforms[0], Buffer.from('{}'), 'x', {}), /SIGNATURE_INVALID/);
});
