import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import * as path from 'node:path';
import { test } from 'node:test';
import { hasCode } from '../../src/errors';
import { generateKeyPair } from '../../src/keys/cosign-key';
import { FileSigner, writeKeyPair } from '../../src/keys/file-signer';
import { keyFingerprint, loadPublicKeyFile, verifySignature } from '../../src/keys/public-key';
import type { Signer } from '../../src/keys/signer';
import { locateTool } from '../../src/stack/tools';
import { runCosign, tempDir, VECTOR_PASSWORD, VECTORS } from './helpers';

test('writeKeyPair writes <prefix>.key (0600) and <prefix>.pub; FileSigner signs, signatures verify', async (t) => {
  const dir = path.join(tempDir(t), 'made', 'here');
  const { privateKeyPath, publicKeyPath } = await writeKeyPair(dir, 'release', 'pw');
  assert.equal(privateKeyPath, path.join(dir, 'release.key'));
  assert.equal(publicKeyPath, path.join(dir, 'release.pub'));
  assert.equal(statSync(privateKeyPath).mode & 0o777, 0o600);
  assert.match(readFileSync(privateKeyPath, 'utf8'), /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----/);
  assert.match(readFileSync(publicKeyPath, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);

  const signer: Signer = await FileSigner.load(privateKeyPath, 'pw');
  assert.equal(signer.keyRef, path.resolve(privateKeyPath));
  assert.equal(await signer.publicKeyPem(), readFileSync(publicKeyPath, 'utf8'));

  const data = Buffer.from('{"critical":{}}');
  const sig = await signer.sign(data);
  assert.equal(sig[0], 0x30, 'ASN.1 DER');
  const pub = await loadPublicKeyFile(publicKeyPath);
  assert.equal(verifySignature(pub, data, sig), true);
  assert.equal(verifySignature(await signer.publicKeyPem(), data, sig), true);
  const tampered = Buffer.from(data);
  tampered[1] ^= 0x20;
  assert.equal(verifySignature(pub, tampered, sig), false);
  // ECDSA is randomized: two signatures differ, both verify.
  const sig2 = await signer.sign(data);
  assert.notDeepEqual(sig2, sig);
  assert.equal(verifySignature(pub, data, sig2), true);
});

test('FileSigner never exposes key material through JSON or inspect', async (t) => {
  const dir = tempDir(t);
  const { privateKeyPath } = await writeKeyPair(dir, 'k', 'pw');
  const signer = await FileSigner.load(privateKeyPath, 'pw');
  assert.deepEqual(JSON.parse(JSON.stringify(signer)), { keyRef: signer.keyRef });
  assert.equal(inspect(signer), `FileSigner(${signer.keyRef})`);
  assert.deepEqual(Object.keys(signer), ['keyRef']);
});

test('FileSigner.load: missing file -> KEY_MISSING naming the path', async (t) => {
  const missing = path.join(tempDir(t), 'absent.key');
  await assert.rejects(FileSigner.load(missing, 'pw'), (err: unknown) => {
    assert.ok(hasCode(err, 'KEY_MISSING'), String(err));
    assert.ok((err as Error).message.includes(missing));
    return true;
  });
});

test('FileSigner.load: wrong passphrase, malformed file, non-P-256 key', async (t) => {
  const dir = tempDir(t);
  const { privateKeyPath } = await writeKeyPair(dir, 'k', 'secret-pw');
  await assert.rejects(FileSigner.load(privateKeyPath, 'not-it'), (err: unknown) => {
    assert.ok(hasCode(err, 'KEY_WRONG_PASSPHRASE'));
    assert.ok((err as Error).message.includes(privateKeyPath));
    assert.doesNotMatch((err as Error).message, /secret-pw|not-it/);
    return true;
  });
  const junk = path.join(dir, 'junk.key');
  writeFileSync(junk, 'not a key');
  await assert.rejects(FileSigner.load(junk, 'pw'), (err: unknown) => hasCode(err, 'KEY_INVALID'));
  const rsa = path.join(dir, 'rsa.key');
  writeFileSync(rsa, crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
  await assert.rejects(FileSigner.load(rsa, 'pw'), (err: unknown) => hasCode(err, 'KEY_INVALID'));
  await assert.rejects(FileSigner.load(dir, 'pw'), (err: unknown) => hasCode(err, 'KEY_INVALID'));
});

test('writeKeyPair refuses to overwrite either file unless force', async (t) => {
  const dir = tempDir(t);
  const first = await writeKeyPair(dir, 'cosign', 'pw');
  const keyBefore = readFileSync(first.privateKeyPath, 'utf8');
  const pubBefore = readFileSync(first.publicKeyPath, 'utf8');

  await assert.rejects(writeKeyPair(dir, 'cosign', 'pw'), (err: unknown) => {
    assert.ok(hasCode(err, 'BAD_INPUT'));
    assert.ok((err as Error).message.includes(first.privateKeyPath));
    return true;
  });
  assert.equal(readFileSync(first.privateKeyPath, 'utf8'), keyBefore);
  assert.equal(readFileSync(first.publicKeyPath, 'utf8'), pubBefore);

  // Only the .pub exists: still refused, and no .key is left behind.
  const other = tempDir(t);
  writeFileSync(path.join(other, 'cosign.pub'), 'existing');
  await assert.rejects(writeKeyPair(other, 'cosign', 'pw'), (err: unknown) => hasCode(err, 'BAD_INPUT'));
  assert.throws(() => statSync(path.join(other, 'cosign.key')), /ENOENT/);

  // force replaces both, and the new private key is 0600 even if the old file was not.
  chmodSync(first.privateKeyPath, 0o644);
  const forced = await writeKeyPair(dir, 'cosign', 'pw2', { force: true });
  assert.notEqual(readFileSync(forced.privateKeyPath, 'utf8'), keyBefore);
  assert.notEqual(readFileSync(forced.publicKeyPath, 'utf8'), pubBefore);
  assert.equal(statSync(forced.privateKeyPath).mode & 0o777, 0o600);
  const signer = await FileSigner.load(forced.privateKeyPath, 'pw2');
  assert.equal(await signer.publicKeyPem(), readFileSync(forced.publicKeyPath, 'utf8'));
});

test('writeKeyPair rejects prefixes that are paths', async (t) => {
  const dir = tempDir(t);
  for (const prefix of ['', '../escape', 'a/b', '..']) {
    await assert.rejects(writeKeyPair(dir, prefix, 'pw'), (err: unknown) => hasCode(err, 'BAD_INPUT'), prefix);
  }
});

// ---- interop with the real cosign binary ----------------------------------------------------

test('FileSigner loads the key made by real cosign and its signatures verify against cosign.pub', async () => {
  const signer = await FileSigner.load(path.join(VECTORS, 'cosign.key'), VECTOR_PASSWORD);
  const pubPem = readFileSync(path.join(VECTORS, 'cosign.pub'), 'utf8');
  assert.equal(keyFingerprint(await signer.publicKeyPem()), keyFingerprint(pubPem));
  const blob = readFileSync(path.join(VECTORS, 'blob.txt'));
  assert.equal(verifySignature(pubPem, blob, await signer.sign(blob)), true);
});

test('cosign verify-blob accepts a signature made by FileSigner with cosign\'s key', async (t) => {
  const cosign = locateTool('cosign');
  if (!cosign) return t.skip('cosign not installed');
  const dir = tempDir(t);
  const signer = await FileSigner.load(path.join(VECTORS, 'cosign.key'), VECTOR_PASSWORD);
  const blobPath = path.join(VECTORS, 'blob.txt');
  const sigPath = path.join(dir, 'ours.sig');
  writeFileSync(sigPath, (await signer.sign(readFileSync(blobPath))).toString('base64'));
  const ok = await runCosign(cosign, verifyBlobArgs(path.join(VECTORS, 'cosign.pub'), sigPath, blobPath));
  assert.equal(ok.code, 0, `cosign verify-blob failed:\n${ok.stderr}`);
  assert.match(ok.stderr, /Verified OK/);

  // Negative control: cosign rejects our signature over different content.
  const otherBlob = path.join(dir, 'other.txt');
  writeFileSync(otherBlob, 'not the signed blob\n');
  const bad = await runCosign(cosign, verifyBlobArgs(path.join(VECTORS, 'cosign.pub'), sigPath, otherBlob));
  assert.notEqual(bad.code, 0);
});

test('cosign signs with a key made by our writeKeyPair; both cosign and verifySignature accept it', async (t) => {
  const cosign = locateTool('cosign');
  if (!cosign) return t.skip('cosign not installed');
  const dir = tempDir(t);
  const password = 'ours-pw';
  const { privateKeyPath, publicKeyPath } = await writeKeyPair(dir, 'ours', password);
  const blobPath = path.join(dir, 'payload.txt');
  writeFileSync(blobPath, 'countersign interop payload\n');
  const sigPath = path.join(dir, 'cosign-made.sig');

  const signed = await runCosign(cosign, signBlobArgs(privateKeyPath, sigPath, blobPath), { password });
  assert.equal(signed.code, 0, `cosign sign-blob failed:\n${signed.stderr}`);
  const sig = Buffer.from(readFileSync(sigPath, 'utf8').trim(), 'base64');
  assert.equal(verifySignature(await loadPublicKeyFile(publicKeyPath), readFileSync(blobPath), sig), true);

  const verified = await runCosign(cosign, verifyBlobArgs(publicKeyPath, sigPath, blobPath));
  assert.equal(verified.code, 0, `cosign verify-blob failed:\n${verified.stderr}`);

  // cosign itself reports a wrong passphrase for our key (proves it really decrypts it).
  const wrong = await runCosign(cosign, signBlobArgs(privateKeyPath, path.join(dir, 'x.sig'), blobPath), {
    password: 'nope',
  });
  assert.notEqual(wrong.code, 0);
});

test('cosign accepts a key made by generateKeyPair with an empty passphrase', async (t) => {
  const cosign = locateTool('cosign');
  if (!cosign) return t.skip('cosign not installed');
  const dir = tempDir(t);
  const pair = await generateKeyPair('');
  const keyPath = path.join(dir, 'empty.key');
  const pubPath = path.join(dir, 'empty.pub');
  writeFileSync(keyPath, pair.privateKeyPem, { mode: 0o600 });
  writeFileSync(pubPath, pair.publicKeyPem);
  const blobPath = path.join(dir, 'b.txt');
  writeFileSync(blobPath, 'x');
  const sigPath = path.join(dir, 'b.sig');
  const signed = await runCosign(cosign, signBlobArgs(keyPath, sigPath, blobPath), { password: '' });
  assert.equal(signed.code, 0, `cosign sign-blob failed:\n${signed.stderr}`);
  const verified = await runCosign(cosign, verifyBlobArgs(pubPath, sigPath, blobPath));
  assert.equal(verified.code, 0, `cosign verify-blob failed:\n${verified.stderr}`);
});

// cosign v3 defaults to the new bundle format and a TUF-fetched signing config; a bare signature
// file and no Rekor upload need both switched off (the flags still work but are deprecated/hidden).
function signBlobArgs(key: string, sigOut: string, blob: string): string[] {
  return [
    'sign-blob',
    '--key', key,
    '--new-bundle-format=false',
    '--use-signing-config=false',
    '--tlog-upload=false',
    '--output-signature', sigOut,
    '--yes',
    blob,
  ];
}

function verifyBlobArgs(pub: string, sig: string, blob: string): string[] {
  return ['verify-blob', '--key', pub, '--signature', sig, '--insecure-ignore-tlog=true', blob];
}
