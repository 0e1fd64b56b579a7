/**
 * An in-memory Store for unit tests: blobs and manifests by digest, tags pointing at manifest
 * digests, one namespace per repository. Content-addressed like a registry: a blob whose bytes do
 * not match its descriptor digest, or a manifest pushed by a digest it does not have, is refused.
 */
import { createHash } from 'node:crypto';
import { CountersignError } from '../../src/errors';
import type { Store, StoredManifest } from '../../src/oci/store';
import type { Blob } from '../../src/oci/types';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

interface Repo {
  blobs: Map<string, Buffer>;
  manifests: Map<string, { data: Buffer; mediaType: string }>;
  tags: Map<string, string>;
}

export function sha256Digest(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** What RegistryStore does with a descriptor's size: never more bytes than it, never fewer. */
function checkSize(what: string, data: Buffer, size: number | undefined): void {
  if (size === undefined) return;
  if (data.length > size) throw new CountersignError('REGISTRY_RESPONSE_TOO_LARGE', `${what}: response passed ${size + 1} bytes, over the ${size}-byte descriptor size`);
  if (data.length < size) throw new CountersignError('DIGEST_MISMATCH', `${what} is ${data.length} bytes, its descriptor says ${size}`);
}

export class MemoryStore implements Store {
  readonly location: string;
  readonly #repos = new Map<string, Repo>();
  /** Every write, in order, for tests that count pushes. */
  readonly writes: Array<{ kind: 'blob' | 'manifest'; repository: string; reference: string }> = [];

  constructor(location = 'memory.invalid') {
    this.location = location;
  }

  #repo(repository: string, create: boolean): Repo | undefined {
    let repo = this.#repos.get(repository);
    if (!repo && create) {
      repo = { blobs: new Map(), manifests: new Map(), tags: new Map() };
      this.#repos.set(repository, repo);
    }
    return repo;
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    return this.#repo(repository, false)?.blobs.has(digest) ?? false;
  }

  async getBlob(repository: string, digest: string, size?: number): Promise<Buffer> {
    const data = this.#repo(repository, false)?.blobs.get(digest);
    if (!data) throw new CountersignError('BLOB_UNKNOWN', `blob ${digest} not found in ${this.location}/${repository}`);
    checkSize(`blob ${digest}`, data, size);
    return Buffer.from(data);
  }

  async putBlob(repository: string, blob: Blob): Promise<void> {
    const actual = sha256Digest(blob.data);
    if (actual !== blob.descriptor.digest) {
      throw new CountersignError('REGISTRY_REJECTED', `blob digest ${blob.descriptor.digest} does not match its content (${actual})`);
    }
    this.#repo(repository, true)!.blobs.set(actual, Buffer.from(blob.data));
    this.writes.push({ kind: 'blob', repository, reference: actual });
  }

  async getManifest(repository: string, reference: string, size?: number): Promise<StoredManifest | undefined> {
    const repo = this.#repo(repository, false);
    if (!repo) return undefined;
    const digest = DIGEST.test(reference) ? reference : repo.tags.get(reference);
    const stored = digest === undefined ? undefined : repo.manifests.get(digest);
    if (!stored || digest === undefined) return undefined;
    checkSize(`manifest ${reference}`, stored.data, size);
    return { data: Buffer.from(stored.data), mediaType: stored.mediaType, digest };
  }

  async putManifest(repository: string, reference: string, data: Buffer, mediaType: string): Promise<string> {
    const digest = sha256Digest(data);
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw new CountersignError('REGISTRY_REJECTED', `manifest pushed as ${reference} has digest ${digest}`);
    }
    const repo = this.#repo(repository, true)!;
    repo.manifests.set(digest, { data: Buffer.from(data), mediaType });
    if (!reference.startsWith('sha256:')) repo.tags.set(reference, digest);
    this.writes.push({ kind: 'manifest', repository, reference });
    return digest;
  }

  async listTags(repository: string): Promise<string[]> {
    return [...(this.#repo(repository, false)?.tags.keys() ?? [])].sort();
  }

  /** Test helper: points a tag at raw manifest bytes (stored under their own digest). */
  async tagRaw(repository: string, tag: string, data: Buffer | string, mediaType: string): Promise<string> {
    return this.putManifest(repository, tag, Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'), mediaType);
  }

  /** Test helper: stores raw bytes as a blob and returns their digest. */
  async putRaw(repository: string, data: Buffer | string): Promise<string> {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    const digest = sha256Digest(bytes);
    await this.putBlob(repository, { data: bytes, descriptor: { mediaType: 'application/octet-stream', digest, size: bytes.length } });
    return digest;
  }
}
