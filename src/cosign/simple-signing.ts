import { CountersignError } from '../errors';

export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';

export interface SimpleSigningPayload {
  critical: {
    identity: { 'docker-reference': string };
    image: { 'docker-manifest-digest': string };
    type: string;
  };
  optional: Record<string, unknown> | null;
}

/** The payload cosign signs for an image: it binds the signature to a manifest digest. */
export function createSimpleSigningPayload(
  dockerReference: string,
  manifestDigest: string,
  optional: Record<string, string> | null = null,
): Buffer {
  const payload: SimpleSigningPayload = {
    critical: {
      identity: { 'docker-reference': dockerReference },
      image: { 'docker-manifest-digest': manifestDigest },
      type: SIMPLE_SIGNING_TYPE,
    },
    optional,
  };
  return Buffer.from(JSON.stringify(payload), 'utf8');
}

export function parseSimpleSigningPayload(data: Buffer): SimpleSigningPayload {
  let value: SimpleSigningPayload;
  try {
    value = JSON.parse(data.toString('utf8')) as SimpleSigningPayload;
  } catch (cause) {
    throw new CountersignError('SIGNATURE_INVALID', 'signature payload is not JSON', { cause });
  }
  const digest = value?.critical?.image?.['docker-manifest-digest'];
  if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new CountersignError('SIGNATURE_INVALID', 'signature payload has no valid critical.image.docker-manifest-digest');
  }
  if (value.critical.type !== SIMPLE_SIGNING_TYPE) {
    throw new CountersignError('SIGNATURE_INVALID', `signature payload type is "${String(value.critical.type)}", expected "${SIMPLE_SIGNING_TYPE}"`);
  }
  return value;
}
