import type { KeyObject } from 'node:crypto';
import { keyFingerprint, verifySignature } from '../keys/public-key';
import type { Signer } from '../keys/signer';
import type { BlobReadOptions } from '../oci/blob-cache';
import type { Store } from '../oci/store';
import { MEDIA_TYPE } from '../oci/types';
import { EvidenceError, formatProblem, looksLikeDerSignature, type Problem } from './problems';
import { checkSignatureLayers, type SignatureLayer } from './signature-manifest';
import { appendOnce, keepFirstOnly, type WriteOptions } from './signature-writes';
import { createSimpleSigningPayload, parseSimpleSigningPayload } from './simple-signing';
import { cosignTag } from './tags';

export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface ImageSignatureReport {
  /** Layers whose signature verified under the key and whose payload names the digest. */
  valid: number;
  /** One line per layer that did not verify, saying why. */
  problems: string[];
  /** The same, with a stable code each. */
  issues: Problem[];
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
  options: BlobReadOptions = {},
): Promise<ImageSignatureReport> {
  const tag = cosignTag(digest, 'sig');
  const { results, issues } = await checkSignatureLayers(
    store,
    repository,
    tag,
    'signature',
    (layer) => checkSignatureLayer(layer.descriptor.mediaType, layer.descriptor.annotations, layer.data, digest, publicKey),
    options,
  );
  const problems = issues.map((i) => (i.code === 'NOT_FOUND' || i.where === tag ? i.message : formatProblem(i)));
  return { valid: results.length, problems, issues };
}

function checkSignatureLayer(
  mediaType: string,
  annotations: Record<string, string> | undefined,
  payload: Buffer,
  digest: string,
  publicKey: string | KeyObject,
): true {
  if (mediaType !== MEDIA_TYPE.cosignSimpleSigning) throw new EvidenceError('WRONG_TYPE', `layer media type ${mediaType} is not a simple-signing payload`);
  const signature = annotations?.[SIGNATURE_ANNOTATION] ?? '';
  if (signature === '') throw new EvidenceError('UNSIGNED', 'no signature annotation');
  if (!BASE64.test(signature)) throw new EvidenceError('BAD_SIGNATURE_ENCODING', 'signature is not base64');
  if (!looksLikeDerSignature(Buffer.from(signature, 'base64'))) {
    throw new EvidenceError('BAD_SIGNATURE_ENCODING', 'signature does not verify: not a whole DER ECDSA signature (truncated?)');
  }
  if (!verifySignature(publicKey, payload, Buffer.from(signature, 'base64'))) {
    throw new EvidenceError('WRONG_KEY', 'signature does not verify with the expected key (other key, or payload changed after signing)');
  }
  const signed = parseSimpleSigningPayload(payload).critical.image['docker-manifest-digest'];
  if (signed !== digest) throw new EvidenceError('WRONG_DIGEST', `signature was made for ${signed}, not ${digest}`);
  return true;
}

export interface SignImageResult {
  /** False when a valid signature by this key already existed, so nothing was written. */
  added: boolean;
  keyFingerprint: string;
}

/**
 * Adds a cosign signature by `signer` for `digest`, unless one by the same key is already there:
 * retries and restarted workers must never leave two signatures for one (digest, key). The
 * registry is read before signing, and again, under the manifest's write lock, after the signer
 * returns: a signer slower than any timeout may be overtaken by another attempt, and then this
 * one writes nothing. Writers elsewhere that raced this one leave the first signature only.
 */
export async function signImage(
  store: Store,
  repository: string,
  digest: string,
  signer: Signer,
  options: WriteOptions = {},
): Promise<SignImageResult> {
  const publicKey = await signer.publicKeyPem();
  const fingerprint = keyFingerprint(publicKey);
  const tag = cosignTag(digest, 'sig');
  const own = (layers: SignatureLayer[]) => layers.filter((l) => signsDigest(l, digest, publicKey));
  const existing = await verifyImageSignatures(store, repository, digest, publicKey);
  if (existing.valid > 1) await keepFirstOnly(store, repository, tag, own, options);
  if (existing.valid > 0) return { added: false, keyFingerprint: fingerprint };

  const payload = createSimpleSigningPayload(`${store.location}/${repository}`, digest);
  const signature = await signer.sign(payload);
  const layer = { data: payload, mediaType: MEDIA_TYPE.cosignSimpleSigning, annotations: { [SIGNATURE_ANNOTATION]: signature.toString('base64') } };
  const added = await appendOnce(store, repository, tag, layer, own, options);
  return { added, keyFingerprint: fingerprint };
}

function signsDigest(layer: SignatureLayer, digest: string, publicKey: string | KeyObject): boolean {
  try {
    return checkSignatureLayer(layer.descriptor.mediaType, layer.descriptor.annotations, layer.data, digest, publicKey);
  } catch {
    return false;
  }
}
