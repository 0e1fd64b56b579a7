/**
 * Property tests of image references: any valid reference formats and parses back to itself;
 * any string at all, and edits of real references, parse or are refused with BAD_REFERENCE; a
 * parsed reference formats to a fixed point.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_REFERENCE_MAX_LENGTH, formatReference, parseImageReference, type ImageReference } from '../../src/oci/reference';
import { applyByteEdits, byteEdits, fuzzParams, parsesOrRefuses } from '../support/fuzz';

const ALLOWED = ['BAD_REFERENCE'];
const REAL = [
  '127.0.0.1:5000/apps/hello:v1',
  'ghcr.io/acme/hello@sha256:641395f3363b6ec432edcc1e78b0e756a88b93be8a12eeb8c3347678e33befe4',
  'alpine',
  'docker.io/library/alpine:3.20',
  'localhost:5001/team/sub/app:1.2.3-rc.1@sha256:29c73230a2a2394d367058a1d78d7708645a6c7638ce038a7ab93574a03f2ab0',
  '[::1]:5000/apps/hello',
];

const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:(?:\.|_|__|-{1,2})[a-z0-9]{1,6}){0,2}$/);
const registry = fc.oneof(
  fc.domain().filter((d) => d.includes('.') && !/(^|\.)-|-(\.|$)/.test(d)),
  fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([ip, port]) => `${ip}:${port}`),
  fc.integer({ min: 1, max: 65535 }).map((port) => `localhost:${port}`),
);
const reference: fc.Arbitrary<ImageReference> = fc
  .record(
    {
      registry,
      repository: fc.array(component, { minLength: 2, maxLength: 4 }).map((c) => c.join('/')),
      tag: fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}$/),
      digest: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `sha256:${Buffer.from(b).toString('hex')}`),
    },
    { requiredKeys: ['registry', 'repository'] },
  )
  .filter((r) => r.registry.length + 1 + r.repository.length <= 255);

test('round trip: format then parse gives the same reference', () => {
  fc.assert(
    fc.property(reference, (ref) => {
      assert.deepEqual({ ...parseImageReference(formatReference(ref)) }, JSON.parse(JSON.stringify(ref)));
    }),
    fuzzParams(2000),
  );
});

test('any string: parsed or refused; what parses formats to a fixed point', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ minLength: DEFAULT_REFERENCE_MAX_LENGTH - 5, maxLength: DEFAULT_REFERENCE_MAX_LENGTH + 5 })), (input) => {
      const ref = parsesOrRefuses(() => parseImageReference(input), ALLOWED);
      if (ref) assert.deepEqual(parseImageReference(formatReference(ref)), ref);
    }),
    fuzzParams(2000),
  );
});

test('edits of real references: parsed or refused', () => {
  fc.assert(
    fc.property(fc.nat(), byteEdits, (which, edits) => {
      const input = applyByteEdits(Buffer.from(REAL[which % REAL.length]!), edits).toString('utf8');
      const ref = parsesOrRefuses(() => parseImageReference(input), ALLOWED);
      if (ref) assert.deepEqual(parseImageReference(formatReference(ref)), ref);
    }),
    fuzzParams(2000),
  );
});
