import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { hasCode } from '../../src/errors';
import { keyFingerprint, loadPublicKeyFile, parsedPublicKey, parsePublicKeyPem, verifySignature } from '../../src/keys/public-key';
import { tempDir, VECTORS } from './helpers';

const pair = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const spkiPem = (k: crypto.KeyObject) => (k.type === 'public' ? k : crypto.createPublicKey(k)).export({ format: 'pem', type: 'spki' }).toString();
const sign = (k: crypto.KeyObject, data: Buffer) => crypto.sign('sha256', data, k);

function throwsCode(fn: () => unknown, code: Parameters<typeof hasCode>[1], re?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(hasCode(err, code), `expected ${code}, got ${String(err)}`);
    if (re) assert.match((err as Error).message, re);
    return true;
  });
}

test('parsePublicKeyPem accepts an SPKI P-256 key', () => {
  const { publicKey } = pair();
  const key = parsePublicKeyPem(spkiPem(publicKey));
  assert.equal(key.type, 'public');
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
});

test('parsePublicKeyPem refuses non-PEM, wrong PEM types and other curves with KEY_INVALID', async (t) => {
  const { privateKey } = pair();
  const cases: Array<[string, string, RegExp]> = [
    ['empty', '', /not PEM/],
    ['garbage', 'ssh-ed25519 AAAA... user@host', /not PEM/],
    ['private key PEM', privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), /"PRIVATE KEY".*private key/],
    ['SEC1 private key', privateKey.export({ format: 'pem', type: 'sec1' }).toString(), /"EC PRIVATE KEY"/],
    ['PKCS#1 RSA public key', crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'pem', type: 'pkcs1' }).toString(), /"RSA PUBLIC KEY"/],
    ['certificate label', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /certificates are not accepted/],
    ['bad base64', '-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n', /malformed PEM/],
    ['not SPKI DER', '-----BEGIN PUBLIC KEY-----\nAAAAAAAA\n-----END PUBLIC KEY-----\n', /valid SPKI/],
    ['RSA SPKI', spkiPem(crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey), /key type rsa/],
    ['Ed25519 SPKI', spkiPem(crypto.generateKeyPairSync('ed25519').publicKey), /key type ed25519/],
    ['P-384 SPKI', spkiPem(crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey), /curve secp384r1/],
    ['secp256k1 SPKI', spkiPem(crypto.generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey), /curve secp256k1/],
  ];
  for (const [name, pem, re] of cases) {
    await t.test(name, () => throwsCode(() => parsePublicKeyPem(pem), 'KEY_INVALID', re));
  }
});

test('parsedPublicKey: one KeyObject per PEM string, the same key the parser gives; a PEM that fails fails every time', () => {
  const { publicKey } = pair();
  const pem = spkiPem(publicKey);
  const first = parsedPublicKey(pem);
  assert.equal(parsedPublicKey(pem), first, 'the second call is answered from memory');
  assert.ok(first.equals(parsePublicKeyPem(pem)));
  assert.ok(!parsedPublicKey(spkiPem(pair().publicKey)).equals(first), 'another PEM, another key');
  const rsa = spkiPem(crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
  for (let i = 0; i < 2; i++) throwsCode(() => parsedPublicKey(rsa), 'KEY_INVALID', /key type rsa/);
});

test('verifySignature: valid signatures verify, for PEM strings and KeyObjects', () => {
  const { publicKey, privateKey } = pair();
  const data = Buffer.from('payload to sign');
  const sig = sign(privateKey, data);
  assert.equal(sig[0], 0x30, 'DER SEQUENCE');
  assert.equal(verifySignature(spkiPem(publicKey), data, sig), true);
  assert.equal(verifySignature(publicKey, data, sig), true);
  assert.equal(verifySignature(privateKey, data, sig), true, 'private KeyObject verifies with its public half');
  assert.equal(verifySignature(publicKey, Buffer.alloc(0), sign(privateKey, Buffer.alloc(0))), true);
});

test('verifySignature: tampered data, tampered signature or another key -> false', () => {
  const { publicKey, privateKey } = pair();
  const data = Buffer.from('payload to sign');
  const sig = sign(privateKey, data);
  const tamperedData = Buffer.from(data);
  tamperedData[0] ^= 1;
  assert.equal(verifySignature(publicKey, tamperedData, sig), false);
  const tamperedSig = Buffer.from(sig);
  tamperedSig[tamperedSig.length - 1] ^= 1;
  assert.equal(verifySignature(publicKey, data, tamperedSig), false);
  assert.equal(verifySignature(pair().publicKey, data, sig), false);
});

test('verifySignature: malformed signatures return false and never throw', () => {
  const { publicKey, privateKey } = pair();
  const data = Buffer.from('x');
  const sig = sign(privateKey, data);
  const rawRS = crypto.sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const malformed: Array<[string, unknown]> = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([0x30])],
    ['random', crypto.randomBytes(72)],
    ['truncated', sig.subarray(0, sig.length - 3)],
    ['trailing garbage', Buffer.concat([sig, Buffer.from([0])])],
    ['raw r||s (P1363) instead of DER', rawRS],
    ['base64 text instead of bytes', Buffer.from(sig.toString('base64'))],
    ['not a buffer', 'MEUCIQ' as unknown],
    ['null', null],
  ];
  for (const [name, s] of malformed) {
    assert.equal(verifySignature(publicKey, data, s as Buffer), false, name);
  }
});

