/**
 * Property tests of the manifest and index parsers: valid manifests of any shape round-trip;
 * JSON and byte edits of the real ones cosign and countersign wrote are parsed or refused with
 * MANIFEST_INVALID / INPUT_TOO_LARGE, and whatever parses has the types the callers rely on.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseImageIndex, parseImageManifest } from '../../src/oci/manifest';
import type { Descriptor } from '../../src/oci/types';
import { MEDIA_TYPE } from '../../src/oci/types';
import { fuzzParams, jsonMutant, parsesOrRefuses } from '../support/fuzz';

const ALLOWED = ['MANIFEST_INVALID', 'INPUT_TOO_LARGE'];
const vectors = path.join(__dirname, '..', 'vectors');
const read = (rel: string) => JSON.parse(readFileSync(path.join(vectors, rel), 'utf8')) as unknown;
const MANIFESTS = ['cosign-image/image-manifest.json', 'cosign-image/sig-manifest.json', 'cosign-image/att-manifest.json', 'cosign-bundle/sign-manifest.json', 'cosign-bundle/slsa-manifest.json'].map(read);
const INDEXES = ['cosign-bundle/fallback-index.json'].map(read);

function checkDescriptor(d: Descriptor): void {
  assert.equal(typeof d.mediaType, 'string');
  assert.match(d.digest, /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/);
  assert.ok(Number.isSafeInteger(d.size) && d.size >= 0);
  if (d.annotations !== undefined) assert.ok(Object.values(d.annotations).every((v) => typeof v === 'string'));
}

const descriptor: fc.Arbitrary<Descriptor> = fc.record(
  {
    mediaType: fc.constantFrom(MEDIA_TYPE.layerTarGzip, MEDIA_TYPE.cosignSimpleSigning, MEDIA_TYPE.dsseEnvelope, 'application/x'),
    digest: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `sha256:${Buffer.from(b).toString('hex')}`),
    size: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    annotations: fc.dictionary(fc.string({ maxLength: 20 }).filter((k) => k !== '__proto__'), fc.string({ maxLength: 40 }), { maxKeys: 3 }),
    artifactType: fc.string({ minLength: 1, maxLength: 30 }),
  },
  { requiredKeys: ['mediaType', 'digest', 'size'] },
);

test('round trip: any valid manifest and index parses back to itself', () => {
  fc.assert(
    fc.property(descriptor, fc.array(descriptor, { maxLength: 20 }), fc.option(descriptor, { nil: undefined }), (config, layers, subject) => {
      // Through JSON once: fast-check builds objects without a prototype, JSON.parse with one.
      const manifest = JSON.parse(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.imageManifest, config, layers, ...(subject ? { subject } : {}) }));
      assert.deepEqual(parseImageManifest(Buffer.from(JSON.stringify(manifest))), manifest);
      const index = JSON.parse(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.imageIndex, manifests: layers }));
      assert.deepEqual(parseImageIndex(Buffer.from(JSON.stringify(index))), index);
    }),
    fuzzParams(1000),
  );
});

test('edits of real manifests: parsed with the promised types, or refused', () => {
  fc.assert(
    fc.property(fc.nat().chain((i) => jsonMutant(MANIFESTS[i % MANIFESTS.length])), (data) => {
      const m = parsesOrRefuses(() => parseImageManifest(data), ALLOWED);
      if (!m) return;
      checkDescriptor(m.config);
      assert.ok(Array.isArray(m.layers));
      m.layers.forEach(checkDescriptor);
      if (m.subject !== undefined) checkDescriptor(m.subject);
    }),
    fuzzParams(3000),
  );
});

test('edits of a real referrers index: parsed with the promised types, or refused', () => {
  fc.assert(
    fc.property(fc.nat().chain((i) => jsonMutant(INDEXES[i % INDEXES.length])), (data) => {
      const index = parsesOrRefuses(() => parseImageIndex(data), ALLOWED);
      if (index) index.manifests.forEach(checkDescriptor);
    }),
    fuzzParams(2000),
  );
});

test('any JSON value at all: parsed or refused', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const data = Buffer.from(JSON.stringify(value) ?? 'null');
      parsesOrRefuses(() => parseImageManifest(data), ALLOWED);
      parsesOrRefuses(() => parseImageIndex(data), ALLOWED);
    }),
    fuzzParams(1000),
  );
});
