/**
 * OCI 1.1 referrers: manifests whose `subject` is an image. Registries with the Referrers API
 * list them at /v2/<repo>/referrers/<digest>; on the others (distribution 2.8) the writer keeps an
 * image index under the fallback tag `sha256-<hex>`, as cosign v3 and oras do.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CountersignError } from '../errors';
import { digestOf } from '../oci/digest';
import { parseImageIndex } from '../oci/manifest';
import type { Store } from '../oci/store';
import type { Descriptor } from '../oci/types';
import { MEDIA_TYPE } from '../oci/types';
import { blobCache } from '../oci/blob-cache';
import { DEFAULT_CONFIRM_AFTER_MS } from './signature-writes';
import { manifestKey, serialised } from './write-lock';

/** How often a fallback index update is re-merged when another writer moved the tag meanwhile. */
export const FALLBACK_UPDATE_ATTEMPTS = 5;
/**
 * Referrers read for one digest: each promotion adds a handful (signature, provenance, SBOM,
 * approval record), so this leaves room for hundreds of promotions of one image. More is
 * TOO_MANY_REFERRERS.
 */
export const DEFAULT_MAX_REFERRERS = 1000;

interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
}

/** The referrers fallback tag for a digest: sha256-<hex>. */
export function referrersFallbackTag(digest: string): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!match) throw new CountersignError('BAD_REFERENCE', `not a sha256 digest: "${digest}"`);
  return `sha256-${match[1]}`;
}

async function readFallbackIndex(store: Store, repository: string, digest: string): Promise<{ index: ImageIndex; at?: string }> {
  const tag = referrersFallbackTag(digest);
  const stored = await store.getManifest(repository, tag);
  if (!stored) return { index: { schemaVersion: 2, mediaType: MEDIA_TYPE.imageIndex, manifests: [] } };
  // `cosign copy` tags each image it copies by digest with this very name: the tag then holds the
  // image itself (or its index, whose entries are platforms, not referrers), so nothing refers to it yet.
  if (stored.digest === digest) return { index: { schemaVersion: 2, mediaType: MEDIA_TYPE.imageIndex, manifests: [] }, at: stored.digest };
  let index: ImageIndex;
  try {
    index = parseImageIndex(stored.data, `${store.location}/${repository}:${tag}`) as ImageIndex;
  } catch (cause) {
    if (cause instanceof CountersignError && cause.code === 'MANIFEST_INVALID') {
      throw new CountersignError('SIGNATURE_INVALID', cause.message.slice('MANIFEST_INVALID: '.length), { cause });
    }
    throw cause;
  }
  if (index.mediaType !== MEDIA_TYPE.imageIndex) {
    throw new CountersignError('SIGNATURE_INVALID', `${store.location}/${repository}:${tag} is not an OCI image index (referrers fallback)`);
  }
  assertReferrerCount(index.manifests.length, `${store.location}/${repository}:${tag}`);
  return { index, at: stored.digest };
}

function assertReferrerCount(count: number, where: string): void {
  if (count > DEFAULT_MAX_REFERRERS) {
    throw new CountersignError('TOO_MANY_REFERRERS', `${where} lists ${count} referrers, more than the ${DEFAULT_MAX_REFERRERS} read`, {
      details: { count, limit: DEFAULT_MAX_REFERRERS },
    });
  }
}

/**
 * How long a repository whose registry did not answer the Referrers API (404 or 405: distribution
 * 2.8, GHCR) is read through the fallback tag alone before the API is asked again. Each listing
 * asked both at once, and the API's "no" was one request more for every listing, against
 * registries that count requests toward rate limits. Remembered per repository, not per registry:
 * OCI 1.1 says a registry with the API never answers 404, but one that did so for a repository it
 * does not hold would otherwise have its API ignored for every repository. A repository whose
 * registry gains the API meanwhile is read through the tag until then: what a tool pushed through
 * the API alone (cosign v3 there) is missed for up to this long, so a verification fails and is
 * tried again, never the other way round.
 */
