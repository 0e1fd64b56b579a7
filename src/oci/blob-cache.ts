/**
 * A per-process cache of small blobs by digest, for the layers of `.sig`/`.att` manifests, the
 * sigstore bundles of referrers and the referrer manifests that hold them (read by digest): every step of a promotion reads them again (dev sign's read-back, platform verify, the gate's evidence,
 * prod sign's look before and after signing), and each read used to fetch every layer anew.
 *
 * Blobs are content-addressed, so a cached one can be served for its digest: bytes are cached only
 * once they hashed to the digest (as fetched, checked by the store; or as just pushed, hashed
 * here), and are hashed again when served, so neither a registry that serves other bytes under the
 * digest nor a caller that changed a returned buffer can make the cache answer with bytes that
 * are not the digest's. What a cache cannot see is a blob deleted from the registry afterwards: a
 * read that must reflect what the registry serves now (production signing's read-back of what it
 * published) passes `fresh`, which fetches, and forgets the blob when the registry no longer has it.
 *
 * Entries are per Store object and repository (a blob in one repository says nothing about another;
 * the worker keeps one Store per registry host, so its steps share them), at most
 * DEFAULT_BLOB_CACHE_ENTRY_MAX_BYTES each, DEFAULT_BLOB_CACHE_MAX_BYTES together, least
 * recently used first out.
 */
import { createHash } from 'node:crypto';
import { CountersignError } from '../errors';
import type { Store, StoredManifest } from './store';
import type { Blob } from './types';

/** All cached blobs together: a few thousand signature layers and statements. */
export const DEFAULT_BLOB_CACHE_MAX_BYTES = 32 * 1024 * 1024;
/** Larger blobs (image layers, big SBOMs) are never cached: they are read once, not once per step. */
export const DEFAULT_BLOB_CACHE_ENTRY_MAX_BYTES = 256 * 1024;

export interface BlobReadOptions {
  /** Fetch from the store even when cached (and forget the blob if the store no longer has it). */
  fresh?: boolean;
}

export class BlobCache {
  private readonly entries = new Map<string, Buffer>();
  private total = 0;
  /** Reads the cache answered, reads it passed to the store, and reads that joined one under way (for tests and benchmarks). */
  readonly counts = { hits: 0, misses: 0, joined: 0 };
  /** Non-fresh fetches under way, by key. */
  private readonly reading = new Map<string, Promise<Buffer | undefined>>();

  constructor(
    readonly maxBytes = DEFAULT_BLOB_CACHE_MAX_BYTES,
    readonly entryMaxBytes = DEFAULT_BLOB_CACHE_ENTRY_MAX_BYTES,
  ) {}

  get bytes(): number {
    return this.total;
  }

  /** The blob's bytes, from the cache when held and still hashing to `digest`, else from the store. */
  async get(store: Store, repository: string, digest: string, size?: number, options: BlobReadOptions = {}): Promise<Buffer> {
    const data = await this.read(store, repository, digest, size, options, async () => store.getBlob(repository, digest, size));
    // getBlob throws for a blob it does not have.
    return data!;
  }

  /**
   * A manifest read by digest (a referrer's, as a listing names it): as immutable as a blob, so
   * cached the same way. Which referrers exist comes from the listing, read afresh each time, so a
   * referrer taken out stops counting at once. Manifests read by tag are never cached.
   * Undefined when the store does not have it.
   */
  async getManifest(store: Store, repository: string, digest: string, size?: number, options: BlobReadOptions = {}): Promise<Buffer | undefined> {
    return this.read(store, repository, digest, size, options, async () => (await store.getManifest(repository, digest, size))?.data);
  }

  /**
   * An image manifest by digest as stored, through the cache: its media type is the manifest's own
   * field, or, when it has none (a Docker schema 2 manifest may not), what the store serves it as,
   * asked of the store (uncached). Undefined when the store does not have it.
   */
  async getStoredManifest(store: Store, repository: string, digest: string, size?: number, options: BlobReadOptions = {}): Promise<StoredManifest | undefined> {
    const data = await this.getManifest(store, repository, digest, size, options);
    if (!data) return undefined;
    let declared: unknown;
    try {
      declared = (JSON.parse(data.toString('utf8')) as { mediaType?: unknown }).mediaType;
    } catch {
      declared = undefined;
    }
    if (typeof declared === 'string' && declared !== '') return { data, mediaType: declared, digest };
    return store.getManifest(repository, digest, size);
  }

