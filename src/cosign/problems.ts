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
  /** A form of evidence countersign does not verify (for example a keyless, certificate-based bundle). */
  | 'UNSUPPORTED';

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
