/**
 * countersign against what the real cosign v3.1.2 wrote in its DEFAULT format (sigstore bundles as
 * OCI referrers, fallback index tag): test/vectors/cosign-bundle, made by its generate.ts. No
 * cosign and no registry here: the committed bytes go into an in-memory Store as the registry held them.
 */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { verifyBlob, signBlob } from '../../src/cosign/blob';
import { keyHint, parseBundle } from '../../src/cosign/bundle';
import { COSIGN_SIGN_PREDICATE_TYPE, signImageBundle, attestImageBundle, verifyImageBundles, signatureStatement } from '../../src/cosign/bundle-images';
import { referrersFallbackTag } from '../../src/cosign/referrers';
import { collectImageEvidence, signImageAs } from '../../src/cosign/verify-image';
import { hasCode } from '../../src/errors';
import { FileSigner } from '../../src/keys/file-signer';
import type { Signer } from '../../src/keys/signer';
import { MEDIA_TYPE, type ImageManifest } from '../../src/oci/types';
import type { TargetPolicy } from '../../src/policy/policy';
import { verifyForPlatform } from '../../src/promotion/steps';
import { createStatement } from '../../src/provenance/statement';
import { MemoryStore, sha256Digest } from '../support/memory-store';
import { throwawaySigner } from '../support/throwaway-signer';

const DIR = path.join(__dirname, '..', 'vectors', 'cosign-bundle');
const KEYS = path.join(__dirname, '..', 'vectors', 'cosign-keys');
const file = (name: string): Buffer => readFileSync(path.join(DIR, name));
const json = <T = any>(name: string): T => JSON.parse(file(name).toString('utf8')) as T;
const vector = json('vector.json');
const PUB = readFileSync(path.join(KEYS, 'cosign.pub'), 'utf8');
const BLOB = readFileSync(path.join(KEYS, 'blob.txt'));
const REPO = vector.repository as string;
const DIGEST = vector.imageDigest as string;
const OTHER = `sha256:${'ab'.repeat(32)}`;
const SLSA = 'https://slsa.dev/provenance/v1';
const SPDX = 'https://spdx.dev/Document';
const POLICY: TargetPolicy = {
  sourceRepo: 'https://github.com/acme/hello',
  builderIds: ['https://countersign.dev/builders/local@v1'],
  buildCommand: 'countersign build examples/hello',
  requireCommit: true,
};
const COMMIT = '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e';

function otherKeyPem(): string {
  return crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
}

/** The image, cosign's fallback index and its three referrers with their bundles. */
async function loadVectors(): Promise<MemoryStore> {
  const store = new MemoryStore(vector.registry);
  await store.tagRaw(REPO, DIGEST, file('image-manifest.json'), MEDIA_TYPE.imageManifest);
  await store.putRaw(REPO, '{}');
  for (const r of vector.referrers) {
    await store.putRaw(REPO, file(r.bundle));
    await store.tagRaw(REPO, sha256Digest(file(r.manifest)), file(r.manifest), MEDIA_TYPE.imageManifest);
  }
  await store.tagRaw(REPO, referrersFallbackTag(DIGEST), file('fallback-index.json'), MEDIA_TYPE.imageIndex);
  return store;
}

/** Replaces the bundle of the referrer with `predicateType` by `edit(bundle)`; returns the new referrer digest. */
async function editBundle(store: MemoryStore, predicateType: string, edit: (b: any) => void, editManifest: (m: ImageManifest) => void = () => {}): Promise<void> {
  const r = vector.referrers.find((x: any) => x.predicateType === predicateType);
  const bundle = json(r.bundle);
  edit(bundle);
  const data = Buffer.from(JSON.stringify(bundle));
  await store.putRaw(REPO, data);
  const manifest = json<ImageManifest>(r.manifest);
  manifest.layers[0] = { ...manifest.layers[0], digest: sha256Digest(data), size: data.length };
  editManifest(manifest);
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = await store.tagRaw(REPO, sha256Digest(bytes), bytes, MEDIA_TYPE.imageManifest);
  const index = json('fallback-index.json');
  index.manifests = index.manifests.map((d: any) => (d.digest === sha256Digest(file(r.manifest)) ? { ...d, digest, size: bytes.length } : d));
  await store.tagRaw(REPO, referrersFallbackTag(DIGEST), JSON.stringify(index), MEDIA_TYPE.imageIndex);
}

