/**
 * Property tests of sigstore bundles: what countersign signs (DSSE and blob bundles) parses and
 * verifies back; edits of the bundles real cosign and GitHub wrote are parsed or refused with an
 * evidence problem (EvidenceError) or INPUT_TOO_LARGE, and verifying whatever parses throws
 * nothing else either. An edited bundle verifies only if what its signature covers survived.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { createDsseBundle, createMessageBundle, parseBundle, verifyDsseBundle, verifyMessageBundle } from '../../src/cosign/bundle';
import { EvidenceError } from '../../src/cosign/problems';
import { applyByteEdits, byteEdits, fuzzParams, jsonMutant, parsesOrRefuses } from '../support/fuzz';
import { throwawaySigner } from '../support/throwaway-signer';

const ALLOWED = ['INPUT_TOO_LARGE'];
const EVIDENCE = { evidence: true };
const vectors = path.join(__dirname, '..', 'vectors');
const PUB = readFileSync(path.join(vectors, 'cosign-keys', 'cosign.pub'), 'utf8');
const BLOB = readFileSync(path.join(vectors, 'cosign-keys', 'blob.txt'));
const read = (rel: string) => JSON.parse(readFileSync(path.join(vectors, rel), 'utf8')) as Record<string, any>;
const DSSE = ['cosign-bundle/sign-bundle.json', 'cosign-bundle/slsa-bundle.json', 'cosign-bundle/spdx-bundle.json', 'provenance/github-attest-npm-push.sigstore.json'].map(read);
const MESSAGE = read('cosign-bundle/blob.bundle.json');
const signer = throwawaySigner();

test('round trip: DSSE and blob bundles countersign makes parse and verify back', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.constantFrom('application/vnd.in-toto+json', 'text/plain'), async (bytes, type) => {
      const payload = Buffer.from(bytes);
      const dsse = parseBundle(JSON.stringify(await createDsseBundle(payload, type, signer)));
      assert.deepEqual(verifyDsseBundle(dsse, signer.publicKey), { payloadType: type, payload });
      const message = parseBundle(JSON.stringify(await createMessageBundle(payload, signer)));
      verifyMessageBundle(message, signer.publicKey, payload);
    }),
    fuzzParams(300),
  );
});

test("edits of real DSSE bundles: parsed or refused, verified only if the envelope's type and payload survived", () => {
  fc.assert(
    fc.property(fc.nat().chain((i) => fc.tuple(fc.constant(i % DSSE.length), jsonMutant(DSSE[i % DSSE.length]))), ([which, data]) => {
      const bundle = parsesOrRefuses(() => parseBundle(data), ALLOWED, EVIDENCE);
      if (!bundle) return;
      const verified = parsesOrRefuses(() => verifyDsseBundle(bundle, PUB), ALLOWED, EVIDENCE);
      if (verified) {
        const original = DSSE[which]!.dsseEnvelope;
        assert.equal(verified.payloadType, original.payloadType);
        assert.deepEqual(verified.payload, Buffer.from(original.payload, 'base64'));
      }
    }),
    fuzzParams(3000),
  );
});

test('edits of a real blob bundle: parsed or refused, verified only over the same file', () => {
  fc.assert(
    fc.property(jsonMutant(MESSAGE), fc.boolean(), (data, otherFile) => {
      const bundle = parsesOrRefuses(() => parseBundle(data), ALLOWED, EVIDENCE);
      if (!bundle) return;
      const file = otherFile ? Buffer.concat([BLOB, Buffer.from('x')]) : BLOB;
      const ok = parsesOrRefuses(() => (verifyMessageBundle(bundle, PUB, file), true), ALLOWED, EVIDENCE);
      if (ok) assert.equal(otherFile, false, 'a blob bundle verified over another file');
    }),
    fuzzParams(1500),
  );
});

test('raw byte edits of bundle text: parsed or refused', () => {
  const texts = [...DSSE, MESSAGE].map((b) => Buffer.from(JSON.stringify(b)));
  fc.assert(
    fc.property(fc.nat(), byteEdits, (which, edits) => {
      parsesOrRefuses(() => parseBundle(applyByteEdits(texts[which % texts.length]!, edits)), ALLOWED, EVIDENCE);
    }),
    fuzzParams(1000),
  );
});

test('fixed vectors (test/vectors/fuzz/bundle): each crash the fuzzer found is a MALFORMED refusal now', () => {
  const dir = path.join(vectors, 'fuzz', 'bundle');
  const cases: Record<string, RegExp> = {
    'payload-type-false.json': /dsseEnvelope.payloadType is not a string/, // verify died in preAuthEncoding (TypeError)
    'payload-type-missing.json': /dsseEnvelope.payloadType is missing/, // the same, with undefined
    'payload-number.json': /dsseEnvelope.payload is not a string/,
    'signatures-string.json': /dsseEnvelope.signatures is not a list/, // parse died in checkSignatureEncoding (.map of a string)
    'hint-object.json': /verificationMaterial.publicKey.hint is not a string/,
  };
  for (const [name, fact] of Object.entries(cases)) {
    const text = readFileSync(path.join(dir, name));
    assert.throws(() => parseBundle(text), (e) => e instanceof EvidenceError && e.code === 'MALFORMED' && fact.test(e.message), name);
  }
});

test('found by the round trip: an empty payload is refused when signing, since no verifier would take the bundle', async () => {
  await assert.rejects(createDsseBundle(Buffer.alloc(0), 'text/plain', signer), (e) => e instanceof Error && /BAD_INPUT: a DSSE bundle needs a non-empty payload/.test(e.message));
});
