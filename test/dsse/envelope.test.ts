import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { test } from 'node:test';
import {
  IN_TOTO_PAYLOAD_TYPE,
  envelopePayload,
  parseEnvelope,
  preAuthEncoding,
  signEnvelope,
  verifyEnvelope,
} from '../../src/dsse/envelope';
import { hasCode } from '../../src/errors';
import type { Signer } from '../../src/keys/signer';

function testSigner(): Signer & { publicKey: crypto.KeyObject } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    keyRef: 'test',
    publicKey,
    sign: async (data) => crypto.sign('sha256', data, { key: privateKey, dsaEncoding: 'der' }),
    publicKeyPem: async () => publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

test('PAE matches the worked example of the DSSE spec', () => {
  // DSSE protocol.md: PAE("http://example.com/HelloWorld", "hello world")
  const pae = preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world'));
  assert.equal(pae.toString('latin1'), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  // 'DSSEv1' SP '29' SP type(29) SP '11' SP body(11)
  assert.equal(pae.length, 6 + 1 + 2 + 1 + 29 + 1 + 2 + 1 + 11);
  assert.equal(pae.subarray(0, 10).toString('hex'), '44535345763120323920');
});

test('PAE counts bytes, not characters, and keeps the body binary', () => {
  // "é" is two bytes in UTF-8; the body holds a NUL and a non-UTF-8 byte.
  const body = Buffer.from([0x00, 0xff, 0x20]);
  const pae = preAuthEncoding('é', body);
  assert.deepEqual(pae, Buffer.concat([Buffer.from('DSSEv1 2 '), Buffer.from([0xc3, 0xa9]), Buffer.from(' 3 '), body]));
  assert.equal(preAuthEncoding('', Buffer.alloc(0)).toString(), 'DSSEv1 0  0 ');
});

test('signEnvelope / verifyEnvelope round trip; keyid empty; signature is over the PAE', async () => {
  const signer = testSigner();
  const payload = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');
  const env = await signEnvelope(payload, IN_TOTO_PAYLOAD_TYPE, signer);
  assert.equal(env.payloadType, IN_TOTO_PAYLOAD_TYPE);
  assert.equal(env.payload, payload.toString('base64'));
  assert.equal(env.signatures.length, 1);
  assert.equal(env.signatures[0].keyid, '');
  assert.deepEqual(envelopePayload(env), payload);
  assert.equal(verifyEnvelope(env, await signer.publicKeyPem()), true);
  assert.equal(verifyEnvelope(env, signer.publicKey), true);
  // The signature covers PAE(type, payload), not the bare payload.
  const sig = Buffer.from(env.signatures[0].sig, 'base64');
  assert.equal(crypto.verify('sha256', preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload), { key: signer.publicKey, dsaEncoding: 'der' }, sig), true);
  assert.equal(crypto.verify('sha256', payload, { key: signer.publicKey, dsaEncoding: 'der' }, sig), false);

  // Survives JSON serialisation and strict parsing.
  const reparsed = parseEnvelope(JSON.stringify(env));
  assert.deepEqual(reparsed, env);
  assert.equal(verifyEnvelope(reparsed, await signer.publicKeyPem()), true);
});

test('verifyEnvelope refuses other keys, an edited payload and an edited payloadType', async () => {
  const signer = testSigner();
  const env = await signEnvelope(Buffer.from('{"a":1}'), IN_TOTO_PAYLOAD_TYPE, signer);
  const pem = await signer.publicKeyPem();
  assert.equal(verifyEnvelope(env, await testSigner().publicKeyPem()), false);
  assert.equal(verifyEnvelope({ ...env, payload: Buffer.from('{"a":2}').toString('base64') }, pem), false);
  assert.equal(verifyEnvelope({ ...env, payloadType: 'application/json' }, pem), false);
  // One good signature among bad ones suffices.
  const mixed = { ...env, signatures: [{ keyid: '', sig: Buffer.from('junk').toString('base64') }, ...env.signatures] };
  assert.equal(verifyEnvelope(mixed, pem), true);
  assert.equal(verifyEnvelope({ ...env, signatures: [{ keyid: '', sig: 'AAAA' }] }, pem), false);
});

test('parseEnvelope accepts a keyid-less signature (as cosign writes) and reads it as ""', () => {
  const env = parseEnvelope(Buffer.from(JSON.stringify({ payload: 'e30=', payloadType: 'x/y', signatures: [{ sig: 'MEUC' }] })));
  assert.deepEqual(env, { payloadType: 'x/y', payload: 'e30=', signatures: [{ keyid: '', sig: 'MEUC' }] });
});

