import * as crypto from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CountersignError } from '../errors';
import { decryptPrivateKey, generateKeyPair } from './cosign-key';
import { publicKeyToPem, readKeyFile, stripCode } from './public-key';
import type { Signer } from './signer';

/** A Signer backed by a cosign.key file, decrypted once at load and held only in memory. */
export class FileSigner implements Signer {
  readonly keyRef: string;
  readonly #key: crypto.KeyObject;
  readonly #publicKeyPem: string;

  private constructor(keyRef: string, key: crypto.KeyObject) {
    this.keyRef = keyRef;
    this.#key = key;
    this.#publicKeyPem = publicKeyToPem(key);
  }

  /**
   * Reads and decrypts a cosign.key. KEY_MISSING (naming the path) when the file is absent;
   * KEY_WRONG_PASSPHRASE / KEY_INVALID from decryption otherwise, prefixed with the path.
   */
  static async load(keyPath: string, password: string): Promise<FileSigner> {
    const text = await readKeyFile(keyPath, 'private key');
    const ref = path.resolve(keyPath);
    try {
      return new FileSigner(ref, await decryptPrivateKey(text, password));
    } catch (err) {
      if (err instanceof CountersignError) {
        throw new CountersignError(err.code, `${ref}: ${stripCode(err)}`, {
          cause: err,
          details: { ...err.details, path: ref },
        });
      }
      throw err;
    }
  }

  sign(data: Buffer): Promise<Buffer> {
    if (!((data as unknown) instanceof Uint8Array)) {
      return Promise.reject(new CountersignError('BAD_INPUT', 'sign() needs a Buffer'));
    }
    return new Promise((resolve, reject) =>
      crypto.sign('sha256', data, { key: this.#key, dsaEncoding: 'der' }, (err, sig) =>
        err ? reject(new CountersignError('INTERNAL', `signing with ${this.keyRef} failed`, { cause: err })) : resolve(sig),
      ),
    );
  }

  publicKeyPem(): Promise<string> {
    return Promise.resolve(this.#publicKeyPem);
  }

  /** Logs and JSON show only the reference, never key material. */
  toJSON(): { keyRef: string } {
    return { keyRef: this.keyRef };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `FileSigner(${this.keyRef})`;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function writeFileMode(file: string, content: string, mode: number, force: boolean): Promise<void> {
  if (!force) {
    // 'wx' fails if the file appeared after our existence check: never clobber.
    try {
      await fs.writeFile(file, content, { mode, flag: 'wx' });
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CountersignError('BAD_INPUT', `refusing to overwrite existing file ${file} (use force)`, {
          cause,
          details: { path: file },
        });
      }
      throw cause;
    }
    await fs.chmod(file, mode);
    return;
  }
  // Forced: write a private temp file and rename over, so the target is never half-written
  // and never readable by others, whatever the mode of the file it replaces.
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  try {
    await fs.writeFile(tmp, content, { mode, flag: 'wx' });
    await fs.chmod(tmp, mode);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Generates a P-256 key pair and writes `<dir>/<prefix>.key` (cosign format, mode 0600) and
 * `<dir>/<prefix>.pub` (SPKI PEM, mode 0644). Creates `dir` if needed. BAD_INPUT, and nothing
 * written, when either file exists and `force` is not set.
 */
export async function writeKeyPair(
  dir: string,
  prefix: string,
  password: string,
  opts: { force?: boolean } = {},
): Promise<{ privateKeyPath: string; publicKeyPath: string }> {
  if (typeof dir !== 'string' || dir === '') throw new CountersignError('BAD_INPUT', 'key directory must be a non-empty string');
  if (typeof prefix !== 'string' || prefix === '' || /[/\\]/.test(prefix) || prefix === '.' || prefix === '..') {
    throw new CountersignError('BAD_INPUT', `key prefix must be a plain file name, got ${JSON.stringify(prefix)}`);
  }
  const force = opts.force === true;
  const privateKeyPath = path.join(dir, `${prefix}.key`);
  const publicKeyPath = path.join(dir, `${prefix}.pub`);
  if (!force) {
    for (const p of [privateKeyPath, publicKeyPath]) {
      if (await exists(p)) {
        throw new CountersignError('BAD_INPUT', `refusing to overwrite existing file ${p} (use force)`, {
          details: { path: p },
        });
      }
    }
  }
  const pair = await generateKeyPair(password);
  await fs.mkdir(dir, { recursive: true });
  await writeFileMode(privateKeyPath, pair.privateKeyPem, 0o600, force);
  try {
    await writeFileMode(publicKeyPath, pair.publicKeyPem, 0o644, force);
  } catch (err) {
    // Do not leave a private key without its public half.
    await fs.rm(privateKeyPath, { force: true });
    throw err;
  }
  return { privateKeyPath, publicKeyPath };
}
