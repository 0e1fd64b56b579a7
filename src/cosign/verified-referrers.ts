/**
 * What each sigstore-bundle referrer verified to, remembered per process. Every step of a
 * promotion reads the same referrers again (dev sign's read-back, platform verify, the gate's
 * evidence at opening and at quorum, prod sign's look before signing), and each read parsed the
 * manifest and the bundle, checked the DSSE signature and parsed the statement anew, though the
 * bytes behind a referrer's digest cannot change.
 *
 * An answer is a pure function of its key: the store and repository, the subject digest, the
 * referrer manifest's digest (which pins the bundle layer's digest, which pins the bundle) and
 * the public key. What is remembered is judged from bytes already read: a verified statement, "not
 * a bundle", or a refusal of those bytes (another key's bundle, a statement about another image);
 * a failure to read them may be the registry's and is asked again. An answer holds only while the blob cache
 * (src/oci/blob-cache.ts) still holds the manifest and the bundle it came from, so whatever
 * makes the cache forget them (a fresh read that found them gone, eviction) makes this ask the
 * registry again as well; a `fresh` read never takes an answer from here.
 *
 * At most DEFAULT_VERIFIED_REFERRERS_MAX answers, least recently used first out. A remembered
 * statement is frozen: every caller gets the same object; a remembered refusal throws the same error.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { blobCache, storeScope } from '../oci/blob-cache';
import type { Store } from '../oci/store';

/** A few thousand referrers: every bundle of the promotions a worker has open at once. */
export const DEFAULT_VERIFIED_REFERRERS_MAX = 4096;

/** Which referrer, read where, checked under which key. */
export interface ReferrerRead {
  store: Store;
  repository: string;
  /** The image the referrer claims to be about. */
  subject: string;
  referrer: string;
  publicKey: string | KeyObject;
}

interface Entry<T> {
  outcome: T;
  /** The blobs the answer was read from, by digest: the referrer manifest and, for a bundle, its layer. */
  readFrom: string[];
  store: Store;
  repository: string;
}

export class VerifiedReferrers<T> {
  private readonly entries = new Map<string, Entry<T>>();
  /** Answers given from here and reads that had to verify (for tests and benchmarks). */
  readonly counts = { hits: 0, misses: 0 };

  constructor(readonly maxEntries = DEFAULT_VERIFIED_REFERRERS_MAX) {}

  get size(): number {
    return this.entries.size;
  }

  /** The remembered answer, while the blob cache still holds what it was read from. */
  lookup(read: ReferrerRead): T | undefined {
    const key = keyOf(read);
    const entry = this.entries.get(key);
    if (entry && entry.readFrom.every((digest) => blobCache.holds(entry.store, entry.repository, digest))) {
      this.counts.hits += 1;
      this.entries.delete(key);
      this.entries.set(key, entry);
      return entry.outcome;
    }
    if (entry) this.entries.delete(key);
    this.counts.misses += 1;
    return undefined;
  }

  /** Remembers a verified answer; `layer` is the bundle blob it was read from, if any. */
  remember(read: ReferrerRead, outcome: T, layer?: string): T {
    const key = keyOf(read);
    this.entries.delete(key);
    this.entries.set(key, { outcome: deepFreeze(outcome), readFrom: layer ? [read.referrer, layer] : [read.referrer], store: read.store, repository: read.repository });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
    return outcome;
  }

  clear(): void {
    this.entries.clear();
  }
}

const keyIds = new WeakMap<KeyObject, string>();

function keyOf(read: ReferrerRead): string {
  return [storeScope(read.store, read.repository), read.subject, read.referrer, publicKeyId(read.publicKey)].join('\n');
}

/** A PEM as written (whitespace and all: two spellings of one key are two entries, never one answer for two keys); a KeyObject by its SPKI's sha256. */
function publicKeyId(key: string | KeyObject): string {
  if (typeof key === 'string') return `pem:${key}`;
  let id = keyIds.get(key);
  if (id === undefined) keyIds.set(key, (id = `spki:${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex')}`));
  return id;
}

/** Freezes what a caller could change in an answer; a remembered refusal's error is thrown as it was, not frozen. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof Error) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}
