/**
 * The seal key every worker of a deployment shares (src/seal/seal.ts). By default it is a file
 * beside the worker's configuration, created on first start (32 random bytes, mode 0600, created
 * exclusively so workers starting together agree on one). `seal.keyFile` names another file (a
 * mounted secret on Kubernetes); `seal.previousKeyFiles` keeps old keys for checking only, so a
 * key can be replaced while promotions wait at the gate.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CountersignError } from '../errors';

export const DEFAULT_SEAL_KEY_FILE = 'countersign-seal.key';
const KEY_BYTES = 32;

export interface SealKeyConfig {
  /** Absolute path of the key that seals. */
  keyFile: string;
  /** Absolute paths of earlier keys that still check seals. */
  previousKeyFiles: string[];
  /** True when no seal.keyFile was configured: the worker may create the default file. */
  isDefault: boolean;
}

export interface SealKey {
  /** First 8 bytes of sha256(key), hex: names the key in a seal without revealing it. */
  id: string;
  key: Buffer;
}

export interface SealKeyring {
  current: SealKey;
  byId(id: string): Buffer | undefined;
  ids(): string[];
}

export function sealKeyId(key: Buffer): string {
  return crypto.createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** Reads a key file: 32 bytes as 64 hex characters (a trailing newline is fine). */
export function readSealKey(file: string): SealKey {
  let text: string;
  try {
    if (fs.statSync(file).size > 1024) throw new CountersignError('SEAL_KEY_MISSING', `seal key ${file} is larger than 1 KiB: it is not a seal key`);
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    throw new CountersignError('SEAL_KEY_MISSING', `cannot read seal key ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new CountersignError('SEAL_KEY_MISSING', `seal key ${file} is not ${KEY_BYTES} bytes written as ${KEY_BYTES * 2} hex characters`);
  const key = Buffer.from(text, 'hex');
  return { id: sealKeyId(key), key };
}

/** Writes a new random key to `file` (refusing to replace one), mode 0600. */
export function createSealKeyFile(file: string): SealKey {
  const key = crypto.randomBytes(KEY_BYTES);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${key.toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  return { id: sealKeyId(key), key };
}

/**
 * The worker's keyring. The default file is created when missing; a configured one must exist
 * (a missing mounted secret is a deployment error, not something to paper over with a new key
 * that no other worker holds).
 */
export function loadSealKeyring(config: SealKeyConfig): SealKeyring {
  let current: SealKey;
  if (config.isDefault && !fs.existsSync(config.keyFile)) {
    try {
      current = createSealKeyFile(config.keyFile);
    } catch (err) {
      // Another worker created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') current = readSealKey(config.keyFile);
      else {
        throw new CountersignError(
          'SEAL_KEY_MISSING',
          `no seal key at ${config.keyFile} and it cannot be created there (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ` +
            'set seal.keyFile to a key every worker shares (create one with `openssl rand -hex 32`)',
        );
      }
    }
  } else {
    current = readSealKey(config.keyFile);
  }
  const keys = new Map<string, Buffer>([[current.id, current.key]]);
  for (const file of config.previousKeyFiles) {
    const previous = readSealKey(file);
    keys.set(previous.id, previous.key);
  }
  return { current, byId: (id) => keys.get(id), ids: () => [...keys.keys()] };
}
