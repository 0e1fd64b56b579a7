import fs from 'node:fs/promises';
import path from 'node:path';
import type { KeyPin } from '../promotion/plan';
import { CountersignError } from '../errors';
import { keyFingerprint } from '../keys/public-key';
import type { TrustConfig } from './config';
import { TrustStore } from './store';

/**
 * The key a promotion will sign with: the trust store's active cosign key at start, with its
 * private reference and where the worker re-reads its status right before signing.
 */
export async function pinTrustedKey(trust: TrustConfig): Promise<KeyPin> {
  const store = new TrustStore(trust);
  const key = await store.active('cosign');
  const secret = await store.privateRef(key.id);
  const pem = await fs.readFile(path.join(trust.publishDir, key.file), 'utf8');
  if (keyFingerprint(pem) !== key.fingerprint) {
    throw new CountersignError('KEY_INVALID', `${key.file} does not match the fingerprint the index gives for ${key.id}`);
  }
  return {
    ref: secret.ref,
    passwordEnv: secret.passwordEnv ?? '',
    publicKeyPem: pem,
    fingerprint: key.fingerprint,
    trust: { publishDir: trust.publishDir, keyId: key.id },
  };
}
