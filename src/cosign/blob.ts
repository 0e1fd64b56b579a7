/**
 * Blob signatures as `cosign sign-blob --bundle` writes them and `cosign verify-blob --bundle
 * --key` reads them: a v0.3 sigstore bundle with a message signature over the file's sha256
 * (cosign v3, countersign), or cosign v2's own bundle (src/cosign/v2-blob-bundle.ts).
 */
import type { KeyObject } from 'node:crypto';
import { CountersignError } from '../errors';
import type { Signer } from '../keys/signer';
import { createHash } from 'node:crypto';
import { IN_TOTO_PAYLOAD_TYPE } from '../dsse/envelope';
import { parseStatement, statementCoversDigest, subjectDigests } from '../provenance/statement';
import { verifySigstoreBundle, type BundleTrust, type VerifiedSigner } from '../sigstore/keyless';
import { DEFAULT_BUNDLE_MAX_BYTES, createMessageBundle, parseBundle, verifyMessageBundle, type SerializedBundle } from './bundle';
import { DEFAULT_V2_BLOB_BUNDLE_MAX_BYTES, looksLikeCosignV2BlobBundle, parseCosignV2BlobBundle, readBundleJson, verifyCosignV2BlobBundle, type CosignV2BlobBundle } from './v2-blob-bundle';
import { EvidenceError } from './problems';

/** Signs `data` into a bundle; write it with JSON.stringify as is. */
export function signBlob(data: Buffer, signer: Signer): Promise<SerializedBundle> {
  return createMessageBundle(data, signer);
}

/**
 * Verifies a blob against a bundle and a key. Throws SIGNATURE_INVALID with
 * `details.problem` set to a stable ProblemCode (WRONG_KEY, WRONG_DIGEST, MALFORMED, …).
 */
export function verifyBlob(data: Buffer, bundle: Buffer | string, publicKey: string | KeyObject): { format: 'sigstore' | 'cosign-v2'; logged?: boolean } {
  return asSignatureInvalid(() => {
    const v2 = cosignV2Bundle(bundle);
    if (v2) {
      verifyCosignV2BlobBundle(v2, publicKey, data);
      return { format: 'cosign-v2' as const, logged: v2.logged };
    }
    verifyMessageBundle(parseBundle(bundle), publicKey, data);
    return { format: 'sigstore' as const };
  });
}

/** cosign v2's own bundle (what `cosign sign-blob --bundle` writes by default), or undefined for anything else. */
function cosignV2Bundle(bundle: Buffer | string): CosignV2BlobBundle | undefined {
  const raw = readBundleJson(bundle, DEFAULT_BUNDLE_MAX_BYTES);
  if (!looksLikeCosignV2BlobBundle(raw)) return undefined;
  const bytes = typeof bundle === 'string' ? Buffer.byteLength(bundle) : bundle.length;
  if (bytes > DEFAULT_V2_BLOB_BUNDLE_MAX_BYTES) {
    throw new CountersignError('INPUT_TOO_LARGE', `cosign bundle is ${bytes} bytes, over the limit of ${DEFAULT_V2_BLOB_BUNDLE_MAX_BYTES}`, { details: { bytes, limit: DEFAULT_V2_BLOB_BUNDLE_MAX_BYTES } });
  }
  return parseCosignV2BlobBundle(raw);
}

/**
 * Verifies a blob against a bundle as `cosign verify-blob --trusted-root` does: a message
 * signature over the file, or a DSSE envelope whose in-toto statement names the file's sha256 as a
 * subject; keyless by identity, or by a key with the root's logs. Errors as verifyBlob.
 */
export function verifyBlobAgainstRoot(data: Buffer, bundle: Buffer | string, trust: BundleTrust): VerifiedSigner {
  return asSignatureInvalid(() => {
    if (cosignV2Bundle(bundle)) {
      throw new EvidenceError('UNSUPPORTED', 'a cosign v2 bundle carries no verification material for a trusted root: verify it by --key alone, or have the signer add --new-bundle-format');
    }
    const parsed = parseBundle(bundle);
    const digest = createHash('sha256').update(data).digest();
    if (parsed.messageSignature) {
      const md = parsed.messageSignature.messageDigest;
      if (md && !Buffer.from(md.digest, 'base64').equals(digest)) {
        throw new EvidenceError('WRONG_DIGEST', `bundle was made for a file with digest ${Buffer.from(md.digest, 'base64').toString('hex')}, not sha256 ${digest.toString('hex')}`);
      }
      return verifySigstoreBundle(parsed, data, trust);
    }
    const signer = verifySigstoreBundle(parsed, undefined, trust);
    const env = parsed.dsseEnvelope!;
    if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new EvidenceError('WRONG_TYPE', `payloadType ${env.payloadType} is not in-toto`);
    const statement = parseStatement(Buffer.from(env.payload, 'base64'));
    // npm provenance names its tarball by sha512.
    const sha512 = createHash('sha512').update(data).digest('hex');
    if (!statementCoversDigest(statement, `sha256:${digest.toString('hex')}`) && !statementCoversDigest(statement, `sha512:${sha512}`)) {
      throw new EvidenceError('WRONG_DIGEST', `signed statement's subject is ${subjectDigests(statement).join(', ') || 'empty'}, not sha256:${digest.toString('hex')}`);
    }
    return signer;
  });
}

function asSignatureInvalid<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof EvidenceError) {
      throw new CountersignError('SIGNATURE_INVALID', err.message, { details: { problem: err.code } });
    }
    throw err;
  }
}
