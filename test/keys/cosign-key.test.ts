import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { hasCode } from '../../src/errors';
import {
  COSIGN_PRIVATE_KEY_LABEL,
  decryptPrivateKey,
  encryptPrivateKey,
  generateKeyPair,
  SIGSTORE_PRIVATE_KEY_LABEL,
} from '../../src/keys/cosign-key';
import { keyFingerprint } from '../../src/keys/public-key';
import { buildEncryptedPem, pemJson, pemWrap, relabel, VECTOR_PASSWORD, VECTORS } from './helpers';

const p256 = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const pkcs8 = (k: crypto.KeyObject) => k.export({ format: 'der', type: 'pkcs8' });

async function rejectsWith(p: Promise<unknown>, code: Parameters<typeof hasCode>[1], re?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(hasCode(err, code), `expected ${code}, got ${String(err)}`);
    if (re) assert.match((err as Error).message, re);
    return true;
  });
}

test('generateKeyPair round trip: decrypt gives the key whose public half is publicKeyPem', async () => {
  const pair = await generateKeyPair('correct horse');
  assert.match(pair.privateKeyPem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
  assert.match(pair.privateKeyPem, /-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n$/);
  assert.match(pair.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
  const key = await decryptPrivateKey(pair.privateKeyPem, 'correct horse');
  assert.equal(key.type, 'private');
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(keyFingerprint(key), keyFingerprint(pair.publicKeyPem));
});

test('encryptPrivateKey writes the exact go-securesystemslib document shape', async () => {
  const pem = await encryptPrivateKey(p256(), 'pw');
  // PEM lines are 64 characters, as Go's pem.Encode writes them.
  const bodyLines = pem.trim().split('\n').slice(1, -1);
  for (const line of bodyLines.slice(0, -1)) assert.equal(line.length, 64);
  const doc = pemJson(pem);
  assert.deepEqual(Object.keys(doc), ['kdf', 'cipher', 'ciphertext']);
  assert.deepEqual(Object.keys(doc.kdf), ['name', 'params', 'salt']);
  assert.equal(doc.kdf.name, 'scrypt');
  assert.deepEqual(doc.kdf.params, { N: 65536, r: 8, p: 1 });
  assert.deepEqual(Object.keys(doc.kdf.params), ['N', 'r', 'p']);
  assert.equal(Buffer.from(doc.kdf.salt, 'base64').length, 32);
  assert.deepEqual(doc.cipher.name, 'nacl/secretbox');
  assert.equal(Buffer.from(doc.cipher.nonce, 'base64').length, 24);
  // secretbox output: 16-byte Poly1305 tag followed by the encrypted PKCS#8.
  assert.ok(Buffer.from(doc.ciphertext, 'base64').length > 16 + 100);
  // Fresh salt and nonce every time.
  const again = pemJson(await encryptPrivateKey(p256(), 'pw'));
  assert.notEqual(again.kdf.salt, doc.kdf.salt);
  assert.notEqual(again.cipher.nonce, doc.cipher.nonce);
});

test('empty passphrase is allowed when explicit; a missing one is refused', async () => {
  const key = p256();
  const pem = await encryptPrivateKey(key, '');
  const back = await decryptPrivateKey(pem, '');
  assert.equal(keyFingerprint(back), keyFingerprint(key));
  await rejectsWith(decryptPrivateKey(pem, 'not-empty'), 'KEY_WRONG_PASSPHRASE');
  await rejectsWith(decryptPrivateKey(pem, undefined as unknown as string), 'KEY_PASSPHRASE_MISSING');
  await rejectsWith(encryptPrivateKey(key, undefined as unknown as string), 'KEY_PASSPHRASE_MISSING');
  await rejectsWith(generateKeyPair(null as unknown as string), 'KEY_PASSPHRASE_MISSING');
});

test('wrong passphrase -> KEY_WRONG_PASSPHRASE, and the passphrase is not in the message', async () => {
  const pem = await encryptPrivateKey(p256(), 'right');
  await assert.rejects(decryptPrivateKey(pem, 'wrong-guess-xyz'), (err: unknown) => {
    assert.ok(hasCode(err, 'KEY_WRONG_PASSPHRASE'));
    assert.doesNotMatch((err as Error).message, /wrong-guess-xyz|right/);
    return true;
  });
});

test('non-ASCII passphrases are used as UTF-8 bytes (as Go does)', async () => {
  const key = p256();
  const pem = buildEncryptedPem({ plaintext: pkcs8(key), password: 'pässwörd-🔑' });
  assert.equal(keyFingerprint(await decryptPrivateKey(pem, 'pässwörd-🔑')), keyFingerprint(key));
});

test('both PEM labels are read; new keys use the SIGSTORE label', async () => {
  const key = p256();
  const pem = await encryptPrivateKey(key, 'pw');
  assert.ok(pem.includes(SIGSTORE_PRIVATE_KEY_LABEL));
  const old = relabel(pem, SIGSTORE_PRIVATE_KEY_LABEL, COSIGN_PRIVATE_KEY_LABEL);
  assert.ok(old.startsWith(`-----BEGIN ${COSIGN_PRIVATE_KEY_LABEL}-----`));
  assert.equal(keyFingerprint(await decryptPrivateKey(old, 'pw')), keyFingerprint(key));
});

test('all three scrypt strengths go-securesystemslib accepts are read (N=2^15, 2^16, 2^17)', async () => {
  const key = p256();
  for (const N of [32768, 65536, 131072]) {
    const pem = buildEncryptedPem({ plaintext: pkcs8(key), password: 'pw', N });
    assert.equal(keyFingerprint(await decryptPrivateKey(pem, 'pw')), keyFingerprint(key), `N=${N}`);
  }
});

test('JSON member names are matched case-insensitively, like Go encoding/json', async () => {
  const key = p256();
  const pem = buildEncryptedPem({
    plaintext: pkcs8(key),
    password: 'pw',
    mutate: (d) => {
      d.KDF = d.kdf;
      delete d.kdf;
      d.Ciphertext = d.ciphertext;
      delete d.ciphertext;
    },
  });
  assert.equal(keyFingerprint(await decryptPrivateKey(pem, 'pw')), keyFingerprint(key));
});

test('PEM text around the block is ignored (Go pem.Decode)', async () => {
  const key = p256();
  const pem = await encryptPrivateKey(key, 'pw');
  const noisy = `some preamble\n${pem.replace(/\n/g, '\r\n')}trailing\n`;
  assert.equal(keyFingerprint(await decryptPrivateKey(noisy, 'pw')), keyFingerprint(key));
});

test('scrypt runs off the event loop', async () => {
  const pem = await encryptPrivateKey(p256(), 'pw');
  // Derived on the loop (scryptSync), the key would be ready before the loop turns again; in the
  // thread pool, the turn comes first. An order of events, not a measure of time.
  const order: string[] = [];
  const decrypted = decryptPrivateKey(pem, 'pw').then(() => order.push('key derived'));
  setImmediate(() => order.push('loop turned'));
  await decrypted;
  assert.deepEqual(order, ['loop turned', 'key derived']);
});

test('malformed inputs -> KEY_INVALID', async (t) => {
  const key = p256();
  const good = (mutate: (d: Record<string, any>) => void, plaintext: Buffer = pkcs8(key)) =>
    buildEncryptedPem({ plaintext, password: 'pw', mutate });
  const cases: Array<[string, string, RegExp?]> = [
    ['empty string', '', /not PEM/],
    ['not PEM', 'hello world', /not PEM/],
    ['bad base64 body', '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n@@@@\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n', /malformed PEM/],
    ['mismatched END', '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', /malformed PEM/],
    ['public key', crypto.createPublicKey(key).export({ format: 'pem', type: 'spki' }).toString(), /public key/],
    ['unencrypted PKCS#8', key.export({ format: 'pem', type: 'pkcs8' }).toString(), /"PRIVATE KEY".*import-key-pair/],
    ['unencrypted SEC1', key.export({ format: 'pem', type: 'sec1' }).toString(), /"EC PRIVATE KEY"/],
    ['body not JSON', pemWrap(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from('not json')), /not JSON/],
    ['body JSON array', pemWrap(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from('[]')), /not a JSON object/],
    ['no kdf', good((d) => delete d.kdf), /kdf/],
    ['unknown kdf', good((d) => (d.kdf.name = 'pbkdf2')), /unknown kdf "pbkdf2"/],
    ['unknown cipher', good((d) => (d.cipher.name = 'aes-gcm')), /unknown cipher "aes-gcm"/],
    ['scrypt N too small', good((d) => (d.kdf.params.N = 1024)), /unsupported scrypt parameters/],
    ['scrypt N huge (DoS guard)', good((d) => (d.kdf.params.N = 2 ** 24)), /unsupported scrypt parameters/],
    ['scrypt r changed', good((d) => (d.kdf.params.r = 16)), /unsupported scrypt parameters/],
    ['N as string', good((d) => (d.kdf.params.N = '65536')), /unsupported scrypt parameters/],
    ['salt not base64', good((d) => (d.kdf.salt = 'not base64!')), /kdf\.salt/],
    ['salt url-safe base64', good((d) => (d.kdf.salt = 'ab-_')), /kdf\.salt/],
    ['nonce wrong length', good((d) => (d.cipher.nonce = Buffer.alloc(12).toString('base64'))), /nonce is 12 bytes/],
    ['ciphertext missing', good((d) => delete d.ciphertext), /ciphertext/],
    ['ciphertext too short', good((d) => (d.ciphertext = Buffer.alloc(8).toString('base64'))), /shorter than/],
    ['plaintext not PKCS#8', good(() => undefined, Buffer.from('definitely not DER')), /not a PKCS#8/],
  ];
  for (const [name, pem, re] of cases) {
    await t.test(name, () => rejectsWith(decryptPrivateKey(pem, 'pw'), 'KEY_INVALID', re));
  }
});

test('tampered ciphertext fails authentication -> KEY_WRONG_PASSPHRASE', async () => {
  const key = p256();
  const pem = buildEncryptedPem({
    plaintext: pkcs8(key),
    password: 'pw',
    mutate: (d) => {
      const ct = Buffer.from(d.ciphertext, 'base64');
      ct[ct.length - 1] ^= 1;
      d.ciphertext = ct.toString('base64');
    },
  });
  await rejectsWith(decryptPrivateKey(pem, 'pw'), 'KEY_WRONG_PASSPHRASE');
});

test('non-P-256 keys are refused on both encrypt and decrypt', async (t) => {
  const others: Array<[string, crypto.KeyObject, RegExp]> = [
    ['P-384', crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey, /secp384r1.*P-256/],
    ['secp256k1', crypto.generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey, /secp256k1/],
    ['Ed25519', crypto.generateKeyPairSync('ed25519').privateKey, /key type ed25519/],
    ['RSA', crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, /key type rsa/],
  ];
  for (const [name, key, re] of others) {
    await t.test(`${name}: encrypt refused`, () => rejectsWith(encryptPrivateKey(key, 'pw'), 'KEY_INVALID', re));
    await t.test(`${name}: decrypt refused`, () =>
      rejectsWith(decryptPrivateKey(buildEncryptedPem({ plaintext: pkcs8(key), password: 'pw' }), 'pw'), 'KEY_INVALID', re),
    );
  }
  await t.test('public KeyObject refused by encrypt', () =>
    rejectsWith(encryptPrivateKey(crypto.createPublicKey(p256()), 'pw'), 'KEY_INVALID'),
  );
});

const vectorKey = path.join(VECTORS, 'cosign.key');

test('decrypts the key written by real cosign v3.1.2 (test/vectors/cosign-keys)', async () => {
  assert.ok(existsSync(vectorKey), 'test/vectors/cosign-keys/cosign.key must exist');
  const pem = readFileSync(vectorKey, 'utf8');
  const doc = pemJson(pem);
  // What cosign actually wrote: standard strength, 32-byte salt, 24-byte nonce.
  assert.deepEqual(doc.kdf.params, { N: 65536, r: 8, p: 1 });
  assert.equal(Buffer.from(doc.kdf.salt, 'base64').length, 32);
  assert.equal(Buffer.from(doc.cipher.nonce, 'base64').length, 24);
  const key = await decryptPrivateKey(pem, VECTOR_PASSWORD);
  const pub = readFileSync(path.join(VECTORS, 'cosign.pub'), 'utf8');
  assert.equal(keyFingerprint(key), keyFingerprint(pub));
  // Also under the pre-v2 label, and a wrong passphrase is reported as such.
  const old = relabel(pem, SIGSTORE_PRIVATE_KEY_LABEL, COSIGN_PRIVATE_KEY_LABEL);
  assert.equal(keyFingerprint(await decryptPrivateKey(old, VECTOR_PASSWORD)), keyFingerprint(pub));
  await rejectsWith(decryptPrivateKey(pem, 'countersign-test '), 'KEY_WRONG_PASSPHRASE');
});
