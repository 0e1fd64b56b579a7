/**
 * The OpenPGP key that signs `.prov` files, and the public keyring `helm verify` reads.
 *
 * Helm's keyring is binary OpenPGP packets only (no ASCII armor, no GnuPG `.kbx`), and its key
 * needs a user ID and the sign flag. New keys are RSA 4096, v4 (older Helm, built on
 * golang.org/x/crypto/openpgp, reads neither EdDSA nor v6 keys), dated to the second they were
 * made, never later.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { CountersignError } from '../errors';

export const DEFAULT_RSA_BITS = 4096;
export const ARMOR_PREFIX = '-----BEGIN PGP';
/**
 * A keyring as read (docs/limits.md): one RSA-4096 key is about 1.5 kB, a key carrying years of
 * third-party certifications a few hundred kB; this holds hundreds of such keys.
 */
export const DEFAULT_KEYRING_MAX_BYTES = 4 * 1024 * 1024;
/** Keys in one keyring; each is tried against a signature, so their number stays small. */
export const DEFAULT_KEYRING_MAX_KEYS = 256;
/** A secret key file: an armored RSA-4096 secret key is under 8 kB. */
export const DEFAULT_SIGNING_KEY_MAX_BYTES = 1024 * 1024;

function assertSize(data: Buffer, limit: number, what: string): void {
  if (data.length > limit) {
    throw new CountersignError('INPUT_TOO_LARGE', `${what} is ${data.length} bytes, over the limit of ${limit}`, { details: { bytes: data.length, limit } });
  }
}

export interface KeyInfo {
  /** Upper-case hex v4 fingerprint (40 characters). */
  fingerprint: string;
  keyId: string;
  userIds: string[];
  algorithm: string;
  created: string;
}

export function keyInfo(key: openpgp.Key): KeyInfo {
  const alg = key.getAlgorithmInfo();
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    keyId: key.getKeyID().toHex().toUpperCase(),
    userIds: key.getUserIDs(),
    algorithm: alg.bits ? `${alg.algorithm} ${alg.bits}` : `${alg.algorithm}${alg.curve ? ` ${alg.curve}` : ''}`,
    created: key.getCreationTime().toISOString(),
  };
}

function isArmored(data: Buffer): boolean {
  return data.subarray(0, 200).toString('latin1').trimStart().startsWith(ARMOR_PREFIX);
}

/**
 * Opens a secret key (armored or binary) and decrypts it with `passphrase` when it is protected.
 * KEY_INVALID when it cannot sign or has no user ID; KEY_PASSPHRASE_MISSING / KEY_WRONG_PASSPHRASE.
 */
export async function readSigningKey(data: Buffer, passphrase: string | undefined, what = 'OpenPGP key'): Promise<openpgp.PrivateKey> {
  assertSize(data, DEFAULT_SIGNING_KEY_MAX_BYTES, what);
  let key: openpgp.PrivateKey;
  try {
    key = isArmored(data)
      ? await openpgp.readPrivateKey({ armoredKey: data.toString('utf8') })
      : await openpgp.readPrivateKey({ binaryKey: new Uint8Array(data) });
  } catch (cause) {
    throw new CountersignError('KEY_INVALID', `${what} is not an OpenPGP secret key: ${(cause as Error).message}`, { cause });
  }
  if (!key.isDecrypted()) {
    if (passphrase === undefined) throw new CountersignError('KEY_PASSPHRASE_MISSING', `${what} is passphrase-protected and no passphrase was given`);
    try {
      key = await openpgp.decryptKey({ privateKey: key, passphrase });
    } catch (cause) {
      throw new CountersignError('KEY_WRONG_PASSPHRASE', `cannot decrypt ${what}: wrong passphrase`, { cause });
    }
  }
  await assertCanSign(key, what);
  return key;
}

async function assertCanSign(key: openpgp.PrivateKey, what: string): Promise<void> {
  if (key.getUserIDs().length === 0) throw new CountersignError('KEY_INVALID', `${what} has no user ID; Helm refuses such keys`);
  try {
    await key.getSigningKey();
  } catch (cause) {
    throw new CountersignError('KEY_INVALID', `${what} ${key.getFingerprint().toUpperCase()} cannot sign: ${(cause as Error).message}`, { cause });
  }
}