export const REFERRERS_API_RECHECK_MS = 10 * 60_000;

/** Registries (by location) whose Referrers API answered last time: their listings skip the fallback tag. */
const referrersApiAnswers = new Map<string, boolean>();
/** When the API last did not answer for a repository (`location/repository`), while that is remembered. */
const referrersApiAbsent = new Map<string, number>();
/** More repositories than a worker lists within the recheck interval; the oldest is forgotten first. */
const REFERRERS_API_ABSENT_MAX = 4096;

function referrersApiKnown(location: string, repository: string): 'answers' | 'absent' | undefined {
  if (referrersApiAnswers.get(location) === true) return 'answers';
  const since = referrersApiAbsent.get(`${location}/${repository}`);
  return since !== undefined && Date.now() - since < REFERRERS_API_RECHECK_MS ? 'absent' : undefined;
}

/**
 * The Referrers API's list, with what it said remembered; undefined where the store has no API,
 * the registry said it has none, or (`skipKnownAbsent`) it said so for this repository within
 * REFERRERS_API_RECHECK_MS.
 */
async function askReferrersApi(store: Store, repository: string, digest: string, skipKnownAbsent: boolean): Promise<Descriptor[] | undefined> {
  if (!store.getReferrers || (skipKnownAbsent && referrersApiKnown(store.location, repository) === 'absent')) return undefined;
  const api = await store.getReferrers(repository, digest);
  // A registry that stops answering (a proxy in front changed, a downgrade) is read through the tag from then on.
  referrersApiAnswers.set(store.location, api !== undefined);
  const key = `${store.location}/${repository}`;
  referrersApiAbsent.delete(key);
  if (api === undefined) {
    referrersApiAbsent.set(key, Date.now());
    if (referrersApiAbsent.size > REFERRERS_API_ABSENT_MAX) referrersApiAbsent.delete(referrersApiAbsent.keys().next().value as string);
  }
  return api;
}

export interface ListReferrersOptions {
  /**
   * Also the fallback tag when the Referrers API answers (a key campaign looking for every
   * signature a key made, wherever a tool put it). Without it a registry's API is the answer,
   * as for stock cosign, which neither writes nor reads the tag where the API answers.
   */
  fallbackToo?: boolean;
}

/**
 * Every referrer of `digest`, deduplicated by digest: the Referrers API's list when the registry
 * answers it, else the fallback tag's index. A registry whose API answered before is asked the
 * API alone; a repository for which it did not answer, within REFERRERS_API_RECHECK_MS, the tag
 * alone; otherwise both at once. A key campaign (`fallbackToo`) asks both every time.
 */
export async function listReferrers(store: Store, repository: string, digest: string, options: ListReferrersOptions = {}): Promise<Descriptor[]> {
  const where = `${store.location}/${repository}@${digest}`;
  const readTag = () =>
    readFallbackIndex(store, repository, digest).then(
      (read) => ({ read }),
      (error: unknown) => ({ error }),
    );
  // The tag goes out beside the API unless the API is known to answer (and only it is wanted).
  const apiAnswers = store.getReferrers !== undefined && !options.fallbackToo && referrersApiKnown(store.location, repository) === 'answers';
  const tagRead = apiAnswers ? undefined : readTag();
  const api = await askReferrersApi(store, repository, digest, !options.fallbackToo);
  // Where the API answers, what sits under the tag is not the answer, even when it is not an index.
  if (api !== undefined && !options.fallbackToo) return distinct(api, where);
  const fallback = await (tagRead ?? readTag());
  if ('error' in fallback) throw fallback.error;
  return distinct([...(api ?? []), ...fallback.read.index.manifests], where);
}

