import { CountersignError } from '../errors';
import type { Signer } from '../keys/signer';
import { verifySignature } from '../keys/public-key';
import type { KeyObject } from 'node:crypto';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

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
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch (cause) {
    throw new CountersignError('ATTESTATION_INVALID', 'DSSE envelope is not JSON', { cause });
  }
  const env = value as Partial<DsseEnvelope> & Record<string, unknown>;
  const problems: string[] = [];
  if (typeof env !== 'object' || env === null || Array.isArray(env)) throw new CountersignError('ATTESTATION_INVALID', 'DSSE envelope is not an object');
  for (const key of Object.keys(env)) {
    if (!['payloadType', 'payload', 'signatures'].includes(key)) problems.push(`unknown field "${key}"`);
  }
  if (typeof env.payloadType !== 'string' || env.payloadType === '') problems.push('payloadType missing');
  if (typeof env.payload !== 'string' || !BASE64.test(env.payload)) problems.push('payload missing or not base64');
  if (!Array.isArray(env.signatures) || env.signatures.length === 0) problems.push('no signatures (attestation is not signed)');
  else {
    env.signatures.forEach((s, i) => {
      if (typeof s?.sig !== 'string' || s.sig === '' || !BASE64.test(s.sig)) problems.push(`signatures[${i}].sig missing or not base64`);
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
