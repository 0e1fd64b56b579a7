import fs from 'node:fs/promises';
import type { KeyConfig } from '../config';
import { CountersignError } from '../errors';
import { keyFingerprint } from '../keys/public-key';
import { pinTrustedKey } from '../trust/pin';
import type { KeyPin } from './plan';

/**
 * The key a run will sign or verify with, from the worker's configuration: the public key is read
 * and fingerprinted now (pinned), the private key stays a reference the signing step opens.
 */
export async function pinKey(key: KeyConfig, role: string): Promise<KeyPin> {
  if (key.trust) return pinTrustedKey(key.trust);
  let pem: string;
  try {
    pem = await fs.readFile(key.publicKey, 'utf8');
  } catch {
    throw new CountersignError('KEY_MISSING', `${role} public key ${key.publicKey} not found`);
  }
  // keyFingerprint parses the PEM (once per worker) and refuses one that is not a P-256 public key (KEY_INVALID).
  return { ref: key.key, passwordEnv: key.passwordEnv, publicKeyPem: pem, fingerprint: keyFingerprint(pem) };
}
