import { CountersignError } from '../errors';
import { mapLimit } from '../map-limit';
import { blobCache, type BlobReadOptions } from '../oci/blob-cache';
import { parseImageManifest } from '../oci/manifest';
import type { Store } from '../oci/store';
import type { Descriptor, ImageManifest } from '../oci/types';
import { asProblem, type Problem } from './problems';

/** cosign keeps at most this many signatures in one manifest; reading refuses more (TOO_MANY_SIGNATURES). */
export const MAX_LAYERS = 1000;
/** One signature or attestation layer: a DSSE envelope of the largest statement countersign reads. */
export const DEFAULT_SIGNATURE_LAYER_MAX_BYTES = 96 * 1024 * 1024;
/** All layers of one signature manifest together, as their descriptors declare them. */
export const DEFAULT_SIGNATURE_LAYERS_MAX_TOTAL_BYTES = 256 * 1024 * 1024;
/** Layers fetched at once. */
export const SIGNATURE_FETCH_CONCURRENCY = 4;

export interface SignatureLayer {
  descriptor: Descriptor;
  data: Buffer;
}

/**
 * Reads every layer of a cosign signature/attestation manifest; [] when the tag does not exist.
 * More than MAX_LAYERS layers is TOO_MANY_SIGNATURES; a layer or a total over the byte limits is
 * INPUT_TOO_LARGE; each layer is read no further than its descriptor's size. The manifest is read
 * every time; layers come from the process's blob cache unless `fresh` (src/oci/blob-cache.ts).
 */
export async function readSignatureLayers(store: Store, repository: string, tag: string, options: BlobReadOptions = {}): Promise<SignatureLayer[]> {
  const manifest = await readManifest(store, repository, tag);
  if (!manifest) return [];
  const where = `${store.location}/${repository}:${tag}`;
  if (manifest.layers.length === 0) {
    throw new CountersignError('SIGNATURE_INVALID', `${where} is a signature manifest with no layers`);
  }
  if (manifest.layers.length > MAX_LAYERS) {
    throw new CountersignError('TOO_MANY_SIGNATURES', `${where} holds ${manifest.layers.length} layers, more than the ${MAX_LAYERS} read`, {
      details: { count: manifest.layers.length, limit: MAX_LAYERS },
    });
  }
  let total = 0;
  for (const [i, layer] of manifest.layers.entries()) {
    total += layer.size;
    if (layer.size > DEFAULT_SIGNATURE_LAYER_MAX_BYTES) {
      throw new CountersignError('INPUT_TOO_LARGE', `${where}: layer ${i + 1} declares ${layer.size} bytes, over the ${DEFAULT_SIGNATURE_LAYER_MAX_BYTES}-byte limit`, {
        details: { layer: i + 1, bytes: layer.size, limit: DEFAULT_SIGNATURE_LAYER_MAX_BYTES },
      });
    }
  }
  if (total > DEFAULT_SIGNATURE_LAYERS_MAX_TOTAL_BYTES) {
    throw new CountersignError('INPUT_TOO_LARGE', `${where}: layers declare ${total} bytes together, over the ${DEFAULT_SIGNATURE_LAYERS_MAX_TOTAL_BYTES}-byte limit`, {
      details: { bytes: total, limit: DEFAULT_SIGNATURE_LAYERS_MAX_TOTAL_BYTES },
    });
  }
  // cosign's signature layers of one image share one payload blob: fetched once per read.
  const fetched = new Map<string, Promise<Buffer>>();
  const bytes = (descriptor: Descriptor) => {
    const key = `${descriptor.digest} ${descriptor.size}`;
    let got = fetched.get(key);
    if (!got) fetched.set(key, (got = blobCache.get(store, repository, descriptor.digest, descriptor.size, options)));
    return got;
  };
  return mapLimit(manifest.layers, SIGNATURE_FETCH_CONCURRENCY, async (descriptor) => ({ descriptor, data: Buffer.from(await bytes(descriptor)) }));
}

/**
 * Runs `check` over every layer under `tag`; a layer that throws becomes a Problem named
 * "<noun> i/n". No tag is one NOT_FOUND problem, a manifest with no layers one MALFORMED.
 */
export async function checkSignatureLayers<T>(
  store: Store,
  repository: string,
  tag: string,
  noun: string,
  check: (layer: SignatureLayer) => T,
  options: BlobReadOptions = {},
): Promise<{ results: T[]; issues: Problem[] }> {
  let layers: SignatureLayer[];
  try {
    layers = await readSignatureLayers(store, repository, tag, options);
  } catch (err) {
    if (err instanceof CountersignError && err.code === 'SIGNATURE_INVALID') return { results: [], issues: [{ code: 'MALFORMED', where: tag, message: err.message }] };
    throw err;
  }
  if (layers.length === 0) return { results: [], issues: [{ code: 'NOT_FOUND', where: tag, message: `no ${noun}s stored at ${store.location}/${repository}:${tag}` }] };
  const results: T[] = [];
  const issues: Problem[] = [];
  layers.forEach((layer, index) => {
    try {
      results.push(check(layer));
    } catch (err) {
      issues.push(asProblem(`${noun} ${index + 1}/${layers.length}`, err));
    }
  });
  return { results, issues };
}

async function readManifest(store: Store, repository: string, tag: string): Promise<ImageManifest | undefined> {
  const stored = await store.getManifest(repository, tag);
  if (!stored) return undefined;
  try {
    return parseImageManifest(stored.data, `${store.location}/${repository}:${tag}`);
  } catch (cause) {
    // A manifest that is not one is evidence that does not count; one over a limit stops the read.
    if (cause instanceof CountersignError && cause.code === 'MANIFEST_INVALID') {
      throw new CountersignError('SIGNATURE_INVALID', cause.message.slice('MANIFEST_INVALID: '.length), { cause });
    }
    throw cause;
  }
}

// Writes live in signature-writes.ts (serialised, read back, repaired); re-exported for existing callers.
export { appendSignatureLayer } from './signature-writes';
