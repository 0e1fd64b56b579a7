/**
 * Property tests of DSSE envelopes and the in-toto statements inside: sign -> parse -> verify
 * round-trips any payload and type; edits of cosign's real envelopes are parsed or refused with
 * ATTESTATION_INVALID / INPUT_TOO_LARGE, and an edited envelope verifies under cosign's key only
 * when what the signature covers (type and payload) is unchanged.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { IN_TOTO_PAYLOAD_TYPE, envelopePayload, parseEnvelope, signEnvelope, verifyEnvelope } from '../../src/dsse/envelope';
import { parseStatement } from '../../src/provenance/statement';
import { applyByteEdits, byteEdits, fuzzParams, jsonMutant, parsesOrRefuses } from '../support/fuzz';
import { throwawaySigner } from '../support/throwaway-signer';

const ALLOWED = ['ATTESTATION_INVALID', 'INPUT_TOO_LARGE'];
const DIR = path.join(__dirname, '..', 'vectors', 'cosign-image');
const COSIGN_PUB = readFileSync(path.join(DIR, 'cosign.pub'), 'utf8');
const ENVELOPES = ['att-slsa-envelope.json', 'att-spdx-envelope.json'].map((f) => JSON.parse(readFileSync(path.join(DIR, f), 'utf8')) as { payloadType: string; payload: string });
const signer = throwawaySigner();

test('round trip: any payload and type, signed, parse and verify back to the same bytes', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.string({ minLength: 1, maxLength: 80 }), async (bytes, type) => {
      const payload = Buffer.from(bytes);
      const env = parseEnvelope(JSON.stringify(await signEnvelope(payload, type, signer)));
      assert.equal(env.payloadType, type);
      assert.deepEqual(envelopePayload(env), payload);
      assert.equal(verifyEnvelope(env, signer.publicKey), true);
    }),
    fuzzParams(500),
  );
});

test("edits of cosign's envelopes: parsed or refused; verified only if type and payload survived", () => {
  fc.assert(
    fc.property(fc.nat().chain((i) => fc.tuple(fc.constant(i % ENVELOPES.length), jsonMutant(ENVELOPES[i % ENVELOPES.length]))), ([which, data]) => {
      const env = parsesOrRefuses(() => parseEnvelope(data), ALLOWED);
      if (!env) return;
      const original = ENVELOPES[which]!;
      if (verifyEnvelope(env, COSIGN_PUB)) {
        assert.equal(env.payloadType, original.payloadType);
        assert.deepEqual(envelopePayload(env), Buffer.from(original.payload, 'base64'));
      }
      parsesOrRefuses(() => parseStatement(envelopePayload(env)), ALLOWED);
    }),
    fuzzParams(3000),
  );
});

test('edits of the signed statements: parsed or refused', () => {
  const statements = ENVELOPES.map((e) => JSON.parse(Buffer.from(e.payload, 'base64').toString('utf8')) as unknown);
  fc.assert(
    fc.property(fc.nat().chain((i) => jsonMutant(statements[i % statements.length])), (data) => {
      const s = parsesOrRefuses(() => parseStatement(data), ALLOWED);
      if (s) assert.ok(Array.isArray(s.subject) && s.subject.length > 0 && typeof s.predicateType === 'string');
    }),
    fuzzParams(2000),
  );
});

test('raw byte edits of envelope text: parsed or refused', () => {
  const texts = ENVELOPES.map((e) => Buffer.from(JSON.stringify(e)));
  fc.assert(
    fc.property(fc.nat(), byteEdits, (which, edits) => {
      parsesOrRefuses(() => parseEnvelope(applyByteEdits(texts[which % texts.length]!, edits)), ALLOWED);
    }),
    fuzzParams(1000),
  );
  assert.equal(parseEnvelope(texts[0]!).payloadType, IN_TOTO_PAYLOAD_TYPE);
});
