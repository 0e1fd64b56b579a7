/**
 * cosign's keyless `.sig` layers: the annotations cosign writes (certificate PEM, Rekor bundle
 * JSON) rebuilt from a real public-good v0.1 bundle, judged by the same verifier as bundles.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { SIGNATURE_ANNOTATION } from '../../src/cosign/image-signatures';
import { EvidenceError } from '../../src/cosign/problems';
import { verifySigstoreBundle } from '../../src/sigstore/keyless';
import { CERTIFICATE_ANNOTATION, REKOR_BUNDLE_ANNOTATION, isKeylessLayer, legacyLayerAsBundle } from '../../src/sigstore/legacy-signature';
import { loadTrustedRootFile } from '../../src/sigstore/trusted-root';

const CONF = path.join(__dirname, '..', 'vectors', 'sigstore-conformance');
const BEACON = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const GITHUB = 'https://token.actions.githubusercontent.com';
const root = loadTrustedRootFile(path.join(CONF, 'public-good-trusted-root.json'));
const payload = fs.readFileSync(path.join(CONF, 'bundle-verify', 'a.txt'));

/** The annotations `cosign sign` (keyless) writes, from the same signature, certificate and log entry. */
function cosignAnnotations(): Record<string, string> {
  const b = JSON.parse(fs.readFileSync(path.join(CONF, 'bundle-verify', 'happy-path-v0.1', 'bundle.sigstore.json'), 'utf8'));
  const der = b.verificationMaterial.x509CertificateChain.certificates[0].rawBytes as string;
  const e = b.verificationMaterial.tlogEntries[0];
  const pem = `-----BEGIN CERTIFICATE-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  const rekor = { SignedEntryTimestamp: e.inclusionPromise.signedEntryTimestamp, Payload: { body: e.canonicalizedBody, integratedTime: Number(e.integratedTime), logIndex: Number(e.logIndex), logID: Buffer.from(e.logId.keyId, 'base64').toString('hex') } };
  return { [SIGNATURE_ANNOTATION]: b.messageSignature.signature, [CERTIFICATE_ANNOTATION]: pem, [REKOR_BUNDLE_ANNOTATION]: JSON.stringify(rekor) };
}

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'OK';
  } catch (err) {
    assert.ok(err instanceof EvidenceError, String(err));
    return err.code;
  }
};

describe('keyless .sig layers (certificate and Rekor bundle annotations)', () => {
  const trust = { root, identities: [{ subject: BEACON, issuer: GITHUB }] };

  test('verify by identity through their signed entry timestamp', () => {
    const ann = cosignAnnotations();
    assert.equal(isKeylessLayer(ann), true);
    assert.equal(isKeylessLayer({ [SIGNATURE_ANNOTATION]: 'MEUC' }), false);
    const signer = verifySigstoreBundle(legacyLayerAsBundle(payload, ann), payload, trust);
    assert.equal(signer.facts?.subject, BEACON);
    assert.equal(signer.tlogEntries, 1);
  });

  test('each change is refused with its code', () => {
    const ann = cosignAnnotations();
    const rekor = JSON.parse(ann[REKOR_BUNDLE_ANNOTATION]);
    const badSet = { ...ann, [REKOR_BUNDLE_ANNOTATION]: JSON.stringify({ ...rekor, SignedEntryTimestamp: Buffer.from(Buffer.from(rekor.SignedEntryTimestamp, 'base64').map((b, i) => (i === 20 ? b ^ 1 : b))).toString('base64') }) };
    assert.equal(codeOf(() => verifySigstoreBundle(legacyLayerAsBundle(payload, badSet), payload, trust)), 'TLOG_PROOF_INVALID');
    const otherPayload = Buffer.from('another payload');
    assert.equal(codeOf(() => verifySigstoreBundle(legacyLayerAsBundle(otherPayload, ann), otherPayload, trust)), 'TLOG_ENTRY_MISMATCH');
    assert.equal(codeOf(() => verifySigstoreBundle(legacyLayerAsBundle(payload, ann), payload, { root, identities: [{ subject: 'someone@example.com', issuer: GITHUB }] })), 'IDENTITY_MISMATCH');
    const noRekor = { ...ann };
    delete noRekor[REKOR_BUNDLE_ANNOTATION];
    assert.equal(codeOf(() => verifySigstoreBundle(legacyLayerAsBundle(payload, noRekor), payload, trust)), 'TLOG_MISSING');
    assert.equal(codeOf(() => legacyLayerAsBundle(payload, { ...ann, [CERTIFICATE_ANNOTATION]: 'not a pem' })), 'MALFORMED');
    assert.equal(codeOf(() => legacyLayerAsBundle(payload, { ...ann, [REKOR_BUNDLE_ANNOTATION]: '{"Payload":{}}' })), 'MALFORMED');
  });
});
