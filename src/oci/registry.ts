import { createHash } from 'node:crypto';
import { request as undiciRequest } from 'undici';
import { CountersignError } from '../errors';
import { readBounded, readPrefix, type BodyResponse, type ResponseBody } from './bounded-body';
import { DEFAULT_MANIFEST_MAX_BYTES, parseImageIndex } from './manifest';
import type { Store, StoredManifest } from './store';
import type { Blob, Descriptor } from './types';
import { MEDIA_TYPE } from './types';

const MANIFEST_ACCEPT = [
  MEDIA_TYPE.imageManifest,
  MEDIA_TYPE.imageIndex,
  MEDIA_TYPE.dockerManifest,
  MEDIA_TYPE.dockerManifestList,
].join(', ');

export const DEFAULT_REGISTRY_TIMEOUT_MS = 30_000;

/** Most bytes read for one blob whose descriptor gives its size (an image layer, compressed). */
export const DEFAULT_REGISTRY_MAX_BLOB_BYTES = 1024 * 1024 * 1024;
/** Most bytes read for a blob fetched by digest alone (statements countersign stored itself). */
export const DEFAULT_REGISTRY_MAX_UNSIZED_BLOB_BYTES = 64 * 1024 * 1024;
/** Most bytes of a tag list: about 150,000 tags of cosign's length. */
export const DEFAULT_REGISTRY_MAX_TAG_LIST_BYTES = 16 * 1024 * 1024;
/** How much of an error response is read for its message. */
export const DEFAULT_REGISTRY_ERROR_BODY_BYTES = 4096;

/** How much RegistryStore reads from one response (see docs/limits.md). */
export interface RegistryLimits {
  /** Manifests and the Referrers API's index. */
  maxManifestBytes: number;
  maxBlobBytes: number;
  maxUnsizedBlobBytes: number;
  maxTagListBytes: number;
}

export const DEFAULT_REGISTRY_LIMITS: Readonly<RegistryLimits> = Object.freeze({
  maxManifestBytes: DEFAULT_MANIFEST_MAX_BYTES,
  maxBlobBytes: DEFAULT_REGISTRY_MAX_BLOB_BYTES,
  maxUnsizedBlobBytes: DEFAULT_REGISTRY_MAX_UNSIZED_BLOB_BYTES,
  maxTagListBytes: DEFAULT_REGISTRY_MAX_TAG_LIST_BYTES,
});

export interface RegistryStoreOptions {
  /** Force plain HTTP; defaults to true for loopback hosts and for hosts in COUNTERSIGN_INSECURE_REGISTRIES. */
  plainHttp?: boolean;
  timeoutMs?: number;
  limits?: Partial<RegistryLimits>;
  /** Told the method of every request sent (the worker counts them: countersign_registry_requests_total). */
  onRequest?: (method: string) => void;
}

const SHA256 = /^sha256:[0-9a-f]{64}$/;

/**
 * Largest blob sent in one request (POST with the bytes): signatures, statements, bundles and
 * configs. A registry that ignores the body gets it twice once, so larger blobs (image layers)
 * always take the two-request upload.
 */
export const SINGLE_REQUEST_UPLOAD_MAX_BYTES = 256 * 1024;
/** Registries (by location) that stored a single-request upload (true) or answered it with a session (false). */
const singleRequestUploads = new Map<string, boolean>();

function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '');
  return name === 'localhost' || name.startsWith('127.') || name === '[::1]';
}

function insecureFromEnv(host: string): boolean {
  const list = (process.env.COUNTERSIGN_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim());
  return list.includes(host);
}

/** A Store over the OCI distribution HTTP API (anonymous access). */
export class RegistryStore implements Store {
  readonly location: string;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly onRequest?: (method: string) => void;
  readonly limits: Readonly<RegistryLimits>;

  constructor(host: string, options: RegistryStoreOptions = {}) {
    this.location = host;
    const plain = options.plainHttp ?? (isLoopback(host) || insecureFromEnv(host));
    this.baseUrl = `${plain ? 'http' : 'https'}://${host}/v2`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REGISTRY_TIMEOUT_MS;
    this.limits = { ...DEFAULT_REGISTRY_LIMITS, ...options.limits };
    this.onRequest = options.onRequest;
  }

