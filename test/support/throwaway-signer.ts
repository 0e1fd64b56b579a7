import crypto from 'node:crypto';
import type { Signer } from '../../src/keys/signer';

/** A fresh in-memory P-256 key, for tests that need "some other key" than the committed ones. */
export function throwawaySigner(keyRef = 'throwaway'): Signer & { publicKey: string } {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const publicKey = crypto.createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
  return {
    keyRef,
    publicKey,
    sign: async (data) => crypto.sign('sha256', data, { key: privateKey, dsaEncoding: 'der' }),
    publicKeyPem: async () => publicKey,
  };
}
