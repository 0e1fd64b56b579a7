/**
 * Sigstore bundles as cosign v3 writes and reads them: a DSSE envelope (images, attestations) or
 * a message signature (blobs). countersign signs with a key (`publicKey.hint`, offline, no
 * transparency-log entry) and reads keyless bundles too (a Fulcio certificate, log entries,
 * timestamps), which src/sigstore/keyless.ts verifies. sigstore-js builds the bundles and checks
 * their structure; the strict field check and the key signature check are ours (see
 * docs/cosign-interop.md).
 */
import { createHash } from 'node:crypto';
import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  assertBundle,
  bundleFromJSON,
  bundleToJSON,
  type SerializedBundle,
} from '@sigstore/bundle';
import { DSSEBundleBuilder, MessageSignatureBundleBuilder, type Signer as SigstoreSigner } from '@sigstore/sign';
import type { KeyObject } from 'node:crypto';
import { parseJsonBounded } from '../bounded-json';
import { DEFAULT_DSSE_MAX_ENVELOPE_BYTES, DEFAULT_DSSE_MAX_PAYLOAD_TYPE_BYTES, DEFAULT_DSSE_MAX_SIGNATURES, preAuthEncoding } from '../dsse/envelope';
import { CountersignError } from '../errors';
import { keyFingerprint, verifySignature } from '../keys/public-key';
import type { Signer } from '../keys/signer';
import { EvidenceError, looksLikeDerSignature } from './problems';

export { BUNDLE_V03_MEDIA_TYPE };
export type { SerializedBundle };

/** A bundle is a DSSE envelope plus a few hundred bytes of key material: the envelope's limit, with room. */
export const DEFAULT_BUNDLE_MAX_BYTES = DEFAULT_DSSE_MAX_ENVELOPE_BYTES + 64 * 1024;

const ACCEPTED_MEDIA_TYPES = new Set([BUNDLE_V03_MEDIA_TYPE, BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE, BUNDLE_V01_MEDIA_TYPE]);
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** cosign's key hint: standard base64 of sha256 over the SPKI DER of the public key. */
export function keyHint(publicKeyPem: string | KeyObject): string {
  return Buffer.from(keyFingerprint(publicKeyPem), 'hex').toString('base64');
}

/** Adapts countersign's Signer to sigstore-js: the key travels as a bare public key with its hint. */
function sigstoreSigner(signer: Signer): SigstoreSigner {
  return {
    async sign(data: Buffer) {
      const publicKey = await signer.publicKeyPem();
      return { signature: await signer.sign(data), key: { $case: 'publicKey', publicKey, hint: keyHint(publicKey) } };
    },
  };
}

/** A v0.3 bundle holding a DSSE envelope over `payload`, keyid left out as cosign v3 requires. */
export async function createDsseBundle(payload: Buffer, payloadType: string, signer: Signer): Promise<SerializedBundle> {
  // sigstore's bundle check (and so parseBundle) refuses an empty payload: never write one.
  if (payload.length === 0) throw new CountersignError('BAD_INPUT', 'a DSSE bundle needs a non-empty payload');
  const bundle = await new DSSEBundleBuilder({ signer: sigstoreSigner(signer), witnesses: [] }).create({ data: payload, type: payloadType });
  const json = tidy(bundleToJSON(bundle));
  // sigstore-js puts the hint in keyid; sigstore-go then skips the signature for a bare key.
  for (const s of json.dsseEnvelope!.signatures) delete (s as { keyid?: string }).keyid;
  return json;
}

/** A v0.3 bundle holding a signature over sha256(data): what `cosign sign-blob --bundle` writes. */
export async function createMessageBundle(data: Buffer, signer: Signer): Promise<SerializedBundle> {
  const bundle = await new MessageSignatureBundleBuilder({ signer: sigstoreSigner(signer), witnesses: [] }).create({ data });
  return { ...tidy(bundleToJSON(bundle)), mediaType: BUNDLE_V03_MEDIA_TYPE };
}

/** Drops the empty timestamp block sigstore-js adds, so our bundles read like cosign's. */
function tidy(json: SerializedBundle): SerializedBundle {
  const material = json.verificationMaterial as Record<string, unknown>;
  const tvd = material.timestampVerificationData as { rfc3161Timestamps?: unknown[] } | undefined;
  if (tvd && (tvd.rfc3161Timestamps ?? []).length === 0) delete material.timestampVerificationData;
  if (Array.isArray(material.tlogEntries) && material.tlogEntries.length === 0) delete material.tlogEntries;
  return json;
}

