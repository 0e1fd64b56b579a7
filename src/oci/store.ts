import type { Blob, Descriptor } from './types';

/** A manifest as stored: the exact bytes (digests are over them), their media type and digest. */
export interface StoredManifest {
  data: Buffer;
  mediaType: string;
  digest: string;
}

/**
 * Where images and their signatures live. The registry is the one we run against; an OCI
 * image layout on disk is the other shape this takes (air-gapped hand-over), hence the interface.
 * `repository` is the path inside the store, e.g. "apps/hello".
 */
export interface Store {
  /** Human-readable location, e.g. "127.0.0.1:5000". */
  readonly location: string;
  hasBlob(repository: string, digest: string): Promise<boolean>;
  /**
   * The blob's bytes, checked against `digest`. `size`, when the caller has a descriptor, is the
   * most the store reads: a body past it is REGISTRY_RESPONSE_TOO_LARGE, a shorter one DIGEST_MISMATCH.
   */
  getBlob(repository: string, digest: string, size?: number): Promise<Buffer>;
  /**
   * Stores the blob unless it is there. `fresh`: the caller made these bytes just now (a new
   * signature, a config naming it), so the existence check is skipped; were they there after
   * all, uploading them again stores the same bytes under the same digest.
   */
  putBlob(repository: string, blob: Blob, options?: { fresh?: boolean }): Promise<void>;
  /** Undefined when the tag or digest does not exist. `size` as for getBlob, when a descriptor gave it. */
  getManifest(repository: string, reference: string, size?: number): Promise<StoredManifest | undefined>;
  /** Stores manifest bytes under a tag or digest and returns the manifest digest. */
  putManifest(repository: string, reference: string, data: Buffer, mediaType: string): Promise<string>;
  listTags(repository: string): Promise<string[]>;
  /**
   * Removes a tag, leaving the manifest (OCI 1.1 `DELETE /v2/<name>/manifests/<tag>`): true when
   * removed (or already absent), false when the store does not delete tags (distribution 2.8).
   * Optional: stores without it cannot delete tags.
   */
  deleteTag?(repository: string, tag: string): Promise<boolean>;
  /**
   * The OCI 1.1 Referrers API: descriptors of the manifests whose subject is `digest`, or
   * undefined when the store does not offer the API (then the fallback index tag `sha256-<hex>`
   * holds them; see src/cosign/referrers.ts). Optional: stores without it count as "no API".
   */
  getReferrers?(repository: string, digest: string): Promise<Descriptor[] | undefined>;
  /**
   * Stores a manifest that names a subject, by its digest, and says whether the registry indexed
   * it as a referrer: a registry with the Referrers API answers the PUT with `OCI-Subject: <the
   * subject's digest>` (OCI distribution 1.1). `indexedFor` is that digest, undefined when the
   * answer has none. Optional: stores without it are asked through getReferrers.
   */
  putReferrerManifest?(repository: string, data: Buffer, mediaType: string): Promise<{ digest: string; indexedFor?: string }>;
}
