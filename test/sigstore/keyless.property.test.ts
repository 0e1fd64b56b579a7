/**
 * Property tests of the keyless parsers and verifier on real public-good evidence: edits of the
 * bundle, of the trusted root and of cosign's keyless annotations are verified or refused with a
 * stable code, never anything else; an edited bundle verifies only if it still says the same.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { verifyBlobAgainstRoot } from '../../src/cosign/blob';
import { parseBundle } from '../../src/cosign/bundle';
import { legacyLayerAsBundle } from '../../src/sigstore/legacy-signature';
import { parseTrustedRoot } from '../../src/sigstore/trusted-root';
import { fuzzParams, jsonMutant, parsesOrRefuses } from '../support/fuzz';

const GOOD = path.join(__dirname, '..', 'vectors', 'sigstore-public-good');
const TGZ = readFileSync(path.join(GOOD, 'sigstore-1.3.0.tgz'));
const BUNDLE = JSON.parse(readFileSync(path.join(GOOD, 'sigstore-1.3.0.provenance.sigstore.json'), 'utf8'));
const ROOT_JSON = JSON.parse(readFileSync(path.join(GOOD, 'trusted-root-2023-06.json'), 'utf8'));
const root = parseTrustedRoot(JSON.stringify(ROOT_JSON));
const identities = [{ subject: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' }];
const ALLOWED = ['SIGNATURE_INVALID', 'INPUT_TOO_LARGE'];

test('edits of a real keyless bundle: verified only when what was signed and logged is unchanged', () => {
  const same = (data: Buffer) => {
    const b = JSON.parse(data.toString('utf8'));
    const bytes = (v: unknown) => Buffer.from(String(v), 'base64');
    return bytes(b.dsseEnvelope?.payload).equals(bytes(BUNDLE.dsseEnvelope.payload)) && bytes(b.dsseEnvelope?.signatures?.[0]?.sig).equals(bytes(BUNDLE.dsseEnvelope.signatures[0].sig));
  };
  fc.assert(
    fc.property(jsonMutant(BUNDLE), (data) => {
      const signer = parsesOrRefuses(() => verifyBlobAgainstRoot(TGZ, data, { root, identities }), ALLOWED);
      if (signer) assert.ok(same(data), 'an edited bundle verified with other signed content');
    }),
    fuzzParams(400),
  );
});

test('edits of a trusted root: read or refused as TRUSTED_ROOT_INVALID / INPUT_TOO_LARGE', () => {
  fc.assert(
    fc.property(jsonMutant(ROOT_JSON), (data) => {
      parsesOrRefuses(() => parseTrustedRoot(data), ['TRUSTED_ROOT_INVALID', 'INPUT_TOO_LARGE']);
    }),
    fuzzParams(500),
  );
});

test("arbitrary cosign keyless annotations: made into a bundle or refused as evidence", () => {
  const text = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', '{"SignedEntryTimestamp":"AA==","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"' + 'a'.repeat(64) + '"}}'));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), text, text, text, (payload, sig, cert, rekor) => {
      const made = parsesOrRefuses(() => legacyLayerAsBundle(Buffer.from(payload), { 'dev.cosignproject.cosign/signature': sig, 'dev.sigstore.cosign/certificate': cert, 'dev.sigstore.cosign/bundle': rekor }), [], { evidence: true });
      if (made) parsesOrRefuses(() => parseBundle(JSON.stringify(made)), ['INPUT_TOO_LARGE'], { evidence: true });
    }),
    fuzzParams(500),
  );
});