test('verifySignature: non-canonical DER (BER) is rejected like Go does', () => {
  const { publicKey, privateKey } = pair();
  const data = Buffer.from('canonical');
  const sig = sign(privateKey, data);
  // Re-encode the outer SEQUENCE length in long form (0x81 len): valid BER, invalid DER.
  assert.ok(sig[1] < 0x80);
  const ber = Buffer.concat([Buffer.from([0x30, 0x81, sig[1]]), sig.subarray(2)]);
  assert.equal(verifySignature(publicKey, data, ber), false);
});

test('verifySignature with an invalid key throws KEY_INVALID (a key problem is not a bad signature)', () => {
  throwsCode(() => verifySignature('not a key', Buffer.from('x'), Buffer.from([0x30])), 'KEY_INVALID');
  const ed = crypto.generateKeyPairSync('ed25519').publicKey;
  throwsCode(() => verifySignature(ed, Buffer.from('x'), Buffer.from([0x30])), 'KEY_INVALID');
});

test('a PEM checked again and again is parsed once; a bad one is refused every time, and many keys stay distinct', () => {
  const keys = Array.from({ length: 70 }, () => pair());
  const data = Buffer.from('payload');
  // More keys than the parsed-PEM cache holds: every key still verifies its own signature and no other's.
  for (let round = 0; round < 2; round++) {
    for (const [i, k] of keys.entries()) {
      assert.equal(verifySignature(spkiPem(k.publicKey), data, sign(k.privateKey, data)), true);
      assert.equal(verifySignature(spkiPem(k.publicKey), data, sign(keys[(i + 1) % keys.length].privateKey, data)), false);
    }
  }
  const pem = spkiPem(keys[0].publicKey);
  assert.equal(keyFingerprint(pem), keyFingerprint(keys[0].publicKey));
  const other = crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  for (let i = 0; i < 2; i++) throwsCode(() => verifySignature(spkiPem(other.publicKey), data, Buffer.from([0x30])), 'KEY_INVALID');
});

test('keyFingerprint = hex sha256 of the SPKI DER, whatever form the key comes in', () => {
  const { publicKey, privateKey } = pair();
  const pem = spkiPem(publicKey);
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const expected = crypto.createHash('sha256').update(der).digest('hex');
  assert.match(expected, /^[0-9a-f]{64}$/);
  assert.equal(keyFingerprint(pem), expected);
  assert.equal(keyFingerprint(publicKey), expected);
  assert.equal(keyFingerprint(privateKey), expected);
  assert.notEqual(keyFingerprint(pair().publicKey), expected);
});

test('loadPublicKeyFile: loads a .pub; KEY_MISSING naming the path; KEY_INVALID naming the path', async (t) => {
  const dir = tempDir(t);
  const { publicKey, privateKey } = pair();
  const good = path.join(dir, 'good.pub');
  writeFileSync(good, spkiPem(publicKey));
  assert.equal(keyFingerprint(await loadPublicKeyFile(good)), keyFingerprint(publicKey));

  const missing = path.join(dir, 'nope', 'cosign.pub');
  await assert.rejects(loadPublicKeyFile(missing), (err: unknown) => {
    assert.ok(hasCode(err, 'KEY_MISSING'));
    assert.ok((err as Error).message.includes(missing));
    return true;
  });

  const wrong = path.join(dir, 'wrong.pub');
  writeFileSync(wrong, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  await assert.rejects(loadPublicKeyFile(wrong), (err: unknown) => {
    assert.ok(hasCode(err, 'KEY_INVALID'));
    assert.ok((err as Error).message.includes(wrong));
    assert.doesNotMatch((err as Error).message, /BEGIN PRIVATE KEY/);
    return true;
  });

  await assert.rejects(loadPublicKeyFile(dir), (err: unknown) => hasCode(err, 'KEY_INVALID'));
});

test('verifies the blob signature made by real cosign v3.1.2 (test/vectors/cosign-keys)', async () => {
  const sigPath = path.join(VECTORS, 'blob.sig');
  assert.ok(existsSync(sigPath), 'test/vectors/cosign-keys/blob.sig must exist');
  const pub = await loadPublicKeyFile(path.join(VECTORS, 'cosign.pub'));
  const blob = readFileSync(path.join(VECTORS, 'blob.txt'));
  // cosign writes the signature as standard base64 of the DER bytes.
  const sig = Buffer.from(readFileSync(sigPath, 'utf8').trim(), 'base64');
  assert.equal(sig[0], 0x30);
  assert.equal(verifySignature(pub, blob, sig), true);
  const tampered = Buffer.concat([blob, Buffer.from('!')]);
  assert.equal(verifySignature(pub, tampered, sig), false);
});