function distinct(descriptors: Descriptor[], where: string): Descriptor[] {
  const seen = new Set<string>();
  const all = descriptors.filter((d) => {
    if (seen.has(d.digest)) return false;
    seen.add(d.digest);
    return true;
  });
  assertReferrerCount(all.length, where);
  return all;
}

/**
 * Pushes a referrer manifest by digest, then makes it findable: nothing more when the registry
 * indexed it through the Referrers API, else by adding it to the fallback index tag. The tag is
 * re-read just before writing; when another writer moved it in between, the merge starts over, so
 * no writer's entry is lost; it is read back after writing, and re-added when another overwrote it.
 */
export async function pushReferrer(store: Store, repository: string, subjectDigest: string, manifest: Buffer, artifactType: string, annotations: Record<string, string>): Promise<string> {
  const put = store.putReferrerManifest
    ? await store.putReferrerManifest(repository, manifest, MEDIA_TYPE.imageManifest)
    : { digest: await store.putManifest(repository, digestOf(manifest), manifest, MEDIA_TYPE.imageManifest) };
  const { digest } = put;
  // Every later step reads it again by this digest (src/cosign/bundle-images.ts): answered from memory.
  blobCache.remember(store, repository, { descriptor: { mediaType: MEDIA_TYPE.imageManifest, digest, size: manifest.length }, data: manifest });
  // The registry said it indexed the referrer (OCI-Subject): no listing to confirm it. Were that
  // untrue, the readers that count it (platform verify, prod sign's read-back) list afresh and miss it.
  if (put.indexedFor === subjectDigest) return digest;
  const api = await askReferrersApi(store, repository, subjectDigest, true);
  if (api !== undefined) {
    if (api.some((d) => d.digest === digest)) return digest;
    throw new CountersignError('REGISTRY_ERROR', `${store.location} has the Referrers API but does not list ${digest} as a referrer of ${subjectDigest}`);
  }
  const tag = referrersFallbackTag(subjectDigest);
  // One writer at a time per index in this process; writers elsewhere are caught by the read-backs.
  return serialised(manifestKey(store.location, repository, tag), async () => {
    for (let attempt = 1; attempt <= FALLBACK_UPDATE_ATTEMPTS; attempt++) {
      const { index, at } = await readFallbackIndex(store, repository, subjectDigest);
      if (index.manifests.some((d) => d.digest === digest)) return digest;
      // A referrer past what readers read would make every later read refuse the digest.
      if (index.manifests.length >= DEFAULT_MAX_REFERRERS) {
        throw new CountersignError('TOO_MANY_REFERRERS', `${store.location}/${repository}:${tag} already lists ${index.manifests.length} referrers, the most that are read; not adding ${digest}`, {
          details: { count: index.manifests.length, limit: DEFAULT_MAX_REFERRERS },
        });
      }
      const descriptor: Descriptor = { mediaType: MEDIA_TYPE.imageManifest, size: manifest.length, digest, artifactType, annotations };
      const next = Buffer.from(JSON.stringify({ ...index, manifests: [...index.manifests, descriptor] }), 'utf8');
      const now = await store.getManifest(repository, tag);
      if (now?.digest !== at) continue; // moved since we read it: merge again
      await store.putManifest(repository, tag, next, MEDIA_TYPE.imageIndex);
      if (!(await listed(store, repository, subjectDigest, digest))) continue;
      // Read back again a moment later, when a slower writer that read the old index would have landed.
      await sleep(DEFAULT_CONFIRM_AFTER_MS);
      if (await listed(store, repository, subjectDigest, digest)) return digest;
    }
    throw new CountersignError('REGISTRY_ERROR', `${store.location}/${repository}:${tag} kept moving; could not add ${digest} after ${FALLBACK_UPDATE_ATTEMPTS} attempts`);
  });
}

async function listed(store: Store, repository: string, subjectDigest: string, digest: string): Promise<boolean> {
  return (await readFallbackIndex(store, repository, subjectDigest)).index.manifests.some((d) => d.digest === digest);
}
