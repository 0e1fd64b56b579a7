import * as crypto from 'node:crypto';
import { promises as fs } from 'node:fs';
import { CountersignError } from '../errors';
import { decodePem, pemLabels } from './pem';
import { signatureChecks } from './verification-memo';

/** OpenSSL's name for NIST P-256 (secp256r1), as reported in asymmetricKeyDetails.namedCurve. */
export const P256_CURVE = 'prime256v1';

/**
 * Throws KEY_INVALID unless `key` is an EC key on P-256. `what` names the key in the message
 * ("public key in /x/cosign.pub").
 */
export function assertP256(key: crypto.KeyObject, what: string): void {
  if (key.asymmetricKeyType !== 'ec') {
    throw new CountersignError(
      'KEY_INVALID',
      `${what} has key type ${key.asymmetricKeyType ?? 'unknown'}; countersign needs an ECDSA P-256 key`,
      { details: { keyType: key.asymmetricKeyType } },
    );
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve !== P256_CURVE) {
    throw new CountersignError(
      'KEY_INVALID',
      `${what} is an ECDSA key on curve ${curve ?? 'unknown'}; countersign needs P-256 (prime256v1)`,
      { details: { curve } },
    );
  }
}

/** Parses an SPKI PEM ("-----BEGIN PUBLIC KEY-----") holding an ECDSA P-256 key. */
export function parsePublicKeyPem(pem: string): crypto.KeyObject {
  if (typeof pem !== 'string') {
    throw new CountersignError('KEY_INVALID', 'public key must be a PEM string');
  }
  const block = decodePem(pem);
  if (!block) {
    const labels = pemLabels(pem);
    throw new CountersignError(
      'KEY_INVALID',
      labels.length
        ? `malformed PEM block (${labels[0]}); expected a well-formed "PUBLIC KEY" block`
        : 'not PEM: expected "-----BEGIN PUBLIC KEY-----"',
    );
  }
  if (block.label !== 'PUBLIC KEY') {
    const hint = /PRIVATE KEY/.test(block.label)
      ? ' (this is a private key; pass the .pub file)'
      : block.label === 'CERTIFICATE'
        ? ' (certificates are not accepted; extract the public key)'
        : '';
    throw new CountersignError(
      'KEY_INVALID',
      `PEM block is "${block.label}", expected "PUBLIC KEY"${hint}`,
      { details: { label: block.label } },
    );
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey({ key: block.body, format: 'der', type: 'spki' });
  } catch (cause) {
    throw new CountersignError('KEY_INVALID', 'PUBLIC KEY block does not hold a valid SPKI public key', { cause });
  }
  assertP256(key, 'public key');
  return key;
}

/** How many PEM strings keep their parsed key: a worker checks a handful of keys over and over. */
const PARSED_PEM_CACHE = 64;
const parsedPem = new Map<string, crypto.KeyObject>();

/**
 * parsePublicKeyPem, remembered per PEM string: every layer a verification reads is checked
 * against the same few keys, and parsing (createPublicKey plus the curve check) cost more worker
 * CPU than the signature checks themselves (bench/profile-summary.ts), and every promotion pins the
 * same developer, platform and approver keys again. KeyObjects are immutable; a PEM that does not
 * parse is never remembered (each call throws anew).
 */
export function parsedPublicKey(pem: string): crypto.KeyObject {
  const known = parsedPem.get(pem);
  if (known) return known;
  const key = parsePublicKeyPem(pem);
  if (parsedPem.size >= PARSED_PEM_CACHE) parsedPem.delete(parsedPem.keys().next().value as string);
  parsedPem.set(pem, key);
  return key;
}

