/**
 * The blob bundle cosign v2 writes by default (`cosign sign-blob --bundle`, without
 * --new-bundle-format): `{"base64Signature", "cert"?, "rekorBundle"?}`, cosign's own
 * LocalSignedPayload, not a sigstore bundle. With a key it is a bare signature over the file; a
 * log entry, when cosign made one, is not read here (as `cosign verify-blob --insecure-ignore-tlog`).
 */
import type { KeyObject } from 'node:crypto';
import { parseJsonBounded } from '../bounded-json';
import { CountersignError } from '../errors';
import { verifySignature } from '../keys/public-key';
import { EvidenceError, looksLikeDerSignature } from './problems';

/** A signature, a certificate PEM and a log entry: a few KiB. More is not a cosign v2 bundle. */
export const DEFAULT_V2_BLOB_BUNDLE_MAX_BYTES = 64 * 1024;

const TOP_FIELDS = new Set(['base64Signature', 'cert', 'rekorBundle']);
const REKOR_FIELDS = new Set(['SignedEntryTimestamp', 'Payload']);
const REKOR_PAYLOAD_FIELDS = new Set(['body', 'integratedTime', 'logIndex', 'logID']);
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface CosignV2BlobBundle {
  signature: Buffer;
  /** Present when cosign signed keyless (or with a certificate): base64 of the PEM. */
  cert?: string;
  /** True when cosign logged the signature in Rekor. */
  logged: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True for JSON shaped like a cosign v2 bundle (a `base64Signature` and no sigstore `mediaType`); no checks beyond. */
export function looksLikeCosignV2BlobBundle(value: unknown): boolean {
  return isObject(value) && 'base64Signature' in value && !('mediaType' in value);
}

/** Reads the JSON text within limits (INPUT_TOO_LARGE past them); the shape is checked by parseCosignV2BlobBundle. */
export function readBundleJson(data: Buffer | string, maxBytes: number): unknown {
  try {
    return parseJsonBounded(data, { what: 'bundle', maxBytes, code: 'SIGNATURE_INVALID' });
  } catch (err) {
    if (err instanceof CountersignError && err.code === 'SIGNATURE_INVALID') throw new EvidenceError('MALFORMED', 'bundle is not JSON');
    throw err;
  }
}

/** Checks the shape as strictly as Go's JSON decoding into cosign's types would matter: unknown fields are MALFORMED. */
export function parseCosignV2BlobBundle(value: unknown): CosignV2BlobBundle {
  if (!isObject(value)) throw new EvidenceError('MALFORMED', 'cosign bundle is not a JSON object');
  const problems: string[] = [];
  for (const key of Object.keys(value)) if (!TOP_FIELDS.has(key)) problems.push(`unknown field ${key.slice(0, 60)}`);
  if (value.cert !== undefined && (typeof value.cert !== 'string' || !BASE64.test(value.cert))) problems.push('cert is not base64');
  if (value.rekorBundle !== undefined && value.rekorBundle !== null) {
    const rekor = value.rekorBundle;
    if (!isObject(rekor)) problems.push('rekorBundle is not an object');
    else {
      for (const key of Object.keys(rekor)) if (!REKOR_FIELDS.has(key)) problems.push(`unknown field rekorBundle.${key.slice(0, 60)}`);
      if (rekor.Payload !== undefined && !isObject(rekor.Payload)) problems.push('rekorBundle.Payload is not an object');
      else if (isObject(rekor.Payload)) for (const key of Object.keys(rekor.Payload)) if (!REKOR_PAYLOAD_FIELDS.has(key)) problems.push(`unknown field rekorBundle.Payload.${key.slice(0, 60)}`);
    }
  }
  if (problems.length > 0) throw new EvidenceError('MALFORMED', `cosign bundle: ${problems.slice(0, 10).join('; ')}`);
  const sig = value.base64Signature;
  if (typeof sig !== 'string' || sig === '') throw new EvidenceError('UNSIGNED', 'cosign bundle: empty signature (not signed)');
  if (!BASE64.test(sig)) throw new EvidenceError('BAD_SIGNATURE_ENCODING', 'cosign bundle: base64Signature is not base64');
  const signature = Buffer.from(sig, 'base64');
  if (!looksLikeDerSignature(signature)) throw new EvidenceError('BAD_SIGNATURE_ENCODING', 'cosign bundle: signature is not a whole DER ECDSA signature (truncated?)');
  return { signature, ...(typeof value.cert === 'string' ? { cert: value.cert } : {}), logged: isObject(value.rekorBundle) };
}

/** Verifies the file against a cosign v2 bundle and a key; a certificate-signed one is UNSUPPORTED here. */
export function verifyCosignV2BlobBundle(bundle: CosignV2BlobBundle, publicKey: string | KeyObject, data: Buffer): void {
  if (bundle.cert !== undefined) {
    throw new EvidenceError('UNSUPPORTED', 'a cosign v2 bundle signed with a certificate (keyless) is not read: have the signer add --new-bundle-format, or verify it with cosign');
  }
  if (!verifySignature(publicKey, data, bundle.signature)) {
    throw new EvidenceError('WRONG_KEY', 'signature does not verify with the expected key (other key, or file changed after signing)');
  }
}
