/**
 * ECDSA signature checks remembered per process. A promotion's steps read the same cosign `.sig`
 * and `.att` layers again and again (dev sign's look, its look under the lock and its read-back,
 * platform verify, the gate's evidence at opening and at quorum, prod sign's looks under the
 * platform key, which meet every developer layer), and each read checked every layer's signature
 * anew: on the default configuration (the legacy format) those checks were 7% of the worker's
 * main thread, about 40 per promotion (docs/benchmarks.md, "The embedded registry's CPU and
 * signature checks remembered").
 *
 * A check's answer is a pure function of the key, the signed bytes and the signature, so it is
 * remembered under all three: the key by its SPKI fingerprint, the bytes by their sha256 (a second
 * hash of bytes the check hashes anyway, far cheaper than the check), the signature by its sha256.
 * "Does not verify" is remembered too: prod sign's looks under the platform key refuse every
 * developer layer each time. Nothing else about a layer (its media type, its statement, which
 * image it names) is remembered here; callers judge those from the bytes on every read.
 *
 * At most DEFAULT_VERIFICATION_MEMO_MAX answers, least recently used first out.
 */
import { createHash } from 'node:crypto';

/** Enough for every layer and key of the promotions a worker has open at once, a few hundred bytes each. */
export const DEFAULT_VERIFICATION_MEMO_MAX = 8192;
/**
 * Signed bytes past this are checked every time, never remembered: for them the second hash costs
 * about what the check does (a blob signature over a whole chart archive, checked once), while
 * signature payloads and statements are far smaller.
 */
export const VERIFICATION_MEMO_MAX_DATA_BYTES = 1024 * 1024;

export class VerificationMemo {
  private readonly answers = new Map<string, boolean>();
  /** Answers given from here and checks that had to run (for tests and benchmarks). */
  readonly counts = { hits: 0, misses: 0 };

  constructor(readonly maxEntries = DEFAULT_VERIFICATION_MEMO_MAX) {}

  get size(): number {
    return this.answers.size;
  }

  /** The answer for `keyFingerprint` over `data` and `signature`, checked by `check` the first time. */
  answer(keyFingerprint: string, data: Uint8Array, signature: Uint8Array, check: () => boolean): boolean {
    if (data.byteLength > VERIFICATION_MEMO_MAX_DATA_BYTES) return check();
    // Fixed-size keys: a signature is whatever a registry served, so it is hashed too, and the
    // memo's size stays bounded.
    const key = `${keyFingerprint} ${createHash('sha256').update(data).digest('hex')} ${createHash('sha256').update(signature).digest('hex')}`;
    const known = this.answers.get(key);
    if (known !== undefined) {
      this.counts.hits += 1;
      this.answers.delete(key);
      this.answers.set(key, known);
      return known;
    }
    this.counts.misses += 1;
    const verified = check();
    this.answers.set(key, verified);
    if (this.answers.size > this.maxEntries) this.answers.delete(this.answers.keys().next().value as string);
    return verified;
  }

  clear(): void {
    this.answers.clear();
    this.counts.hits = 0;
    this.counts.misses = 0;
  }
}

/** The process's memo, used by verifySignature (src/keys/public-key.ts). */
export const signatureChecks = new VerificationMemo();
