import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { CountersignError } from '../errors';
import { FileSigner } from './file-signer';
import { isKmsRef } from './kms-ref';
import { KmsSigner } from './kms-signer';
import type { Signer } from './signer';

/** Decrypted key files stay in memory this long, so scrypt runs once per key, not per signature. */
export const SIGNER_CACHE_TTL_MS = 5 * 60_000;

const cache = new Map<string, { signer: Signer; expires: number }>();

/** AWS settings a KMS signer is built from; a cached KMS signer is reused only while they are the same. */
const KMS_ENV_VARS = ['COUNTERSIGN_KMS_ENDPOINT', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/**
 * Opens the signer a key reference names. The passphrase is read from the named environment
 * variable here, at the last moment, so it never travels through workflow inputs or history.
 * A cached signer is reused only while the file is unchanged and the passphrase is the same.
 * An `awskms://` reference opens a KmsSigner: a KMS key has no passphrase, so passwordEnv is
 * ignored for it; endpoint, region and credentials come from `env`.
 */
export async function loadSigner(ref: string, passwordEnv: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Signer> {
  if (isKmsRef(ref)) return loadKmsSigner(ref, env);
  if (passwordEnv === undefined) {
    throw new CountersignError('KEY_PASSPHRASE_MISSING', `${ref} is a key file: name the environment variable holding its passphrase (passwordEnv)`);
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
  const signer = await FileSigner.load(path, password).catch((err: unknown) => {
    // Say where the passphrase came from, so the operator knows which variable to fix.
    if (err instanceof CountersignError && err.code === 'KEY_WRONG_PASSPHRASE') {
      throw new CountersignError(err.code, `${err.message.slice(err.code.length + 2)}; the passphrase was read from $${passwordEnv}`, { cause: err, details: { passwordEnv } });
    }
    throw err;
  });
  cache.set(key, { signer, expires: Date.now() + SIGNER_CACHE_TTL_MS });
  return signer;
}

function loadKmsSigner(ref: string, env: NodeJS.ProcessEnv): Signer {
  const key = createHash('sha256')
    .update(JSON.stringify([ref, ...KMS_ENV_VARS.map((v) => env[v] ?? null)]))
    .digest('hex');
  const hit = cache.get(key);
  if (hit && hit.expires > Date.now()) return hit.signer;
  // The signer re-checks the key itself (DescribeKey) once its own check is older than its TTL.
  const signer = new KmsSigner(ref, { env });
  cache.set(key, { signer, expires: Date.now() + SIGNER_CACHE_TTL_MS });
  return signer;
}
