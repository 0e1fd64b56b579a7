/**
 * What a multi-platform image carries inside its own index besides platforms: BuildKit's
 * attestation manifests (`docker buildx build --attest` / `--provenance`), one per platform, whose
 * layers are in-toto statements. Nobody signed them, so they are reported and never counted as
 * evidence: anyone who can push an index can write them.
 */
import { blobCache } from './blob-cache';
import { isIndexMediaType, parseImageIndex, parseImageManifest } from './manifest';
import type { Store } from './store';

/** BuildKit marks an attestation manifest in an index with these annotations. */
export const BUILDKIT_REFERENCE_TYPE = 'vnd.docker.reference.type';
export const BUILDKIT_REFERENCE_DIGEST = 'vnd.docker.reference.digest';
export const BUILDKIT_ATTESTATION_MANIFEST = 'attestation-manifest';
const IN_TOTO_PREDICATE_ANNOTATION = 'in-toto.io/predicate-type';
/**
 * Attestation manifests read from one index (one per platform: buildx images have a handful).
 * Past it the rest are counted, not fetched.
 */
export const DEFAULT_INDEX_MAX_ATTESTATIONS_READ = 64;

export interface InIndexAttestation {
  /** The attestation manifest's digest. */
  digest: string;
  /** The platform manifest it describes (BuildKit's reference digest), when given. */
  refersTo?: string;
  /** Predicate types its layers announce; undefined when it was not read (past the limit). */
  predicateTypes?: string[];
}

export interface IndexContents {
  /** The image is an OCI index or a Docker manifest list. */
  isIndex: boolean;
  /** Platform manifests listed (attestation manifests excluded). */
  platforms: number;
  attestations: InIndexAttestation[];
}

/**
 * Reads the index at `digest` within the manifest size limit. An image manifest, or nothing stored
 * (whether the image exists is for the signature checks to say), gives `isIndex: false`.
 */
export async function readIndexContents(store: Store, repository: string, digest: string, maxRead = DEFAULT_INDEX_MAX_ATTESTATIONS_READ): Promise<IndexContents> {
  // By digest: from the process's cache when this worker built or read the image.
  const stored = await blobCache.getStoredManifest(store, repository, digest);
  if (!stored || !isIndexMediaType(stored.mediaType)) return { isIndex: false, platforms: 0, attestations: [] };
  const index = parseImageIndex(stored.data, `${store.location}/${repository}@${digest}`);
  const marked = index.manifests.filter((d) => d.annotations?.[BUILDKIT_REFERENCE_TYPE] === BUILDKIT_ATTESTATION_MANIFEST);
  const attestations: InIndexAttestation[] = [];
  for (const [i, d] of marked.entries()) {
    const refersTo = d.annotations?.[BUILDKIT_REFERENCE_DIGEST];
    const entry: InIndexAttestation = { digest: d.digest, ...(refersTo ? { refersTo } : {}) };
    if (i < maxRead) entry.predicateTypes = await predicateTypesOf(store, repository, d.digest, d.size);
    attestations.push(entry);
  }
  return { isIndex: true, platforms: index.manifests.length - marked.length, attestations };
}

async function predicateTypesOf(store: Store, repository: string, digest: string, size: number): Promise<string[]> {
  const stored = await store.getManifest(repository, digest, size);
  if (!stored) return [];
  const manifest = parseImageManifest(stored.data, `attestation manifest ${digest}`);
  return [...new Set(manifest.layers.map((l) => l.annotations?.[IN_TOTO_PREDICATE_ANNOTATION]).filter((t): t is string => typeof t === 'string'))];
}

/** One line per attestation manifest, for a verification report's notices. */
export function describeIndexAttestations(contents: IndexContents): string[] {
  return contents.attestations.map((a) => {
    const types = a.predicateTypes === undefined ? `not read: past the ${DEFAULT_INDEX_MAX_ATTESTATIONS_READ} read` : a.predicateTypes.join(', ') || 'no predicate type';
    return `BuildKit attestation manifest ${a.digest} in the index${a.refersTo ? ` for ${a.refersTo}` : ''} (${types}): unsigned, never counted as evidence`;
  });
}