test('parseEnvelope refuses unknown fields, missing signatures and bad base64, naming each problem', () => {
  const good = { payloadType: IN_TOTO_PAYLOAD_TYPE, payload: 'e30=', signatures: [{ keyid: '', sig: 'MEUC' }] };
  const cases: Array<[unknown, RegExp]> = [
    [{ ...good, extra: 1 }, /unknown field "extra"/],
    [{ ...good, signatures: [] }, /no signatures \(attestation is not signed\)/],
    [{ ...good, signatures: undefined }, /no signatures/],
    [{ ...good, signatures: 'MEUC' }, /no signatures/],
    [{ ...good, payload: 'not base64!' }, /payload missing or not base64/],
    [{ ...good, payload: undefined }, /payload missing or not base64/],
    [{ ...good, payload: 42 }, /payload missing or not base64/],
    [{ ...good, payloadType: '' }, /payloadType missing/],
    [{ ...good, signatures: [{ keyid: '', sig: 'a*b' }] }, /signatures\[0\]\.sig missing or not base64/],
    [{ ...good, signatures: [{ keyid: '', sig: 'MEUC' }, { keyid: 'k' }] }, /signatures\[1\]\.sig missing or not base64/],
    [{ ...good, signatures: [{ keyid: '', sig: '' }] }, /signatures\[0\]\.sig missing or not base64/],
  ];
  for (const [value, expected] of cases) {
    assert.throws(
      () => parseEnvelope(JSON.stringify(value)),
      (e: unknown) => hasCode(e, 'ATTESTATION_INVALID') && expected.test((e as Error).message),
      JSON.stringify(value),
    );
  }
  // All problems at once.
  assert.throws(
    () => parseEnvelope(JSON.stringify({ extra: true, payload: '%%' })),
    (e: unknown) =>
      hasCode(e, 'ATTESTATION_INVALID') &&
      /unknown field "extra"; payloadType missing; payload missing or not base64; no signatures/.test((e as Error).message),
  );
});

test('parseEnvelope refuses non-JSON and non-objects', () => {
  for (const text of ['', 'not json', '[]', 'null', '"envelope"', '42']) {
    assert.throws(() => parseEnvelope(text), (e) => hasCode(e, 'ATTESTATION_INVALID'), JSON.stringify(text));
  }
});

test(
  'parseEnvelope accepts URL-safe base64, which the DSSE spec says verifiers must accept',
  async () => {
    const signer = testSigner();
    // 0xfb 0xff encodes to "+/8=" in the standard alphabet and "-_8=" in the URL-safe one.
    const payload = Buffer.from([0x7b, 0xfb, 0xff, 0x7d]);
    const env = await signEnvelope(payload, 'application/octet-stream', signer);
    const urlSafe = (s: string) => s.replace(/\+/g, '-').replace(/\//g, '_');
    assert.match(urlSafe(env.payload), /[-_]/);
    const text = JSON.stringify({ ...env, payload: urlSafe(env.payload), signatures: env.signatures.map((s) => ({ ...s, sig: urlSafe(s.sig) })) });
    const parsed = parseEnvelope(text);
    assert.deepEqual(envelopePayload(parsed), payload);
    assert.equal(verifyEnvelope(parsed, await signer.publicKeyPem()), true);
  },
);

test('limits: too many signatures, too deep, too long a type, a keyid that is not a string', async () => {
  const signer = testSigner();
  const env = await signEnvelope(Buffer.from('{}'), IN_TOTO_PAYLOAD_TYPE, signer);
  const many = { ...env, signatures: Array.from({ length: 17 }, () => env.signatures[0]) };
  assert.throws(() => parseEnvelope(JSON.stringify(many)), (e) => hasCode(e, 'INPUT_TOO_LARGE') && /carries 17 signatures, more than the 16 read/.test((e as Error).message));
  assert.equal(parseEnvelope(JSON.stringify({ ...env, signatures: many.signatures.slice(0, 16) })).signatures.length, 16);
  const deep = JSON.stringify(env).replace('"signatures":', `"x":${'['.repeat(65)}${']'.repeat(65)},"signatures":`);
  assert.throws(() => parseEnvelope(deep), (e) => hasCode(e, 'INPUT_TOO_LARGE') && /deeper than 64 levels/.test((e as Error).message));
  assert.throws(() => parseEnvelope(JSON.stringify({ ...env, payloadType: 'a'.repeat(257) })), (e) => hasCode(e, 'ATTESTATION_INVALID') && /payloadType longer than 256 bytes/.test((e as Error).message));
  assert.throws(() => parseEnvelope(JSON.stringify({ ...env, signatures: [{ sig: env.signatures[0].sig, keyid: 7 }] })), (e) => hasCode(e, 'ATTESTATION_INVALID') && /keyid is not a string/.test((e as Error).message));
});
