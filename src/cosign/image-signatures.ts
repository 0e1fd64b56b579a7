import type { KeyObject } from 'node:crypto';
import { CountersignError } from '../errors';
import { keyFingerprint, verifySignature } from '../keys/public-key';
import type { Signer } from '../keys/signer';
import type { Store } from '../oci/store';
import { MEDIA_TYPE } from '../oci/types';
import { appendSignatureLayer, readSignatureLayers } from './signature-manifest';
import { createSimpleSigningPayload, parseSimpleSigningPayload } from './simple-signing';
import { cosignTag } from './tags';

export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface ImageSignatureReport {
  /** Layers whose signature verified under the key and whose payload names the digest. */
  valid: number;
  /** One line per layer that did not verify, saying why. */
  problems: string[];
}

/**
 * Checks the cosign signatures stored for `digest` against one public key. Verification rests on
 * the signed manifest digest, never on the docker-reference in the payload.
 */
export async function verifyImageSignatures(
  store: Store,
  repository: string,
  digest: string,
  publicKey: string | KeyObject,
): Promise<ImageSignatureReport> {
  const tag = cosignTag(digest, 'sig');
  let layers;
  try {
    layers = await readSignatureLayers(store, repository, tag);
  } catch (err) {
    if (err instanceof CountersignError && err.code === 'SIGNATURE_INVALID') return { valid: 0, problems: [err.message] };
    throw err;
  }
  if (layers.length === 0) return { valid: 0, problems: [`no signatures stored at ${store.location}/${repository}:${tag}`] };
  const problems: string[] = [];
  let valid = 0;
  layers.forEach((layer, index) => {
    const problem = checkSignatureLayer(layer.descriptor.mediaType, layer.descriptor.annotations, layer.data, digest, publicKey);
    if (problem) problems.push(`signature ${index + 1}/${layers.length}: ${problem}`);
    else valid += 1;
  });
  return { valid, problems };
}

function checkSignatureLayer(
  mediaType: string,
  annotations: Record<string, string> | undefined,
  payload: Buffer,
  digest: string,
  publicKey: string | KeyObject,
): string | undefined {
  if (mediaType !== MEDIA_TYPE.cosignSimpleSigning) return `layer media type ${mediaType} is not a simple-signing payload`;
  const signature = annotations?.[SIGNATURE_ANNOTATION] ?? '';
  if (signature === '') return 'no signature annotation';
  if (!BASE64.test(signature)) return 'signature is not base64';
  if (!verifySignature(publicKey, payload, Buffer.from(signature, 'base64'))) {
    return 'signature does not verify with the expected key (other key, or payload changed after signing)';
  }
  try {
    const signed = parseSimpleSigningPayload(payload).critical.image['docker-manifest-digest'];
    if (signed !== digest) return `signature was made for ${signed}, not ${digest}`;
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

export interface SignImageResult {
  /** False when a valid signature by this key already existed, so nothing was written. */
  added: boolean;
  keyFingerprint: string;
}

/**
 * Adds a cosign signature by `signer` for `digest`, unless one by the same key is already there:
 * retries and restarted workers must never leave two signatures for one (digest, key).
 */
export async function signImage(
  store: Store,
  repository: string,
  digest: string,
  signer: Signer,
): Promise<SignImageResult> {
  const publicKey = await signer.publicKeyPem();
  const fingerprint = keyFingerprint(publicKey);
  const existing = await verifyImageSignatures(store, repository, digest, publicKey);
  if (existing.valid > 0) return { added: false, keyFingerprint: fingerprint };

  const payload = createSimpleSigningPayload(`${store.location}/${repository}`, digest);
  const signature = await signer.sign(payload);
  await appendSignatureLayer(store, repository, cosignTag(digest, 'sig'), {
    data: payload,
    mediaType: MEDIA_TYPE.cosignSimpleSigning,
    annotations: { [SIGNATURE_ANNOTATION]: signature.toString('base64') },
  });
  return { added: true, keyFingerprint: fingerprint };
}
