import { parseJsonBounded } from '../bounded-json';
import { CountersignError } from '../errors';
import type { Signer } from '../keys/signer';
import { verifySignature } from '../keys/public-key';
import type { KeyObject } from 'node:crypto';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/**
 * An envelope as read (see docs/limits.md): base64 of the largest statement countersign reads
 * back (an SBOM of the largest image, 64 MiB) plus signatures.
 */
export const DEFAULT_DSSE_MAX_ENVELOPE_BYTES = 96 * 1024 * 1024;
/** Signatures on one envelope: one per signer; real envelopes carry one or two. */
export const DEFAULT_DSSE_MAX_SIGNATURES = 16;
/** A media type: RFC 6838 allows 127 characters on each side of the '/'. */
export const DEFAULT_DSSE_MAX_PAYLOAD_TYPE_BYTES = 256;
/** One signature or keyid, base64: a post-quantum signature (ML-DSA-87, 4.6 kB) fits with room. */
export const DEFAULT_DSSE_MAX_SIGNATURE_CHARS = 16 * 1024;

export interface DsseSignature {
  keyid: string;
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: DsseSignature[];
}

/** DSSE pre-authentication encoding: the bytes a DSSE signature actually covers. */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${payload.length} `, 'utf8'),
    payload,
  ]);
}

/**
 * Signs a payload into a DSSE envelope. keyid stays empty: cosign v3 skips signatures whose
 * keyid differs from what it expects for a bare public key.
 */
export async function signEnvelope(payload: Buffer, payloadType: string, signer: Signer): Promise<DsseEnvelope> {
  const signature = await signer.sign(preAuthEncoding(payloadType, payload));
  return {
    payloadType,
    payload: payload.toString('base64'),
    signatures: [{ keyid: '', sig: signature.toString('base64') }],
  };
}

// Standard or URL-safe alphabet: the DSSE spec asks verifiers to accept both.
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Parses and shape-checks an envelope; refuses unknown fields, since verifiers parse strictly. */
export function parseEnvelope(data: Buffer | string): DsseEnvelope {
  const value = parseJsonBounded(data, { what: 'DSSE envelope', maxBytes: DEFAULT_DSSE_MAX_ENVELOPE_BYTES, code: 'ATTESTATION_INVALID' });
  const env = value as Partial<DsseEnvelope> & Record<string, unknown>;
  const problems: string[] = [];
  if (typeof env !== 'object' || env === null || Array.isArray(env)) throw new CountersignError('ATTESTATION_INVALID', 'DSSE envelope is not an object');
  for (const key of Object.keys(env)) {
    if (!['payloadType', 'payload', 'signatures'].includes(key)) problems.push(`unknown field "${key}"`);
  }
  if (typeof env.payloadType !== 'string' || env.payloadType === '') problems.push('payloadType missing');
  else if (Buffer.byteLength(env.payloadType, 'utf8') > DEFAULT_DSSE_MAX_PAYLOAD_TYPE_BYTES) problems.push(`payloadType longer than ${DEFAULT_DSSE_MAX_PAYLOAD_TYPE_BYTES} bytes`);
  if (typeof env.payload !== 'string' || !BASE64.test(env.payload)) problems.push('payload missing or not base64');
  if (!Array.isArray(env.signatures) || env.signatures.length === 0) problems.push('no signatures (attestation is not signed)');
  else if (env.signatures.length > DEFAULT_DSSE_MAX_SIGNATURES) {
    throw new CountersignError('INPUT_TOO_LARGE', `DSSE envelope carries ${env.signatures.length} signatures, more than the ${DEFAULT_DSSE_MAX_SIGNATURES} read`, {
      details: { count: env.signatures.length, limit: DEFAULT_DSSE_MAX_SIGNATURES },
    });
  } else {
    env.signatures.forEach((s, i) => {
      if (typeof s?.sig !== 'string' || s.sig === '' || !BASE64.test(s.sig)) problems.push(`signatures[${i}].sig missing or not base64`);
      else if (s.sig.length > DEFAULT_DSSE_MAX_SIGNATURE_CHARS) problems.push(`signatures[${i}].sig longer than ${DEFAULT_DSSE_MAX_SIGNATURE_CHARS} characters`);
      if (s?.keyid !== undefined && (typeof s.keyid !== 'string' || s.keyid.length > DEFAULT_DSSE_MAX_SIGNATURE_CHARS)) problems.push(`signatures[${i}].keyid is not a string of at most ${DEFAULT_DSSE_MAX_SIGNATURE_CHARS} characters`);
    });
  }
  if (problems.length > 0) throw new CountersignError('ATTESTATION_INVALID', `DSSE envelope: ${problems.join('; ')}`);
  return { payloadType: env.payloadType!, payload: env.payload!, signatures: env.signatures!.map((s) => ({ keyid: s.keyid ?? '', sig: s.sig })) };
}

/** True when at least one signature on the envelope verifies under the key. */
export function verifyEnvelope(envelope: DsseEnvelope, publicKey: string | KeyObject): boolean {
  const payload = Buffer.from(envelope.payload, 'base64');
  const pae = preAuthEncoding(envelope.payloadType, payload);
  return envelope.signatures.some((s) => verifySignature(publicKey, pae, Buffer.from(s.sig, 'base64')));
}

export function envelopePayload(envelope: DsseEnvelope): Buffer {
  return Buffer.from(envelope.payload, 'base64');
}
