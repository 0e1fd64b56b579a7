/**
 * The evidence pack's registry read (src/evidence/image-evidence.ts) against a REAL registry
 * (Debian's docker-registry, distribution 2.8, no Referrers API: bundles live under the fallback
 * tag). The read skips the `.sig` manifest, since the pack holds no signatures; the attack is
 * someone who can push to the registry attaching a new attestation in either format while the
 * gate is open: a developer-signed one must change what the pack is built from, whatever format
 * the target publishes, and one signed by any other key must not.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attachAttestation } from '../../src/cosign/attestations';
import { attestImageBundle, signImageBundle } from '../../src/cosign/bundle-images';
import { signImage } from '../../src/cosign/image-signatures';
import { readSignedImageEvidence } from '../../src/evidence/image-evidence';
import { useRegistryFixture } from '../support/registry-fixture';

const fx = useRegistryFixture({ name: 'evidence', keys: ['dev', 'other'] });

describe('the evidence read: every developer-signed attestation, in both formats, and nothing else', () => {
  test('a new attestation in either format changes the read; one by another key, or a new signature, does not', async () => {
    const { store, image } = fx;
    const [devKey, otherKey] = [fx.key('dev').signer, fx.key('other').signer];
    const repo = await fx.pushImage();
    const dev = await devKey.publicKeyPem();
    const read = () => readSignedImageEvidence(store, repo, image.digest, dev);

    await signImage(store, repo, image.digest, devKey);
    await attachAttestation(store, repo, image.digest, fx.provenance(repo, { invocationId: 'first' }), devKey);
    const first = await read();
    assert.equal(first.statementDigests.length, 1);
    assert.equal(first.provenance.length, 1);

    // Another statement as a sigstore bundle (stock cosign v3's default), though the first is legacy.
    await attestImageBundle(store, repo, image.digest, fx.provenance(repo, { invocationId: 'second, as a bundle' }), devKey);
    const second = await read();
    assert.equal(second.statementDigests.length, 2, 'the bundle attestation is read');
    assert.ok(first.statementDigests.every((d) => second.statementDigests.includes(d)));

    // And one more in the legacy `.att` manifest.
    await attachAttestation(store, repo, image.digest, fx.provenance(repo, { invocationId: 'third' }), devKey);
    const third = await read();
    assert.equal(third.statementDigests.length, 3, 'the legacy attestation is read');
    assert.equal(third.provenance.length, 3);

    // Whoever can push but lacks the developer key changes nothing; nor does a signature, in either format.
    await attachAttestation(store, repo, image.digest, fx.provenance(repo, { invocationId: 'planted' }), otherKey);
    await attestImageBundle(store, repo, image.digest, fx.provenance(repo, { invocationId: 'planted bundle' }), otherKey);
    await signImage(store, repo, image.digest, otherKey);
    await signImageBundle(store, repo, image.digest, devKey);
    assert.deepEqual(await read(), third);
  });
});
