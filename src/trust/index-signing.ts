/**
 * The signed index: index.json carries a version and an expiry, and index.json.sig is a detached
 * ECDSA P-256 signature over its exact bytes (what `cosign sign-blob --output-signature` writes,
 * so stock `cosign verify-blob --signature` checks it). The index-signing key is the store's own,
 * in the worker's configuration; its public half is what customers pin (docs/trust.md).
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { CountersignError } from '../errors';
import { loadSigner } from '../keys/load-signer';
import { keyFingerprint, parsePublicKeyPem } from '../keys/public-key';
import type { Signer } from '../keys/signer';
import type { IndexSigningConfig } from './config';

export const INDEX_SIGNATURE_FILE = 'index.json.sig';
/** The index key's public half, published beside the index for convenience: customers pin their own copy. */
export const INDEX_KEY_FILE = 'index-key.pem';

/** An opened index-signing key: the signer, its fingerprint, how long a signature lasts. */
export interface IndexSigning {
  signer: Signer;
  publicKeyPem: string;
  fingerprint: string;
  expiresMs: number;
}

/** Opens the configured key and checks it is the configured public key (KEY_INVALID otherwise). */
export async function openIndexSigning(config: IndexSigningConfig, env: NodeJS.ProcessEnv): Promise<IndexSigning> {
  const signer = await loadSigner(config.key, config.passwordEnv, env);
  const publicKeyPem = await signer.publicKeyPem();
  const fingerprint = keyFingerprint(publicKeyPem);
  const pinned = keyFingerprint(await fs.readFile(config.publicKey, 'utf8'));
  if (fingerprint !== pinned) {
    throw new CountersignError('KEY_INVALID', `the index key ${config.key} (${fingerprint.slice(0, 16)}) is not the one its publicKey ${config.publicKey} names (${pinned.slice(0, 16)}); refusing to sign the index with it`);
  }
  return { signer, publicKeyPem, fingerprint, expiresMs: config.expiresMs };
}

/** The signature file's text: base64 DER, one line, as cosign writes it. */
export async function signIndexBytes(bytes: Buffer, signing: IndexSigning): Promise<string> {
  return `${(await signing.signer.sign(bytes)).toString('base64')}\n`;
}

/** True when `signatureText` (base64 DER, as in index.json.sig) is the pinned key's signature over `bytes`. */
export function indexSignatureValid(bytes: Buffer, signatureText: string, publicKeyPem: string): boolean {
  try {
    return crypto.verify('sha256', bytes, parsePublicKeyPem(publicKeyPem), Buffer.from(signatureText.trim(), 'base64'));
  } catch {
    return false;
  }
}
