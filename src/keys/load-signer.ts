import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { CountersignError } from '../errors';
import { FileSigner } from './file-signer';
import type { Signer } from './signer';

/** Decrypted key files stay in memory this long, so scrypt runs once per key, not per signature. */
export const SIGNER_CACHE_TTL_MS = 5 * 60_000;

const cache = new Map<string, { signer: Signer; expires: number }>();

/**
 * Opens the signer a key reference names. The passphrase is read from the named environment
 * variable here, at the last moment, so it never travels through workflow inputs or history.
 * A cached signer is reused only while the file is unchanged and the passphrase is the same.
 */
export async function loadSigner(ref: string, passwordEnv: string, env: NodeJS.ProcessEnv = process.env): Promise<Signer> {
  if (ref.startsWith('awskms://')) {
    throw new CountersignError('KEY_INVALID', `${ref}: AWS KMS keys are not supported by this build yet; use a cosign key file`);
  }
  const path = ref.replace(/^file:\/\//, '');
  const password = env[passwordEnv];
  if (password === undefined) {
    throw new CountersignError('KEY_PASSPHRASE_MISSING', `the passphrase for ${path} is read from $${passwordEnv}, which is not set in the worker's environment`);
  }
  const stat = await fs.stat(path).catch(() => undefined);
  if (!stat) return FileSigner.load(path, password); // reports KEY_MISSING with the path
  const key = createHash('sha256').update(`${path}\0${stat.size}\0${stat.mtimeMs}\0${password}`).digest('hex');
  const hit = cache.get(key);
  if (hit && hit.expires > Date.now()) return hit.signer;
  const signer = await FileSigner.load(path, password);
  cache.set(key, { signer, expires: Date.now() + SIGNER_CACHE_TTL_MS });
  return signer;
}
