/**
 * Blob signatures as `cosign sign-blob --bundle` writes them and `cosign verify-blob --bundle
 * --key` reads them: a v0.3 sigstore bundle with a message signature over the file's sha256.
 */
import type { KeyObject } from 'node:crypto';
import { CountersignError } from '../errors';
import type { Signer } from '../keys/signer';
import { createMessageBundle, parseBundle, verifyMessageBundle, type SerializedBundle } from './bundle';
import { EvidenceError } from './problems';

/** Signs `data` into a bundle; write it with JSON.stringify as is. */
export function signBlob(data: Buffer, signer: Signer): Promise<SerializedBundle> {
  return createMessageBundle(data, signer);
}

/**
 * Verifies a blob against a bundle and a key. Throws SIGNATURE_INVALID with
 * `details.problem` set to a stable ProblemCode (WRONG_KEY, WRONG_DIGEST, MALFORMED, …).
 */
export function verifyBlob(data: Buffer, bundle: Buffer | string, publicKey: string | KeyObject): void {
  try {
    verifyMessageBundle(parseBundle(bundle), publicKey, data);
  } catch (err) {
    if (err instanceof EvidenceError) {
      throw new CountersignError('SIGNATURE_INVALID', err.message, { details: { problem: err.code } });
    }
    throw err;
  }
}
