/**
 * Property tests of OpenPGP keyrings and key files from outside: edits of the real binary and
 * armored keyrings and of the secret key are read or refused with KEYRING_INVALID /
 * KEYRING_ARMORED / INPUT_TOO_LARGE (keys: KEY_INVALID / KEY_PASSPHRASE_MISSING), and a keyring
 * written by publicKeyring reads back to the same keys.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { publicKeyring, readKeyring, readSigningKey } from '../../src/helm/pgp-key';
import { applyByteEdits, byteEdits, fuzzParams, parsesOrRefusesAsync } from '../support/fuzz';
import { vector } from './helpers';

const KEYRING_ALLOWED = ['KEYRING_INVALID', 'KEYRING_ARMORED', 'INPUT_TOO_LARGE'];

test('round trip: a keyring of any of the vector keys, repeated, reads back to the same fingerprints', async () => {
  const [key] = await readKeyring(await vector('keyring.gpg'));
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 5 }), async (n) => {
      const keys = await readKeyring(publicKeyring(Array.from({ length: n }, () => key!)));
      assert.deepEqual(keys.map((k) => k.getFingerprint()), Array(n).fill(key!.getFingerprint()));
    }),
    fuzzParams(20),
  );
});

test('edits of the real keyrings (binary and armored): read or refused', async () => {
  const seeds = [await vector('keyring.gpg'), await vector('keyring.asc')];
  await fc.assert(
    fc.asyncProperty(fc.nat(), byteEdits, fc.boolean(), async (which, edits, allowArmored) => {
      const keys = await parsesOrRefusesAsync(() => readKeyring(applyByteEdits(seeds[which % seeds.length]!, edits), 'keyring', { allowArmored }), KEYRING_ALLOWED);
      if (keys) assert.ok(keys.length >= 1 && keys.every((k) => !k.isPrivate()));
    }),
    fuzzParams(2000),
  );
});

test('edits of the real secret key: read (then asking for its passphrase) or refused', async () => {
  const seed = await vector('test-key.asc');
  await fc.assert(
    fc.asyncProperty(byteEdits, async (edits) => {
      await parsesOrRefusesAsync(() => readSigningKey(applyByteEdits(seed, edits), undefined), ['KEY_INVALID', 'KEY_PASSPHRASE_MISSING', 'INPUT_TOO_LARGE']);
    }),
    fuzzParams(1000),
  );
});
