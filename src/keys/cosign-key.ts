/**
 * cosign's password-protected private key file (cosign.key).
 *
 * PEM label "ENCRYPTED SIGSTORE PRIVATE KEY" (cosign < 2 wrote "ENCRYPTED COSIGN PRIVATE KEY");
 * the PEM body is the JSON document of go-securesystemslib's `encrypted` package:
 *
 *   {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<b64>"},
 *    "cipher":{"name":"nacl/secretbox","nonce":"<b64 24 bytes>"},
 *    "ciphertext":"<b64>"}
 *
 * secretbox key = scrypt(password bytes, salt, N, r, p, 32); the plaintext is the PKCS#8 DER of
 * the private key. Byte strings are standard padded base64 (Go's encoding of []byte in JSON).
 * Only the three scrypt parameter sets that library accepts are read, as a guard against a
 * tampered file making us burn unbounded memory or CPU.
 */
import * as crypto from 'node:crypto';
import nacl from 'tweetnacl';
import { CountersignError } from '../errors';
import { decodePem, encodePem, isStdBase64, pemLabels } from './pem';
import { assertP256, P256_CURVE, publicKeyToPem } from './public-key';

export const SIGSTORE_PRIVATE_KEY_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_PRIVATE_KEY_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY';

const KDF_NAME = 'scrypt';
const CIPHER_NAME = 'nacl/secretbox';
const SALT_BYTES = 32;
const KEY_BYTES = 32;
const NONCE_BYTES = nacl.secretbox.nonceLength; // 24
const BOX_OVERHEAD = nacl.secretbox.overheadLength; // 16

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** The parameter sets go-securesystemslib accepts: legacy (2^15), standard (2^16, written by cosign), OWASP (2^17). */
export const ACCEPTED_SCRYPT_PARAMS: readonly ScryptParams[] = [
  { N: 32768, r: 8, p: 1 },
  { N: 65536, r: 8, p: 1 },
  { N: 131072, r: 8, p: 1 },
];
const WRITE_PARAMS: ScryptParams = { N: 65536, r: 8, p: 1 };

function scryptKey(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // Node refuses when 128*N*r*p exceeds maxmem (default 32 MiB); N=2^17, r=8 needs 128 MiB.
  const maxmem = 256 * params.N * params.r * params.p + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    crypto.scrypt(
      Buffer.from(password, 'utf8'),
      salt,
      KEY_BYTES,
      { N: params.N, r: params.r, p: params.p, maxmem },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

function assertPassword(password: unknown): asserts password is string {
  if (typeof password !== 'string') {
    // Never echo the value: it may be a secret of the wrong type.
    throw new CountersignError(
      'KEY_PASSPHRASE_MISSING',
      'a passphrase string is required (use "" explicitly for a key without a passphrase)',
    );
  }
}

function invalid(message: string, cause?: unknown): CountersignError {
  return new CountersignError('KEY_INVALID', message, cause === undefined ? {} : { cause });
}

/** Go's encoding/json matches object keys to struct fields case-insensitively (exact match preferred). */
function field(obj: Record<string, unknown>, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(obj, name)) return obj[name];
  const lower = name.toLowerCase();
  let found: unknown;
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) found = obj[k];
  return found;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bytesField(obj: Record<string, unknown>, name: string, where: string): Buffer {
  const v = field(obj, name);
  if (typeof v !== 'string' || !isStdBase64(v)) {
    throw invalid(`encrypted key: ${where}.${name} must be a standard base64 string`);
  }
  return Buffer.from(v, 'base64');
}

interface EncryptedDoc {
  params: ScryptParams;
  salt: Buffer;
  nonce: Buffer;
  ciphertext: Buffer;
}

function parseEncryptedDoc(body: Buffer): EncryptedDoc {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw invalid('encrypted key: PEM body is not JSON', cause);
  }
  if (!isObject(doc)) throw invalid('encrypted key: PEM body is not a JSON object');

  const kdf = field(doc, 'kdf');
  if (!isObject(kdf)) throw invalid('encrypted key: missing "kdf" object');
  const kdfName = field(kdf, 'name');
  if (kdfName !== KDF_NAME) {
    throw invalid(`encrypted key: unknown kdf ${JSON.stringify(kdfName)} (expected "${KDF_NAME}")`);
  }
  const rawParams = field(kdf, 'params');
  if (!isObject(rawParams)) throw invalid('encrypted key: missing kdf.params object');
  const params = { N: field(rawParams, 'N'), r: field(rawParams, 'r'), p: field(rawParams, 'p') };
  const accepted = ACCEPTED_SCRYPT_PARAMS.find((a) => a.N === params.N && a.r === params.r && a.p === params.p);
  if (!accepted) {
    throw invalid(
      `encrypted key: unsupported scrypt parameters ${JSON.stringify(params)} ` +
        `(accepted: N in {32768, 65536, 131072}, r=8, p=1)`,
    );
  }
  const salt = bytesField(kdf, 'salt', 'kdf');

  const cipher = field(doc, 'cipher');
  if (!isObject(cipher)) throw invalid('encrypted key: missing "cipher" object');
  const cipherName = field(cipher, 'name');
  if (cipherName !== CIPHER_NAME) {
    throw invalid(`encrypted key: unknown cipher ${JSON.stringify(cipherName)} (expected "${CIPHER_NAME}")`);
  }
  const nonce = bytesField(cipher, 'nonce', 'cipher');
  if (nonce.length !== NONCE_BYTES) {
    throw invalid(`encrypted key: cipher.nonce is ${nonce.length} bytes, expected ${NONCE_BYTES}`);
  }
  const ciphertext = bytesField(doc, 'ciphertext', 'document');
  if (ciphertext.length < BOX_OVERHEAD) {
    throw invalid(`encrypted key: ciphertext is ${ciphertext.length} bytes, shorter than the ${BOX_OVERHEAD}-byte MAC`);
  }
  return { params: { ...accepted }, salt, nonce, ciphertext };
}