function toPublicKeyObject(publicKey: string | crypto.KeyObject): crypto.KeyObject {
  if (typeof publicKey === 'string') return parsedPublicKey(publicKey);
  if (!(publicKey instanceof crypto.KeyObject)) {
    throw new CountersignError('KEY_INVALID', 'public key must be a PEM string or a KeyObject');
  }
  // A private KeyObject carries its public half; never use the private half to verify.
  const pub = publicKey.type === 'private' ? crypto.createPublicKey(publicKey) : publicKey;
  if (pub.type !== 'public') {
    throw new CountersignError('KEY_INVALID', `expected an asymmetric key, got a ${pub.type} key`);
  }
  assertP256(pub, 'public key');
  return pub;
}

/**
 * ECDSA-SHA256 verification of an ASN.1 DER signature over `data` (the digest is computed here).
 * Returns false, never throws, for a wrong or malformed signature (including non-canonical DER,
 * which OpenSSL rejects as Go's crypto/ecdsa does). A bad *key* still throws KEY_INVALID.
 */
export function verifySignature(
  publicKey: string | crypto.KeyObject,
  data: Buffer,
  derSignature: Buffer,
): boolean {
  const key = toPublicKeyObject(publicKey);
  if (!((data as unknown) instanceof Uint8Array)) return false;
  if (!((derSignature as unknown) instanceof Uint8Array)) return false;
  if (derSignature.length === 0) return false;
  // Remembered per process (verification-memo.ts): every step reads the same layers again.
  return signatureChecks.answer(keyFingerprint(key), data, derSignature, () => {
    try {
      return crypto.verify('sha256', data, { key, dsaEncoding: 'der' }, derSignature);
    } catch {
      return false;
    }
  });
}

/** Hex sha256 of the SPKI DER encoding of the public key (a private key yields its public half's). */
export function keyFingerprint(publicKey: string | crypto.KeyObject): string {
  const key = toPublicKeyObject(publicKey);
  let fingerprint = fingerprints.get(key);
  if (fingerprint === undefined) {
    fingerprint = crypto.createHash('sha256').update(key.export({ format: 'der', type: 'spki' })).digest('hex');
    fingerprints.set(key, fingerprint);
  }
  return fingerprint;
}

const fingerprints = new WeakMap<crypto.KeyObject, string>();

/** The SPKI PEM of a (public or private) P-256 key object. */
export function publicKeyToPem(key: crypto.KeyObject): string {
  return toPublicKeyObject(key).export({ format: 'pem', type: 'spki' }).toString();
}

/** Reads and parses a cosign.pub-style file. KEY_MISSING (naming the path) when it is absent. */
export async function loadPublicKeyFile(path: string): Promise<crypto.KeyObject> {
  const text = await readKeyFile(path, 'public key');
  try {
    return parsePublicKeyPem(text);
  } catch (err) {
    if (err instanceof CountersignError) {
      throw new CountersignError(err.code, `${path}: ${stripCode(err)}`, { cause: err, details: { path, ...err.details } });
    }
    throw err;
  }
}

/** Reads a key file as UTF-8, mapping file-system failures to KEY_MISSING / KEY_INVALID. */
export async function readKeyFile(path: string, what: string): Promise<string> {
  if (typeof path !== 'string' || path === '') {
    throw new CountersignError('BAD_INPUT', `${what} path must be a non-empty string`);
  }
  try {
    return await fs.readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CountersignError('KEY_MISSING', `${what} file not found: ${path}`, { cause, details: { path } });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new CountersignError('KEY_MISSING', `${what} file is not readable (permission denied): ${path}`, {
        cause,
        details: { path },
      });
    }
    if (code === 'EISDIR') {
      throw new CountersignError('KEY_INVALID', `${what} path is a directory, not a key file: ${path}`, {
        cause,
        details: { path },
      });
    }
    throw new CountersignError('INTERNAL', `cannot read ${what} file ${path}: ${code ?? String(cause)}`, {
      cause,
      details: { path },
    });
  }
}

/** The message of a CountersignError without its "CODE: " prefix. */
export function stripCode(err: CountersignError): string {
  const prefix = `${err.code}: `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}
