/**
 * Property tests of cosign v2's blob bundle (test/vectors/cosign-v2-blob, real cosign v2.6.1
 * output): JSON and byte edits are parsed or refused with an evidence problem, SIGNATURE_INVALID
 * or INPUT_TOO_LARGE, and an edited bundle verifies only if its signature survived.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { verifyBlob } from '../../src/cosign/blob';
import { DEFAULT_V2_BLOB_BUNDLE_MAX_BYTES, parseCosignV2BlobBundle, readBundleJson, verifyCosignV2BlobBundle } from '../../src/cosign/v2-blob-bundle';
import { applyByteEdits, byteEdits, fuzzParams, jsonMutant, parsesOrRefuses } from '../support/fuzz';

const VECTORS = path.join(__dirname, '..', 'vectors');
const BUNDLE = fs.readFileSync(path.join(VECTORS, 'cosign-v2-blob', 'blob.bundle.json'));
const BLOB = fs.readFileSync(path.join(VECTORS, 'cosign-keys', 'blob.txt'));
const PUB = fs.readFileSync(path.join(VECTORS, 'cosign-keys', 'cosign.pub'), 'utf8');
const RAW = JSON.parse(BUNDLE.toString('utf8')) as Record<string, unknown>;

test('property: edits of the real cosign v2 bundle are parsed or refused, and verify only if the signature survived', () => {
  fc.assert(
    fc.property(jsonMutant(RAW), (data) => {
      const raw = parsesOrRefuses(() => readBundleJson(data, DEFAULT_V2_BLOB_BUNDLE_MAX_BYTES), ['INPUT_TOO_LARGE'], { evidence: true });
      if (raw === undefined) return;
      const bundle = parsesOrRefuses(() => parseCosignV2BlobBundle(raw), [], { evidence: true });
      if (!bundle) return;
      const ok = parsesOrRefuses(() => (verifyCosignV2BlobBundle(bundle, PUB, BLOB), true), [], { evidence: true });
      if (ok) assert.deepEqual(bundle.signature, Buffer.from(String(RAW.base64Signature), 'base64'));
    }),
    fuzzParams(1500),
  );
});

test('property: raw byte edits of the bundle text are verified or refused through verifyBlob, never thrown otherwise', () => {
  fc.assert(
    fc.property(byteEdits, (edits) => {
      parsesOrRefuses(() => verifyBlob(BLOB, applyByteEdits(BUNDLE, edits), PUB), ['SIGNATURE_INVALID', 'INPUT_TOO_LARGE']);
    }),
    fuzzParams(1000),
  );
});