  /** The most to read for a body: the descriptor's size when known (itself under `ceiling`), else `fallback`. */
  private bound(what: string, size: number | undefined, ceiling: number, fallback: number): { limit: number; source: string } {
    if (size === undefined) return { limit: fallback, source: 'limit' };
    if (!Number.isSafeInteger(size) || size < 0) throw new CountersignError('BAD_INPUT', `${what}: descriptor size ${String(size)} is not a non-negative integer`);
    if (size > ceiling) {
      throw new CountersignError('REGISTRY_RESPONSE_TOO_LARGE', `${what}: descriptor declares ${size} bytes, over the ${ceiling}-byte limit`, {
        details: { declared: size, limit: ceiling },
      });
    }
    return { limit: size, source: 'descriptor size' };
  }

  async ping(): Promise<void> {
    const res = await this.request('GET', '/');
    if (res.status !== 200 && res.status !== 401) throw await this.unexpected('GET /v2/', res);
    discard(res);
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const res = await this.request('HEAD', `/${repository}/blobs/${digest}`);
    if (res.status === 200 || res.status === 404) {
      discard(res);
      return res.status === 200;
    }
    throw await this.unexpected(`HEAD blob ${digest}`, res);
  }

  async getBlob(repository: string, digest: string, size?: number): Promise<Buffer> {
    if (!SHA256.test(digest)) throw new CountersignError('BAD_REFERENCE', `not a sha256 digest: ${JSON.stringify(digest.slice(0, 80))}`);
    const what = `GET blob ${digest} from ${this.location}/${repository}`;
    const bound = this.bound(what, size, this.limits.maxBlobBytes, this.limits.maxUnsizedBlobBytes);
    const res = await this.request('GET', `/${repository}/blobs/${digest}`);
    if (res.status === 404) {
      discard(res);
      throw new CountersignError('BLOB_UNKNOWN', `blob ${digest} not found in ${this.location}/${repository}`);
    }
    if (res.status !== 200) throw await this.unexpected(`GET blob ${digest}`, res);
    const data = await readBounded(res, { ...bound, what });
    if (size !== undefined && data.length !== size) {
      throw new CountersignError('DIGEST_MISMATCH', `blob ${digest} from ${this.location}/${repository} is ${data.length} bytes, its descriptor says ${size}`);
    }
    const actual = sha256(data);
    if (actual !== digest) {
      throw new CountersignError('DIGEST_MISMATCH', `blob from ${this.location}/${repository} expected ${digest}, got ${actual}`);
    }
    return data;
  }