  private async read(store: Store, repository: string, digest: string, size: number | undefined, options: BlobReadOptions, fetch: () => Promise<Buffer | undefined>): Promise<Buffer | undefined> {
    const key = keyOf(store, repository, digest);
    const held = options.fresh ? undefined : this.entries.get(key);
    if (held && (size === undefined || held.length === size) && sha256(held) === digest) {
      this.counts.hits += 1;
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, held);
      return Buffer.from(held);
    }
    if (held) this.drop(key);
    // Steps read the same digest side by side (each bundle of a step names the same image): a read
    // of it already under way answers them all. A fresh read neither joins one nor is joined.
    const reading = options.fresh ? undefined : this.reading.get(key);
    if (reading) {
      this.counts.joined += 1;
      const data = await reading;
      return data && Buffer.from(data);
    }
    this.counts.misses += 1;
    const fetched = this.fetchAndKeep(key, digest, fetch);
    if (!options.fresh) {
      this.reading.set(key, fetched);
      const done = () => this.reading.get(key) === fetched && this.reading.delete(key);
      fetched.then(done, done);
    }
    return fetched;
  }

  private async fetchAndKeep(key: string, digest: string, fetch: () => Promise<Buffer | undefined>): Promise<Buffer | undefined> {
    let data: Buffer | undefined;
    try {
      data = await fetch();
    } catch (err) {
      if (err instanceof CountersignError && (err.code === 'BLOB_UNKNOWN' || err.code === 'DIGEST_MISMATCH')) this.drop(key);
      throw err;
    }
    if (data === undefined) {
      this.drop(key);
      return undefined;
    }
    // The store checked the bytes against the digest; hashed again here so a Store that does not cannot fill the cache.
    if (sha256(data) === digest) this.put(key, data);
    return data;
  }

  /** Remembers bytes this process has just pushed under their digest (hashed here, not trusted). */
  remember(store: Store, repository: string, blob: Blob): void {
    // A blob too large to keep is not hashed for nothing (the build offers every layer it pushed).
    if (blob.data.length > this.entryMaxBytes) return;
    if (sha256(blob.data) === blob.descriptor.digest) this.put(keyOf(store, repository, blob.descriptor.digest), blob.data);
  }

  /** Whether the cache holds the digest's bytes now (without reading or hashing them). */
  holds(store: Store, repository: string, digest: string): boolean {
    return this.entries.has(keyOf(store, repository, digest));
  }

  forget(store: Store, repository: string, digest: string): void {
    this.drop(keyOf(store, repository, digest));
  }

  clear(): void {
    this.entries.clear();
    this.reading.clear();
    this.total = 0;
  }

  private put(key: string, data: Buffer): void {
    if (data.length > this.entryMaxBytes) return;
    this.drop(key);
    this.entries.set(key, ownCopy(data));
    this.total += data.length;
    for (const [oldest, bytes] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.total -= bytes.length;
    }
  }

  private drop(key: string): void {
    const held = this.entries.get(key);
    if (!held) return;
    this.entries.delete(key);
    this.total -= held.length;
  }
}

/** The worker process's cache. */
export const blobCache = new BlobCache();

const storeIds = new WeakMap<Store, number>();
let nextStoreId = 0;

/** Names one Store object's repository: two Store objects for one host are two scopes (each has its own cache entries). */
export function storeScope(store: Store, repository: string): string {
  let id = storeIds.get(store);
  if (id === undefined) storeIds.set(store, (id = nextStoreId++));
  return `${id} ${store.location}/${repository}`;
}

function keyOf(store: Store, repository: string, digest: string): string {
  return `${storeScope(store, repository)}@${digest}`;
}

/**
 * A copy in memory of its own. Buffer.from() puts a small copy in a slice of a shared 8 KiB pool
 * slab, and a cached slice keeps its whole slab alive: filled with blobs of about 1 KiB, the
 * cache held about three times its byte count (measured in docs/benchmarks.md, "Promotions
 * parked at the approval gate"), so its limit did not bound its memory.
 */
export function ownCopy(data: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(data.length);
  data.copy(copy);
  return copy;
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