const codes = (problems: Array<{ code: string }>) => problems.map((p) => p.code);
const deps = (store: MemoryStore) => ({ storeFor: () => store });
const target = (digest = DIGEST) => ({ repository: `${vector.registry}/${REPO}`, digest });

describe("cosign v3's default bundle format, read by countersign", () => {
  test('the vectors are cosign v3.1.2 output: fallback index tag, one bundle layer, subject = image', () => {
    assert.equal(vector.cosignVersion, 'v3.1.2');
    const index = json('fallback-index.json');
    assert.equal(index.mediaType, MEDIA_TYPE.imageIndex);
    assert.equal(index.manifests.length, 3);
    for (const r of vector.referrers) {
      const m = json<ImageManifest>(r.manifest);
      assert.equal(m.artifactType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
      assert.equal(m.subject?.digest, DIGEST);
      assert.equal(m.annotations?.['dev.sigstore.bundle.predicateType'], r.predicateType);
      const b = json(r.bundle);
      assert.deepEqual(Object.keys(b), ['mediaType', 'verificationMaterial', 'dsseEnvelope']);
      assert.equal(b.verificationMaterial.publicKey.hint, keyHint(PUB), 'hint = base64 sha256 of the SPKI');
      assert.deepEqual(Object.keys(b.dsseEnvelope.signatures[0]), ['sig'], 'cosign writes no keyid');
    }
  });

  test('signature and both attestations verify; nothing is reported', async () => {
    const evidence = await verifyImageBundles(await loadVectors(), REPO, DIGEST, PUB);
    assert.equal(evidence.signatures, 1);
    assert.deepEqual(evidence.attestations.map((a) => a.predicateType).sort(), [SLSA, SPDX]);
    assert.deepEqual(evidence.problems, []);
  });

  test('verifyForPlatform passes every check on the cosign-signed image', async () => {
    const report = await verifyForPlatform(deps(await loadVectors()), target(), PUB, POLICY, COMMIT);
    assert.deepEqual(report.checks.map((c) => [c.name, c.ok]), [
      ['developerSignature', true],
      ['provenanceAttestation', true],
      ['sbomAttestation', true],
      ['policy.sourceRepo', true],
      ['policy.builderId', true],
      ['policy.buildCommand', true],
      ['policy.commit', true],
    ]);
  });

  test('another key: every bundle WRONG_KEY, every check fails', async () => {
    const store = await loadVectors();
    assert.deepEqual(codes((await verifyImageBundles(store, REPO, DIGEST, otherKeyPem())).problems), ['WRONG_KEY', 'WRONG_KEY', 'WRONG_KEY']);
    const report = await verifyForPlatform(deps(store), target(), otherKeyPem(), POLICY, COMMIT);
    assert.deepEqual(report.checks.map((c) => [c.name, c.code]), [
      ['developerSignature', 'WRONG_KEY'],
      ['provenanceAttestation', 'WRONG_KEY'],
      ['sbomAttestation', 'WRONG_KEY'],
    ]);
  });

  test("cosign's index copied to another digest's fallback tag: WRONG_DIGEST (the referrer names its subject)", async () => {
    const store = await loadVectors();
    await store.tagRaw(REPO, referrersFallbackTag(OTHER), file('fallback-index.json'), MEDIA_TYPE.imageIndex);
    const evidence = await collectImageEvidence(store, REPO, OTHER, PUB);
    assert.deepEqual(evidence.signatures, { legacy: 0, bundle: 0 });
    assert.ok(codes(evidence.problems).includes('WRONG_DIGEST'));
    const report = await verifyForPlatform(deps(store), target(OTHER), PUB, POLICY, COMMIT);
    assert.equal(report.checks[0].code, 'WRONG_DIGEST');
  });

  test('refusals inside a bundle, each with its code', async () => {
    const sig = (b: any) => b.dsseEnvelope.signatures[0];
    const cases: Array<[string, string, (b: any) => void, string, ((m: ImageManifest) => void)?]> = [
      ['payload edited after signing', COSIGN_SIGN_PREDICATE_TYPE, (b) => (b.dsseEnvelope.payload = Buffer.from(JSON.stringify(signatureStatement(DIGEST))).toString('base64')), 'WRONG_KEY'],
      ['truncated signature', COSIGN_SIGN_PREDICATE_TYPE, (b) => (sig(b).sig = sig(b).sig.slice(0, 40)), 'BAD_SIGNATURE_ENCODING'],
      ['non-base64 signature', COSIGN_SIGN_PREDICATE_TYPE, (b) => (sig(b).sig = 'not*base64!'), 'BAD_SIGNATURE_ENCODING'],
      ['not signed', SLSA, (b) => (b.dsseEnvelope.signatures = []), 'UNSIGNED'],
      ['unknown top-level field', SLSA, (b) => (b.extra = true), 'MALFORMED'],
      ['unknown nested field', SLSA, (b) => (b.verificationMaterial.publicKey.comment = 'x'), 'MALFORMED'],
      ['keyless certificate', SLSA, (b) => (b.verificationMaterial = { certificate: { rawBytes: 'AAAA' } }), 'UNSUPPORTED'],
      ['predicate type annotation edited', SPDX, () => {}, 'WRONG_TYPE', (m) => (m.annotations!['dev.sigstore.bundle.predicateType'] = SLSA)],
    ];
    for (const [what, type, edit, code, manifestEdit] of cases) {
      const store = await loadVectors();
      await editBundle(store, type, edit, manifestEdit);
      const evidence = await verifyImageBundles(store, REPO, DIGEST, PUB);
      assert.deepEqual(codes(evidence.problems), [code], what);
    }
  });

  test('an attestation signed by the right key whose subject is another digest is WRONG_DIGEST', async () => {
    const store = await loadVectors();
    const signer = await FileSigner.load(path.join(KEYS, 'cosign.key'), 'countersign-test');
    const predicate = JSON.parse(Buffer.from(json('slsa-bundle.json').dsseEnvelope.payload, 'base64').toString('utf8')).predicate;
    await attestImageBundle(store, REPO, DIGEST, createStatement('x', OTHER, SLSA, predicate), signer);
    const evidence = await verifyImageBundles(store, REPO, DIGEST, PUB);
    assert.equal(evidence.attestations.length, 2, "cosign's two still count");
    assert.deepEqual(codes(evidence.problems), ['WRONG_DIGEST']);
  });
});

describe('countersign writing bundles next to cosign', () => {
  let signer: Signer;
  test('signImageBundle with the same key adds nothing; another key appends to the fallback index', async () => {
    signer = await FileSigner.load(path.join(KEYS, 'cosign.key'), 'countersign-test');
    const store = await loadVectors();
    assert.deepEqual(await signImageBundle(store, REPO, DIGEST, signer), { added: false });
    const other = throwawaySigner('other');
    assert.deepEqual(await signImageBundle(store, REPO, DIGEST, other), { added: true });
    const index = JSON.parse((await store.getManifest(REPO, referrersFallbackTag(DIGEST)))!.data.toString('utf8'));
    assert.equal(index.manifests.length, 4);
    assert.deepEqual(index.manifests.slice(0, 3), json('fallback-index.json').manifests, "cosign's entries kept as they were");
    assert.equal((await verifyImageBundles(store, REPO, DIGEST, await other.publicKeyPem())).signatures, 1);
    assert.equal((await verifyImageBundles(store, REPO, DIGEST, PUB)).signatures, 1);
  });

  test('legacy publishing becomes both once the image has bundles (cosign v3 then ignores .sig)', async () => {
    const store = await loadVectors();
    const platform = throwawaySigner('platform');
    assert.deepEqual(await signImageAs('legacy', store, REPO, DIGEST, platform), { added: true, format: 'both' });
    const evidence = await collectImageEvidence(store, REPO, DIGEST, await platform.publicKeyPem());
    assert.deepEqual(evidence.signatures, { legacy: 1, bundle: 1 });
    // Without bundles, legacy stays legacy.
    const plain = new MemoryStore(vector.registry);
    await plain.tagRaw(REPO, DIGEST, file('image-manifest.json'), MEDIA_TYPE.imageManifest);
    assert.deepEqual(await signImageAs('legacy', plain, REPO, DIGEST, platform), { added: true, format: 'legacy' });
    assert.deepEqual(await plain.listTags(REPO), [`${referrersFallbackTag(DIGEST)}.sig`]);
  });

  test('our DSSE bundle has the shape of cosign\'s (keys, hint, no keyid) and parses strictly', async () => {
    const store = new MemoryStore(vector.registry);
    await store.tagRaw(REPO, DIGEST, file('image-manifest.json'), MEDIA_TYPE.imageManifest);
    await signImageBundle(store, REPO, DIGEST, signer);
    const index = JSON.parse((await store.getManifest(REPO, referrersFallbackTag(DIGEST)))!.data.toString('utf8'));
    const manifest = JSON.parse((await store.getManifest(REPO, index.manifests[0].digest))!.data.toString('utf8')) as ImageManifest;
    const cosignManifest = json<ImageManifest>('sign-manifest.json');
    const shape = (m: ImageManifest) => ({ ...m, layers: m.layers.map((l) => l.mediaType), annotations: Object.keys(m.annotations ?? {}) });
    assert.deepEqual(shape(manifest), shape(cosignManifest));
    const ours = JSON.parse((await store.getBlob(REPO, manifest.layers[0].digest)).toString('utf8'));
    const theirs = json('sign-bundle.json');
    assert.deepEqual(Object.keys(ours), Object.keys(theirs));
    assert.deepEqual(ours.verificationMaterial, theirs.verificationMaterial);
    assert.deepEqual(Object.keys(ours.dsseEnvelope.signatures[0]), ['sig']);
    assert.deepEqual(JSON.parse(Buffer.from(ours.dsseEnvelope.payload, 'base64').toString()), JSON.parse(Buffer.from(theirs.dsseEnvelope.payload, 'base64').toString()));
    parseBundle(JSON.stringify(ours));
  });
});

describe('blob bundles', () => {
  test("cosign's sign-blob bundle verifies; another file, another key, an unknown field do not", async () => {
    const bundle = file('blob.bundle.json');
    verifyBlob(BLOB, bundle, PUB);
    const problem = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        assert.ok(hasCode(err, 'SIGNATURE_INVALID'));
        return (err as { details: { problem: string } }).details.problem;
      }
      return 'OK';
    };
    assert.equal(problem(() => verifyBlob(Buffer.concat([BLOB, Buffer.from('x')]), bundle, PUB)), 'WRONG_DIGEST');
    assert.equal(problem(() => verifyBlob(BLOB, bundle, otherKeyPem())), 'WRONG_KEY');
    const extra = { ...JSON.parse(bundle.toString()), note: 'hi' };
    assert.equal(problem(() => verifyBlob(BLOB, JSON.stringify(extra), PUB)), 'MALFORMED');
    assert.equal(problem(() => verifyBlob(BLOB, '{', PUB)), 'MALFORMED');
  });

  test('our sign-blob bundle has the shape of cosign\'s and verifies', async () => {
    const signer = await FileSigner.load(path.join(KEYS, 'cosign.key'), 'countersign-test');
    const ours = await signBlob(BLOB, signer);
    const theirs = json('blob.bundle.json');
    assert.deepEqual(Object.keys(ours), Object.keys(theirs));
    assert.deepEqual(ours.verificationMaterial, theirs.verificationMaterial);
    assert.deepEqual(ours.messageSignature?.messageDigest, theirs.messageSignature.messageDigest);
    verifyBlob(BLOB, JSON.stringify(ours), PUB);
  });
});
