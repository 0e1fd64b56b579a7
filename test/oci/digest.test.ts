import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../../src/errors';
import { blobOf, canonicalJson, digestOf, jsonBlob } from '../../src/oci/digest';

test('digestOf is sha256 with the algorithm prefix', () => {
  assert.equal(digestOf(Buffer.from('')), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(digestOf(Buffer.from('hello')), 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
});

test('canonicalJson sorts keys at every level and has no whitespace', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } }), '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  assert.equal(canonicalJson({ a: undefined, b: 'é\n' }), '{"b":"é\\n"}');
  assert.equal(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }));
});

test('canonicalJson refuses what JSON cannot carry faithfully', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (const v of [NaN, Infinity, [undefined], () => 1, 10n, cyclic, { b: Buffer.from('x') }]) {
    assert.throws(() => canonicalJson(v), (e) => hasCode(e, 'BAD_INPUT'));
  }
  const shared = { k: 1 };
  assert.equal(canonicalJson([shared, shared]), '[{"k":1},{"k":1}]', 'repeated (non-cyclic) objects are fine');
});

test('jsonBlob and blobOf describe their bytes', () => {
  const blob = jsonBlob({ b: 2, a: 1 }, 'application/json');
  assert.equal(blob.data.toString(), '{"a":1,"b":2}');
  assert.deepEqual(blob.descriptor, { mediaType: 'application/json', digest: digestOf(blob.data), size: 13 });
  const raw = blobOf(Buffer.from('abc'), 'application/octet-stream', { 'org.example': 'x' });
  assert.deepEqual(raw.descriptor, {
    mediaType: 'application/octet-stream',
    digest: digestOf(Buffer.from('abc')),
    size: 3,
    annotations: { 'org.example': 'x' },
  });
});