/** Reads a key file (path in errors, never the passphrase). */
export async function loadSigningKey(file: string, passphrase: string | undefined): Promise<openpgp.PrivateKey> {
  let data: Buffer;
  try {
    data = await fsp.readFile(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'KEY_MISSING' : 'KEY_INVALID';
    throw new CountersignError(code, `cannot read OpenPGP key ${file}: ${(cause as Error).message}`, { cause, details: { path: file } });
  }
  return readSigningKey(data, passphrase, `OpenPGP key ${file}`);
}

export interface GenerateOptions {
  /** User ID name, e.g. "Acme Charts". */
  name: string;
  email?: string;
  passphrase: string;
  rsaBits?: number;
  /** Creation time; defaults to now. Refused when in the future. */
  date?: Date;
}

export interface GeneratedKey {
  /** Armored secret key, encrypted with the passphrase. */
  privateKeyArmored: string;
  /** Binary transferable public key: the keyring Helm reads. */
  publicKeyring: Buffer;
  info: KeyInfo;
}

/** An RSA v4 primary key with a user ID and the sign and certify flags. */
export async function generateSigningKey(opts: GenerateOptions): Promise<GeneratedKey> {
  if (!opts.name || opts.name.trim() === '') throw new CountersignError('BAD_INPUT', 'the key needs a user ID name');
  const now = Date.now();
  const date = new Date(Math.floor((opts.date?.getTime() ?? now) / 1000) * 1000);
  if (date.getTime() > now) throw new CountersignError('BAD_INPUT', `key creation time ${date.toISOString()} is in the future; Helm would refuse signatures by it`);
  const { privateKey } = await openpgp.generateKey({
    type: 'rsa',
    rsaBits: opts.rsaBits ?? DEFAULT_RSA_BITS,
    userIDs: [{ name: opts.name.trim(), ...(opts.email ? { email: opts.email } : {}) }],
    passphrase: opts.passphrase,
    date,
    format: 'object',
    // Sign and certify only, as `gpg --quick-generate-key ... sign,cert`: no encryption subkey.
    subkeys: [],
    config: { v6Keys: false },
  });
  return { privateKeyArmored: privateKey.armor(), publicKeyring: publicKeyring([privateKey]), info: keyInfo(privateKey) };
}

/** Binary keyring (concatenated transferable public keys), as `gpg --export` writes it. */
export function publicKeyring(keys: openpgp.Key[]): Buffer {
  return Buffer.concat(keys.map((k) => Buffer.from(k.toPublic().write())));
}

/** `keyring-YYYY-MM-DD-<FINGERPRINT>.gpg`, dated by the key's creation (UTC). */
export function keyringFileName(key: openpgp.Key | KeyInfo): string {
  const info = 'fingerprint' in key ? key : keyInfo(key);
  return `keyring-${info.created.slice(0, 10)}-${info.fingerprint}.gpg`;
}

export interface ReadKeyringOptions {
  /** Accept ASCII-armored keyrings too. Off by default: `helm verify` refuses them. */
  allowArmored?: boolean;
}

/**
 * Public keys from a keyring. Binary only unless allowArmored, so a keyring that passes here
 * also works with `helm verify`. KEYRING_ARMORED / KEYRING_INVALID say how to fix it.
 */
export async function readKeyring(data: Buffer, what = 'keyring', options: ReadKeyringOptions = {}): Promise<openpgp.PublicKey[]> {
  if (data.length === 0) throw new CountersignError('KEYRING_INVALID', `${what} is empty`);
  assertSize(data, DEFAULT_KEYRING_MAX_BYTES, what);
  if (data.length >= 12 && data.subarray(8, 12).toString('latin1') === 'KBXf') {
    throw new CountersignError('KEYRING_INVALID', `${what} is a GnuPG keybox (.kbx), which Helm cannot read; export a binary keyring with \`gpg --export <KEYID> > keyring.gpg\``);
  }
  let keys: openpgp.Key[];
  try {
    if (isArmored(data)) {
      if (!options.allowArmored) {
        throw new CountersignError('KEYRING_ARMORED', `${what} is ASCII-armored; Helm reads binary keyrings only. Convert it with \`gpg --dearmor < ${path.basename(what)} > keyring.gpg\``);
      }
      keys = await openpgp.readKeys({ armoredKeys: data.toString('utf8') });
    } else {
      keys = await openpgp.readKeys({ binaryKeys: new Uint8Array(data) });
    }
  } catch (cause) {
    if (cause instanceof CountersignError) throw cause;
    throw new CountersignError('KEYRING_INVALID', `${what} is not an OpenPGP keyring: ${(cause as Error).message}`, { cause });
  }
  if (keys.length === 0) throw new CountersignError('KEYRING_INVALID', `${what} holds no keys`);
  if (keys.length > DEFAULT_KEYRING_MAX_KEYS) {
    throw new CountersignError('INPUT_TOO_LARGE', `${what} holds ${keys.length} keys, more than the ${DEFAULT_KEYRING_MAX_KEYS} read`, {
      details: { count: keys.length, limit: DEFAULT_KEYRING_MAX_KEYS },
    });
  }
  return keys.map((k) => k.toPublic());
}

/** Writes the binary public keyring into `dir` under its published name; returns the path. */
export async function publishKeyring(dir: string, key: openpgp.Key): Promise<string> {
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, keyringFileName(key));
  const tmp = `${file}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, publicKeyring([key]));
  await fsp.rename(tmp, file);
  return file;
}