  /**
   * Uploads a blob. A small one goes out as OCI's single-request upload (POST with `?digest=` and
   * the bytes) to a registry not known to ignore it: olareg and others store it and answer 201, and
   * need no HEAD first, since they answer 201 for a blob they already hold as well. A registry that
   * answers 202 instead (distribution 2.8 opens a session and drops the body) continues with the
   * PUT; it, and one that refuses the form outright (4xx), is remembered and gets the HEAD, POST
   * and PUT from then on. A 5xx or 429 fails the upload (retryable) and is not remembered.
   */
  async putBlob(repository: string, blob: Blob, options: { fresh?: boolean } = {}): Promise<void> {
    const { digest } = blob.descriptor;
    if (blob.data.length <= SINGLE_REQUEST_UPLOAD_MAX_BYTES && singleRequestUploads.get(this.location) !== false) {
      const single = await this.request('POST', `/${repository}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, blob.data, { 'content-type': 'application/octet-stream' });
      if (single.status === 201) {
        discard(single);
        singleRequestUploads.set(this.location, true);
        return;
      }
      // A registry in trouble (5xx, 429) says nothing about the form: the step's retry asks again.
      if (single.status >= 500 || single.status === 429) throw await this.unexpected(`upload of ${digest}`, single);
      singleRequestUploads.set(this.location, false);
      discard(single);
      if (single.status === 202) return this.finishUpload(single, blob);
    }
    if (!options.fresh && (await this.hasBlob(repository, digest))) return;
    const start = await this.request('POST', `/${repository}/blobs/uploads/`);
    if (start.status !== 202) throw await this.unexpected(`start upload of ${digest}`, start);
    discard(start);
    return this.finishUpload(start, blob);
  }

  /** Sends the bytes to the session a 202 opened, completing it with the digest. */
  private async finishUpload(start: RegistryResponse, blob: Blob): Promise<void> {
    const { digest } = blob.descriptor;
    const location = header(start, 'location');
    if (!location) throw new CountersignError('REGISTRY_ERROR', `${this.location} gave no upload location for ${digest}`);
    const uploadUrl = new URL(location, this.baseUrl);
    uploadUrl.searchParams.set('digest', digest);
    const done = await this.request('PUT', uploadUrl, blob.data, { 'content-type': 'application/octet-stream' });
    if (done.status !== 201) throw await this.unexpected(`upload of ${digest}`, done);
    discard(done);
  }

  async getManifest(repository: string, reference: string, size?: number): Promise<StoredManifest | undefined> {
    const what = `GET manifest ${this.location}/${repository}:${reference}`;
    const bound = this.bound(what, size, this.limits.maxManifestBytes, this.limits.maxManifestBytes);
    const res = await this.request('GET', `/${repository}/manifests/${reference}`, undefined, { accept: MANIFEST_ACCEPT });
    if (res.status === 404) {
      discard(res);
      return undefined;
    }
    if (res.status !== 200) throw await this.unexpected(`GET manifest ${repository}:${reference}`, res);
    const data = await readBounded(res, { ...bound, what });
    if (size !== undefined && data.length !== size) {
      throw new CountersignError('DIGEST_MISMATCH', `manifest ${repository}:${reference} from ${this.location} is ${data.length} bytes, its descriptor says ${size}`);
    }
    const digest = sha256(data);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new CountersignError('DIGEST_MISMATCH', `manifest ${repository}@${reference} served with digest ${digest}`);
    }
    const mediaType = (header(res, 'content-type') ?? '').split(';')[0].trim() || mediaTypeFromBody(data);
    return { data, mediaType, digest };
  }

  async putManifest(repository: string, reference: string, data: Buffer, mediaType: string): Promise<string> {
    return (await this.storeManifest(repository, reference, data, mediaType)).digest;
  }

  async putReferrerManifest(repository: string, data: Buffer, mediaType: string): Promise<{ digest: string; indexedFor?: string }> {
    const { digest, subject } = await this.storeManifest(repository, sha256(data), data, mediaType);
    return { digest, ...(subject ? { indexedFor: subject } : {}) };
  }

  /** Stores a manifest; `subject` is the OCI-Subject header a registry answers with when it indexed the manifest's subject. */
  private async storeManifest(repository: string, reference: string, data: Buffer, mediaType: string): Promise<{ digest: string; subject?: string }> {
    const res = await this.request('PUT', `/${repository}/manifests/${reference}`, data, { 'content-type': mediaType });
    if (res.status !== 201) {
      const err = await this.unexpected(`PUT manifest ${repository}:${reference}`, res);
      // Writers racing on the same blobs (promotions of one digest to several targets): a blob another
      // writer is still uploading is not visible yet. The step's retry pushes it again and succeeds.
      if (res.status === 400 && err.message.includes('MANIFEST_BLOB_UNKNOWN')) {
        throw new CountersignError('REGISTRY_ERROR', `${err.message.replace(/^REGISTRY_REJECTED: /, '').trimEnd()} (a blob it names is not visible yet; retrying)`, { details: { status: 400 } });
      }
      throw err;
    }
    const digest = sha256(data);
    discard(res);
    const served = header(res, 'docker-content-digest');
    if (served && served !== digest) {
      throw new CountersignError('DIGEST_MISMATCH', `registry stored ${repository}:${reference} as ${served}, expected ${digest}`);
    }
    const subject = header(res, 'oci-subject');
    return { digest, ...(subject ? { subject } : {}) };
  }

  async listTags(repository: string): Promise<string[]> {
    const res = await this.request('GET', `/${repository}/tags/list`);
    if (res.status === 404) {
      discard(res);
      return [];
    }
    if (res.status !== 200) throw await this.unexpected(`list tags of ${repository}`, res);
    const what = `list tags of ${this.location}/${repository}`;
    const text = (await readBounded(res, { limit: this.limits.maxTagListBytes, source: 'tag list limit', what })).toString('utf8');
    let body: { tags?: unknown };
    try {
      body = JSON.parse(text) as { tags?: unknown };
    } catch (cause) {
      throw new CountersignError('REGISTRY_ERROR', `${what}: not JSON`, { cause });
    }
    const tags = body?.tags ?? [];
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) throw new CountersignError('REGISTRY_ERROR', `${what}: tags is not a list of strings`);
    return tags as string[];
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw new CountersignError('BAD_REFERENCE', `not a tag: "${tag}"`);
    const res = await this.request('DELETE', `/${repository}/manifests/${tag}`);
    // distribution 2.8 reads the tag as a digest (400 DIGEST_INVALID); others say UNSUPPORTED (405) or refuse deletes.
    const answer = [200, 202, 404].includes(res.status) ? true : [400, 405, 501].includes(res.status) ? false : undefined;
    if (answer === undefined) throw await this.unexpected(`DELETE tag ${repository}:${tag}`, res);
    discard(res);
    return answer;
  }

  /**
   * GET /v2/<repo>/referrers/<digest>. A registry with the API answers 200 with an image index
   * (empty when nothing refers to the digest); 404 means the API is not offered (distribution 2.8).
   */
  async getReferrers(repository: string, digest: string): Promise<Descriptor[] | undefined> {
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new CountersignError('BAD_REFERENCE', `not a sha256 digest: "${digest}"`);
    const res = await this.request('GET', `/${repository}/referrers/${digest}`, undefined, { accept: MEDIA_TYPE.imageIndex });
    if (res.status === 404 || res.status === 405) {
      discard(res);
      return undefined;
    }
    if (res.status !== 200) throw await this.unexpected(`GET referrers of ${repository}@${digest}`, res);
    const what = `referrers of ${this.location}/${repository}@${digest}`;
    const data = await readBounded(res, { limit: this.limits.maxManifestBytes, source: 'manifest limit', what });
    return parseImageIndex(data, what).manifests;
  }

  /**
   * One request, through undici's request API (its fetch costs several times the CPU per call,
   * measured in docs/benchmarks.md). The timeout covers the whole exchange, body included. GET and
   * HEAD follow redirects, as registries send blob reads to their storage; nothing else is
   * redirected by a registry. Every caller reads the body or discards it, so the connection is
   * reused.
   */
  private async request(method: string, path: string | URL, body?: Buffer, headers: Record<string, string> = {}): Promise<RegistryResponse> {
    const url = typeof path === 'string' ? `${this.baseUrl}${path}` : path.toString();
    const follows = method === 'GET' || method === 'HEAD';
    this.onRequest?.(method);
    try {
      const res = await undiciRequest(url, {
        method: method as 'GET',
        body,
        headers,
        signal: AbortSignal.timeout(this.timeoutMs),
        maxRedirections: follows ? MAX_REDIRECTS : 0,
      });
      const length = res.headers['content-length'];
      return { status: res.statusCode, headers: res.headers, contentLength: typeof length === 'string' ? length : undefined, body: res.body };
    } catch (cause) {
      const err = cause as { code?: string; cause?: { code?: string }; name?: string; message?: string };
      const reason = err.code ?? err.cause?.code ?? (err.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : err.message);
      throw new CountersignError('REGISTRY_UNREACHABLE', `registry ${this.location} unreachable (${method} ${url}: ${reason})`, { cause });
    }
  }

  private async unexpected(what: string, res: RegistryResponse): Promise<CountersignError> {
    const text = (await readPrefix(res, DEFAULT_REGISTRY_ERROR_BODY_BYTES)).slice(0, 300);
    const code = res.status >= 500 || res.status === 429 ? 'REGISTRY_ERROR' : res.status === 404 ? 'MANIFEST_UNKNOWN' : 'REGISTRY_REJECTED';
    return new CountersignError(code, `${what} at ${this.location} failed with HTTP ${res.status}: ${text}`, {
      details: { status: res.status },
    });
  }
}

/** Redirects a GET or HEAD follows (a registry's blob read to its storage is one). */
const MAX_REDIRECTS = 5;

interface RegistryResponse extends BodyResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: ResponseBody & { dump(): Promise<void> };
}

/** A header's value (the first, if the registry sent it more than once). */
function header(res: RegistryResponse, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Drops a body this call does not read, so the connection goes back to the pool. */
function discard(res: RegistryResponse): void {
  res.body.dump().catch(() => undefined);
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function mediaTypeFromBody(data: Buffer): string {
  try {
    return (JSON.parse(data.toString('utf8')) as { mediaType?: string }).mediaType ?? MEDIA_TYPE.imageManifest;
  } catch {
    return MEDIA_TYPE.imageManifest;
  }
}
