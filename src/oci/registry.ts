import { createHash } from 'node:crypto';
import { CountersignError } from '../errors';
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

export interface RegistryStoreOptions {
  /** Force plain HTTP; defaults to true for loopback hosts and for hosts in COUNTERSIGN_INSECURE_REGISTRIES. */
  plainHttp?: boolean;
  timeoutMs?: number;
}

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

  constructor(host: string, options: RegistryStoreOptions = {}) {
    this.location = host;
    const plain = options.plainHttp ?? (isLoopback(host) || insecureFromEnv(host));
    this.baseUrl = `${plain ? 'http' : 'https'}://${host}/v2`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REGISTRY_TIMEOUT_MS;
  }

  async ping(): Promise<void> {
    const res = await this.request('GET', '/');
    if (res.status !== 200 && res.status !== 401) throw await this.unexpected('GET /v2/', res);
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const res = await this.request('HEAD', `/${repository}/blobs/${digest}`);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await this.unexpected(`HEAD blob ${digest}`, res);
  }

  async getBlob(repository: string, digest: string): Promise<Buffer> {
    const res = await this.request('GET', `/${repository}/blobs/${digest}`);
    if (res.status === 404) throw new CountersignError('BLOB_UNKNOWN', `blob ${digest} not found in ${this.location}/${repository}`);
    if (res.status !== 200) throw await this.unexpected(`GET blob ${digest}`, res);
    const data = Buffer.from(await res.arrayBuffer());
    const actual = sha256(data);
    if (actual !== digest) {
      throw new CountersignError('DIGEST_MISMATCH', `blob from ${this.location}/${repository} expected ${digest}, got ${actual}`);
    }
    return data;
  }

  async putBlob(repository: string, blob: Blob): Promise<void> {
    const { digest } = blob.descriptor;
    if (await this.hasBlob(repository, digest)) return;
    const start = await this.request('POST', `/${repository}/blobs/uploads/`);
    if (start.status !== 202) throw await this.unexpected(`start upload of ${digest}`, start);
    const location = start.headers.get('location');
    if (!location) throw new CountersignError('REGISTRY_ERROR', `${this.location} gave no upload location for ${digest}`);
    const uploadUrl = new URL(location, this.baseUrl);
    uploadUrl.searchParams.set('digest', digest);
    const done = await this.request('PUT', uploadUrl, blob.data, { 'content-type': 'application/octet-stream' });
    if (done.status !== 201) throw await this.unexpected(`upload of ${digest}`, done);
  }

  async getManifest(repository: string, reference: string): Promise<StoredManifest | undefined> {
    const res = await this.request('GET', `/${repository}/manifests/${reference}`, undefined, { accept: MANIFEST_ACCEPT });
    if (res.status === 404) {
      await res.arrayBuffer();
      return undefined;
    }
    if (res.status !== 200) throw await this.unexpected(`GET manifest ${repository}:${reference}`, res);
    const data = Buffer.from(await res.arrayBuffer());
    const digest = sha256(data);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new CountersignError('DIGEST_MISMATCH', `manifest ${repository}@${reference} served with digest ${digest}`);
    }
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0].trim() || mediaTypeFromBody(data);
    return { data, mediaType, digest };
  }

  async putManifest(repository: string, reference: string, data: Buffer, mediaType: string): Promise<string> {
    const res = await this.request('PUT', `/${repository}/manifests/${reference}`, data, { 'content-type': mediaType });
    if (res.status !== 201) throw await this.unexpected(`PUT manifest ${repository}:${reference}`, res);
    const digest = sha256(data);
    const served = res.headers.get('docker-content-digest');
    if (served && served !== digest) {
      throw new CountersignError('DIGEST_MISMATCH', `registry stored ${repository}:${reference} as ${served}, expected ${digest}`);
    }
    return digest;
  }

  async listTags(repository: string): Promise<string[]> {
    const res = await this.request('GET', `/${repository}/tags/list`);
    if (res.status === 404) {
      await res.arrayBuffer();
      return [];
    }
    if (res.status !== 200) throw await this.unexpected(`list tags of ${repository}`, res);
    const body = (await res.json()) as { tags?: string[] | null };
    return body.tags ?? [];
  }

  /**
   * GET /v2/<repo>/referrers/<digest>. A registry with the API answers 200 with an image index
   * (empty when nothing refers to the digest); 404 means the API is not offered (distribution 2.8).
   */
  async getReferrers(repository: string, digest: string): Promise<Descriptor[] | undefined> {
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new CountersignError('BAD_REFERENCE', `not a sha256 digest: "${digest}"`);
    const res = await this.request('GET', `/${repository}/referrers/${digest}`, undefined, { accept: MEDIA_TYPE.imageIndex });
    if (res.status === 404 || res.status === 405) {
      await res.arrayBuffer();
      return undefined;
    }
    if (res.status !== 200) throw await this.unexpected(`GET referrers of ${repository}@${digest}`, res);
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0].trim();
    const text = await res.text();
    let body: { manifests?: unknown };
    try {
      body = JSON.parse(text) as { manifests?: unknown };
    } catch (cause) {
      throw new CountersignError('REGISTRY_ERROR', `referrers of ${repository}@${digest} at ${this.location}: not JSON (${contentType})`, { cause });
    }
    return Array.isArray(body.manifests) ? (body.manifests as Descriptor[]) : [];
  }

  private async request(
    method: string,
    path: string | URL,
    body?: Buffer,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const url = typeof path === 'string' ? `${this.baseUrl}${path}` : path.toString();
    try {
      return await fetch(url, { method, body, headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (cause) {
      const reason = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).message;
      throw new CountersignError('REGISTRY_UNREACHABLE', `registry ${this.location} unreachable (${method} ${url}: ${reason})`, { cause });
    }
  }

  private async unexpected(what: string, res: Response): Promise<CountersignError> {
    const text = (await res.text().catch(() => '')).slice(0, 300);
    const code = res.status >= 500 || res.status === 429 ? 'REGISTRY_ERROR' : res.status === 404 ? 'MANIFEST_UNKNOWN' : 'REGISTRY_REJECTED';
    return new CountersignError(code, `${what} at ${this.location} failed with HTTP ${res.status}: ${text}`, {
      details: { status: res.status },
    });
  }
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
