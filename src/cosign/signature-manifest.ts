import { CountersignError } from '../errors';
import type { Store } from '../oci/store';
import type { Descriptor, ImageManifest } from '../oci/types';
import { asProblem, type Problem } from './problems';

/** cosign keeps at most this many signatures in one manifest. */
export const MAX_LAYERS = 1000;

export interface SignatureLayer {
  descriptor: Descriptor;
  data: Buffer;
}

/** Reads every layer of a cosign signature/attestation manifest; [] when the tag does not exist. */
export async function readSignatureLayers(store: Store, repository: string, tag: string): Promise<SignatureLayer[]> {
  const manifest = await readManifest(store, repository, tag);
  if (!manifest) return [];
  if (!Array.isArray(manifest.layers) || manifest.layers.length === 0) {
    throw new CountersignError('SIGNATURE_INVALID', `${store.location}/${repository}:${tag} is a signature manifest with no layers`);
  }
  return Promise.all(
    manifest.layers.map(async (descriptor) => ({ descriptor, data: await store.getBlob(repository, descriptor.digest) })),
  );
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
): Promise<{ results: T[]; issues: Problem[] }> {
  let layers: SignatureLayer[];
  try {
    layers = await readSignatureLayers(store, repository, tag);
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
    return JSON.parse(stored.data.toString('utf8')) as ImageManifest;
  } catch (cause) {
    throw new CountersignError('SIGNATURE_INVALID', `${store.location}/${repository}:${tag} is not a JSON manifest`, { cause });
  }
}

// Writes live in signature-writes.ts (serialised, read back, repaired); re-exported for existing callers.
export { appendSignatureLayer } from './signature-writes';