/**
 * Decrypts a cosign.key. KEY_WRONG_PASSPHRASE when the secretbox does not open (a wrong passphrase,
 * or a ciphertext altered after encryption: the two cannot be told apart); KEY_INVALID for
 * anything malformed or a key that is not ECDSA P-256.
 */
export async function decryptPrivateKey(pem: string, password: string): Promise<crypto.KeyObject> {
  assertPassword(password);
  if (typeof pem !== 'string') throw invalid('encrypted private key must be a PEM string');
  const block = decodePem(pem);
  if (!block) {
    const labels = pemLabels(pem);
    throw invalid(
      labels.length
        ? `malformed PEM block (${labels[0]}); expected "${SIGSTORE_PRIVATE_KEY_LABEL}"`
        : `not PEM: expected "-----BEGIN ${SIGSTORE_PRIVATE_KEY_LABEL}-----"`,
    );
  }
  if (block.label !== SIGSTORE_PRIVATE_KEY_LABEL && block.label !== COSIGN_PRIVATE_KEY_LABEL) {
    const hint =
      block.label === 'PUBLIC KEY'
        ? ' (this is a public key; pass the .key file)'
        : /PRIVATE KEY$/.test(block.label)
          ? ' (not in cosign format; convert it with `cosign import-key-pair`)'
          : '';
    throw new CountersignError(
      'KEY_INVALID',
      `PEM block is "${block.label}", expected "${SIGSTORE_PRIVATE_KEY_LABEL}" or "${COSIGN_PRIVATE_KEY_LABEL}"${hint}`,
      { details: { label: block.label } },
    );
  }

  const doc = parseEncryptedDoc(block.body);
  const boxKey = await scryptKey(password, doc.salt, doc.params);
  let plain: Uint8Array | null;
  try {
    plain = nacl.secretbox.open(doc.ciphertext, doc.nonce, boxKey);
  } finally {
    boxKey.fill(0);
  }
  if (!plain) {
    throw new CountersignError('KEY_WRONG_PASSPHRASE', 'cannot decrypt the private key: wrong passphrase (or the key file was altered)');
  }
  const der = Buffer.from(plain);
  plain.fill(0);
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw invalid('decrypted key is not a PKCS#8 private key', cause);
  } finally {
    der.fill(0);
  }
  assertP256(key, 'private key');
  return key;
}

/** Encrypts an ECDSA P-256 private key into cosign's format (label ENCRYPTED SIGSTORE PRIVATE KEY, N=2^16). */
export async function encryptPrivateKey(key: crypto.KeyObject, password: string): Promise<string> {
  assertPassword(password);
  if (!(key instanceof crypto.KeyObject) || key.type !== 'private') {
    throw invalid('encryptPrivateKey needs a private KeyObject');
  }
  assertP256(key, 'private key');
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const salt = crypto.randomBytes(SALT_BYTES);
  const nonce = crypto.randomBytes(NONCE_BYTES);
  const boxKey = await scryptKey(password, salt, WRITE_PARAMS);
  let ciphertext: Uint8Array;
  try {
    ciphertext = nacl.secretbox(der, nonce, boxKey);
  } finally {
    boxKey.fill(0);
    der.fill(0);
  }
  // Same member order as Go's json.Marshal of the library's structs.
  const json = JSON.stringify({
    kdf: {
      name: KDF_NAME,
      params: { N: WRITE_PARAMS.N, r: WRITE_PARAMS.r, p: WRITE_PARAMS.p },
      salt: salt.toString('base64'),
    },
    cipher: { name: CIPHER_NAME, nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  });
  return encodePem(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from(json, 'utf8'));
}

/** A fresh ECDSA P-256 key pair: cosign.key-format private PEM and SPKI public PEM. */
export async function generateKeyPair(password: string): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  assertPassword(password);
  const { privateKey } = await new Promise<{ privateKey: crypto.KeyObject }>((resolve, reject) =>
    crypto.generateKeyPair('ec', { namedCurve: P256_CURVE }, (err, _pub, priv) =>
      err ? reject(err) : resolve({ privateKey: priv }),
    ),
  );
  const privateKeyPem = await encryptPrivateKey(privateKey, password);
  return { privateKeyPem, publicKeyPem: publicKeyToPem(privateKey) };
}
