/**
 * The evidence pack's registry read (src/evidence/image-evidence.ts) against a REAL registry
 * (Debian's docker-registry, distribution 2.8, no Referrers API: bundles live under the fallback
 * tag). The read skips the `.sig` manifest, since the pack holds no signatures; the attack is
 * someone who can push to the registry attaching a new attestation in either format while the
 * gate is open: a developer-signed one must change what the pack is built from, whatever format
 * the target publishes, and one signed by any other key must not.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { attachAttestation } from '../../src/cosign/attestations';
import { attestImageBundle, signImageBundle } from '../../src/cosign/bundle-images';
import { signImage } from '../../src/cosign/image-signatures';
import { readSignedImageEvidence } from '../../src/evidence/image-evidence';
import { FileSigner, writeKeyPair } from '../../src/keys/file-signer';
import { buildImageFromDirectory, type BuiltImage } from '../../src/oci/build';
import { RegistryStore } from '../../src/oci/registry';
import { createProvenance } from '../../src/provenance/slsa';
import { startRegistry, type RunningRegistry } from '../../src/stack/registry';
import { requireTool } from '../../src/stack/tools';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'hello-image');
const PASSWORD = 'countersign-test';

let tmp: string;
let registry: RunningRegistry;
let store: RegistryStore;
let image: BuiltImage;
let devKey: FileSigner;
let otherKey: FileSigner;

before(async () => {
  requireTool('docker-registry');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-evidence-'));
  registry = await startRegistry({ rootDir: path.join(tmp, 'registry') });
  store = new RegistryStore(registry.address);
  image = await buildImageFromDirectory(FIXTURE);
  const keysDir = path.join(tmp, 'keys');
  await writeKeyPair(keysDir, 'dev', PASSWORD);
  await writeKeyPair(keysDir, 'other', PASSWORD);
  devKey = await FileSigner.load(path.join(keysDir, 'dev.key'), PASSWORD);
  otherKey = await FileSigner.load(path.join(keysDir, 'other.key'), PASSWORD);
});

after(async () => {
  await registry?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function provenance(repo: string, invocationId: string) {
  return createProvenance({
    subjectName: `${registry.address}/${repo}`,
    digest: image.digest,
    sourceRepo: 'https://github.com/acme/hello',
    commit: '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e',
    buildCommand: 'countersign build examples/hello',
    builderId: 'https://countersign.dev/builders/local@v1',
    invocationId,
    startedOn: '2026-01-01T00:00:00Z',
    finishedOn: '2026-01-01T00:00:05Z',
  });
}

describe('the evidence read: every developer-signed attestation, in both formats, and nothing else', () => {
  test('a new attestation in either format changes the read; one by another key, or a new signature, does not', async () => {
    const repo = 'test/evidence-1';
    for (const blob of [...image.layers, image.config]) await store.putBlob(repo, blob);
    await store.putManifest(repo, image.digest, image.manifest.data, image.manifest.descriptor.mediaType);
    const dev = await devKey.publicKeyPem();
    const read = () => readSignedImageEvidence(store, repo, image.digest, dev);

    await signImage(store, repo, image.digest, devKey);
    await attachAttestation(store, repo, image.digest, provenance(repo, 'first'), devKey);
    const first = await read();
    assert.equal(first.statementDigests.length, 1);
    assert.equal(first.provenance.length, 1);

    // Another statement as a sigstore bundle (stock cosign v3's default), though the first is legacy.
    await attestImageBundle(store, repo, image.digest, provenance(repo, 'second, as a bundle'), devKey);
    const second = await read();
    assert.equal(second.statementDigests.length, 2, 'the bundle attestation is read');
    assert.ok(first.statementDigests.every((d) => second.statementDigests.includes(d)));

    // And one more in the legacy `.att` manifest.
    await attachAttestation(store, repo, image.digest, provenance(repo, 'third'), devKey);
    const third = await read();
    assert.equal(third.statementDigests.length, 3, 'the legacy attestation is read');
    assert.equal(third.provenance.length, 3);

    // Whoever can push but lacks the developer key changes nothing; nor does a signature, in either format.
    await attachAttestation(store, repo, image.digest, provenance(repo, 'planted'), otherKey);
    await attestImageBundle(store, repo, image.digest, provenance(repo, 'planted bundle'), otherKey);
    await signImage(store, repo, image.digest, otherKey);
    await signImageBundle(store, repo, image.digest, devKey);
    assert.deepEqual(await read(), third);
  });
});
