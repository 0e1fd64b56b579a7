/**
 * pinKey reads a target's public key for the plan: the PEM as it is, its fingerprint, and a clear
 * refusal for a file that is missing or holds no P-256 public key.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { hasCode } from '../../src/errors';
import { keyFingerprint } from '../../src/keys/public-key';
import { pinKey } from '../../src/promotion/pin-keys';

test('pinKey pins the PEM and its fingerprint; a missing file is KEY_MISSING, a private key or another curve KEY_INVALID', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-pin-keys-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const pinned = await pinKey({ publicKey: write('platform.pub', pem), passwordEnv: 'X' } as Parameters<typeof pinKey>[0], 'platform');
  assert.equal(pinned.publicKeyPem, pem);
  assert.equal(pinned.fingerprint, keyFingerprint(publicKey));

  const refused = async (file: string, code: 'KEY_MISSING' | 'KEY_INVALID', message: RegExp) =>
    assert.rejects(pinKey({ publicKey: file, passwordEnv: 'X' } as Parameters<typeof pinKey>[0], 'platform'), (e: Error) => hasCode(e, code) && message.test(e.message));
  await refused(path.join(dir, 'absent.pub'), 'KEY_MISSING', /platform public key .*absent\.pub not found/);
  await refused(write('private.pub', privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()), 'KEY_INVALID', /PRIVATE KEY/);
  const p384 = crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
  await refused(write('p384.pub', p384), 'KEY_INVALID', /secp384r1/);
});