const KNOWN_FIELDS: Record<string, readonly string[]> = {
  bundle: ['mediaType', 'verificationMaterial', 'dsseEnvelope', 'messageSignature'],
  verificationMaterial: ['publicKey', 'x509CertificateChain', 'certificate', 'tlogEntries', 'timestampVerificationData'],
  publicKey: ['hint'],
  dsseEnvelope: ['payload', 'payloadType', 'signatures'],
  signature: ['sig', 'keyid'],
  messageSignature: ['messageDigest', 'signature'],
  messageDigest: ['algorithm', 'digest'],
  timestampVerificationData: ['rfc3161Timestamps'],
};

/** The named fields, where present, are strings (protojson's string, bytes and enum fields). */
function checkStrings(value: Record<string, unknown>, fields: readonly string[], at: string, problems: string[]): void {
  for (const field of fields) if (value[field] !== undefined && typeof value[field] !== 'string') problems.push(`${at}.${field} is not a string`);
}

function checkFields(value: unknown, kind: string, at: string, problems: string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${at} is not an object`);
    return {};
  }
  for (const key of Object.keys(value)) if (!KNOWN_FIELDS[kind].includes(key)) problems.push(`unknown field ${at}.${key}`);
  return value as Record<string, unknown>;
}

/**
 * Parses bundle JSON as strictly as sigstore-go's protojson does: an unknown field anywhere we
 * read is refused, as is anything sigstore-js's own validation refuses.
 */
export function parseBundle(data: Buffer | string): SerializedBundle {
  let raw: unknown;
  try {
    raw = parseJsonBounded(data, { what: 'bundle', maxBytes: DEFAULT_BUNDLE_MAX_BYTES, code: 'SIGNATURE_INVALID' });
  } catch (err) {
    if (err instanceof CountersignError && err.code === 'SIGNATURE_INVALID') throw new EvidenceError('MALFORMED', 'bundle is not JSON');
    throw err;
  }
  const problems: string[] = [];
  const top = checkFields(raw, 'bundle', 'bundle', problems);
  if (typeof top.mediaType !== 'string' || !ACCEPTED_MEDIA_TYPES.has(top.mediaType)) {
    problems.push(`mediaType ${JSON.stringify(top.mediaType)?.slice(0, 100)} is not a sigstore bundle`);
  }
  const material = checkFields(top.verificationMaterial, 'verificationMaterial', 'verificationMaterial', problems);
  if (material.publicKey !== undefined) checkStrings(checkFields(material.publicKey, 'publicKey', 'verificationMaterial.publicKey', problems), ['hint'], 'verificationMaterial.publicKey', problems);
  // protojson reads null as "not set"; sigstore-js 1.x wrote it so (npm provenance of 2023).
  if (material.timestampVerificationData === null) delete material.timestampVerificationData;
  if (material.timestampVerificationData !== undefined) {
    checkFields(material.timestampVerificationData, 'timestampVerificationData', 'verificationMaterial.timestampVerificationData', problems);
  }
  if (top.dsseEnvelope !== undefined) {
    const env = checkFields(top.dsseEnvelope, 'dsseEnvelope', 'dsseEnvelope', problems);
    checkStrings(env, ['payload', 'payloadType'], 'dsseEnvelope', problems);
    if (env.payload === undefined || env.payload === '') problems.push('dsseEnvelope.payload is missing');
    // Node's decoder skips what is not base64, so a quote in the payload would go unnoticed (found by fuzzing).
    else if (typeof env.payload === 'string' && !BASE64.test(env.payload)) problems.push('dsseEnvelope.payload is not base64');
    if (env.payloadType === undefined || env.payloadType === '') problems.push('dsseEnvelope.payloadType is missing');
    if (typeof env.payloadType === 'string' && Buffer.byteLength(env.payloadType) > DEFAULT_DSSE_MAX_PAYLOAD_TYPE_BYTES) {
      problems.push(`dsseEnvelope.payloadType is longer than ${DEFAULT_DSSE_MAX_PAYLOAD_TYPE_BYTES} bytes`);
    }
    if (env.signatures !== undefined && !Array.isArray(env.signatures)) problems.push('dsseEnvelope.signatures is not a list');
    else if (Array.isArray(env.signatures)) {
      if (env.signatures.length > DEFAULT_DSSE_MAX_SIGNATURES) {
        throw new CountersignError('INPUT_TOO_LARGE', `bundle carries ${env.signatures.length} signatures, more than the ${DEFAULT_DSSE_MAX_SIGNATURES} read`, {
          details: { count: env.signatures.length, limit: DEFAULT_DSSE_MAX_SIGNATURES },
        });
      }
      env.signatures.forEach((s, i) => checkStrings(checkFields(s, 'signature', `dsseEnvelope.signatures[${i}]`, problems), ['sig', 'keyid'], `dsseEnvelope.signatures[${i}]`, problems));
    }
  }
  if (top.messageSignature !== undefined) {
    const msg = checkFields(top.messageSignature, 'messageSignature', 'messageSignature', problems);
    checkStrings(msg, ['signature'], 'messageSignature', problems);
    if (msg.messageDigest !== undefined) checkStrings(checkFields(msg.messageDigest, 'messageDigest', 'messageSignature.messageDigest', problems), ['algorithm', 'digest'], 'messageSignature.messageDigest', problems);
  }
  if (problems.length > 0) throw new EvidenceError('MALFORMED', `bundle: ${problems.join('; ')}`);
  const keys = ['publicKey', 'certificate', 'x509CertificateChain'].filter((k) => material[k] !== undefined);
  if (keys.length !== 1) throw new EvidenceError('MALFORMED', `bundle: verificationMaterial has ${keys.length === 0 ? 'no publicKey or certificate' : keys.join(' and ')}, one is expected`);
  checkSignatureEncoding(top);
  try {
    assertBundle(bundleFromJSON(raw));
  } catch (err) {
    throw new EvidenceError('MALFORMED', `bundle: ${(err as Error).message}`);
  }
  return raw as SerializedBundle;
}

function checkSignatureEncoding(top: Record<string, unknown>): void {
  const sigs = top.dsseEnvelope
    ? ((top.dsseEnvelope as { signatures?: Array<{ sig?: unknown }> }).signatures ?? []).map((s) => s.sig)
    : [(top.messageSignature as { signature?: unknown } | undefined)?.signature];
  if (sigs.length === 0) throw new EvidenceError('UNSIGNED', 'bundle: the envelope has no signatures (not signed)');
  for (const sig of sigs) {
    if (typeof sig !== 'string' || sig === '') throw new EvidenceError('UNSIGNED', 'bundle: empty signature (not signed)');
    if (!BASE64.test(sig)) throw new EvidenceError('BAD_SIGNATURE_ENCODING', 'bundle: signature is not base64');
    if (!looksLikeDerSignature(Buffer.from(sig, 'base64'))) throw new EvidenceError('BAD_SIGNATURE_ENCODING', 'bundle: signature is not a whole DER ECDSA signature (truncated?)');
  }
}

/** Checks the DSSE signature of a bundle under `publicKey` and returns the signed payload. */
export function verifyDsseBundle(bundle: SerializedBundle, publicKey: string | KeyObject): { payloadType: string; payload: Buffer } {
  const env = bundle.dsseEnvelope;
  refuseKeyless(bundle);
  if (!env) throw new EvidenceError('WRONG_TYPE', 'bundle holds a message signature, not a DSSE envelope');
  const payload = Buffer.from(env.payload, 'base64');
  const pae = preAuthEncoding(env.payloadType, payload);
  if (!env.signatures.some((s) => verifySignature(publicKey, pae, Buffer.from(s.sig, 'base64')))) {
    throw new EvidenceError('WRONG_KEY', 'signature does not verify with the expected key (other key, or payload changed after signing)');
  }
  return { payloadType: env.payloadType, payload };
}

/** Checks a message-signature bundle over `artifact`: digest first, then the signature. */
export function verifyMessageBundle(bundle: SerializedBundle, publicKey: string | KeyObject, artifact: Buffer): void {
  refuseKeyless(bundle);
  const msg = bundle.messageSignature;
  if (!msg) throw new EvidenceError('WRONG_TYPE', 'bundle holds a DSSE envelope, not a blob signature');
  const digest = createHash('sha256').update(artifact).digest();
  if (msg.messageDigest) {
    if (msg.messageDigest.algorithm !== 'SHA2_256') throw new EvidenceError('UNSUPPORTED', `message digest algorithm ${msg.messageDigest.algorithm}`);
    if (!Buffer.from(msg.messageDigest.digest, 'base64').equals(digest)) {
      throw new EvidenceError('WRONG_DIGEST', `bundle was made for a file with sha256 ${Buffer.from(msg.messageDigest.digest, 'base64').toString('hex')}, not ${digest.toString('hex')}`);
    }
  }
  if (!verifySignature(publicKey, artifact, Buffer.from(msg.signature, 'base64'))) {
    throw new EvidenceError('WRONG_KEY', 'signature does not verify with the expected key (other key, or file changed after signing)');
  }
}

/** A certificate-signed bundle is judged by identity against a trusted root, never by a bare key. */
function refuseKeyless(bundle: SerializedBundle): void {
  if (bundle.verificationMaterial.publicKey === undefined) {
    throw new EvidenceError('UNSUPPORTED', 'bundle is signed keyless (a certificate); a key is expected here (verify it by identity: --certificate-identity, or keyless: in the target)');
  }
}
