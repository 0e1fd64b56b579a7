/**
 * Why a piece of cosign evidence (a signature layer, a bundle, a referrer) did not count. The
 * codes are stable and machine-readable; the message carries the facts for people.
 */
import { CountersignError } from '../errors';

export type ProblemCode =
  /** Nothing stored where signatures or attestations would be. */
  | 'NOT_FOUND'
  /** The signature does not verify under the key: another key, or the payload edited after signing. */
  | 'WRONG_KEY'
  /** Signed for another image digest (payload digest, statement subject or referrer subject). */
  | 'WRONG_DIGEST'
  /** A signature that is empty, truncated into invalid base64, or not base64 at all. */
  | 'BAD_SIGNATURE_ENCODING'
  /** An envelope or bundle with no signature on it. */
  | 'UNSIGNED'
  /** A manifest, bundle, envelope or statement that is not what cosign writes (unknown fields, no layers, not JSON). */
  | 'MALFORMED'
  /** A layer, bundle or payload of a type that is not the one expected here. */
  | 'WRONG_TYPE'
  /** A form of evidence this check does not take (a keyless bundle where a key is expected, an unknown digest algorithm). */
  | 'UNSUPPORTED'
  // Keyless evidence (src/sigstore/keyless.ts, docs/policy.md "Keyless developer signatures"):
  /** The certificate's subject is none of the trusted identities. */
  | 'IDENTITY_MISMATCH'
  /** The subject is trusted, but the certificate was issued for a token from another OIDC issuer. */
  | 'ISSUER_MISMATCH'
  /** The source repository, ref, commit or workflow the certificate names is not the policy's. */
  | 'SOURCE_MISMATCH'
  /** Certificate, log or timestamp authority not in the pinned trusted root (another Sigstore instance). */
  | 'WRONG_TRUSTED_ROOT'
  /** A verified signing time falls outside the certificate's validity. */
  | 'CERTIFICATE_EXPIRED'
  /** The certificate has expired and no verified timestamp says it was used while valid. */
  | 'CERTIFICATE_EXPIRED_NO_TIMESTAMP'
  /** The certificate chain is broken in another way (name chaining, a CA flag, path length). */
  | 'CERTIFICATE_INVALID'
  /** Fewer signed certificate timestamps than required. */
  | 'SCT_MISSING'
  /** A signed certificate timestamp does not verify with a CT log key in the trusted root. */
  | 'SCT_INVALID'
  /** Fewer transparency-log entries than required. */
  | 'TLOG_MISSING'
  /** An inclusion proof, checkpoint or signed entry timestamp does not verify. */
  | 'TLOG_PROOF_INVALID'
  /** The log entry (validly logged) is for another signature, artifact or certificate. */
  | 'TLOG_ENTRY_MISMATCH'
  /** Fewer verified timestamps (or RFC 3161 timestamps) than required. */
  | 'TIMESTAMP_MISSING'
  /** An RFC 3161 timestamp does not verify (other data, untrusted authority, outside its validity). */
  | 'TIMESTAMP_INVALID';

export interface Problem {
  code: ProblemCode;
  /** Where it was found: "signature 1/2 (.sig tag)", "bundle sha256:…", … */
  where: string;
  message: string;
}

/** Thrown inside the cosign module to turn a check into a Problem; never escapes it. */
export class EvidenceError extends Error {
  constructor(
    readonly code: ProblemCode,
    message: string,
  ) {
    super(message);
    this.name = 'EvidenceError';
  }
}

/**
 * Turns an error about the evidence into a Problem: an EvidenceError keeps its code, a
 * SIGNATURE_INVALID / ATTESTATION_INVALID CountersignError is MALFORMED. Anything else (registry
 * unreachable, a missing blob, a digest mismatch) is rethrown: verification fails closed on it.
 */
export function asProblem(where: string, err: unknown): Problem {
  if (err instanceof EvidenceError) return { code: err.code, where, message: err.message };
  if (err instanceof CountersignError && (err.code === 'SIGNATURE_INVALID' || err.code === 'ATTESTATION_INVALID')) {
    return { code: 'MALFORMED', where, message: err.message.slice(err.code.length + 2) };
  }
  throw err;
}

export function formatProblem(p: Problem): string {
  return `${p.where}: ${p.message}`;
}

/**
 * True when `der` is shaped like an ASN.1 DER ECDSA signature (SEQUENCE of two INTEGERs, lengths
 * adding up). Tells a truncated signature (BAD_SIGNATURE_ENCODING) from one by another key.
 */
export function looksLikeDerSignature(der: Buffer): boolean {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return false;
  const rLen = der[3];
  if (der[2] !== 0x02 || 4 + rLen + 2 > der.length) return false;
  const s = 4 + rLen;
  return der[s] === 0x02 && s + 2 + der[s + 1] === der.length;
}
