/**
 * A multi-platform image as `docker buildx build --platform linux/amd64,linux/arm64 --provenance`
 * pushes it: an OCI index of one image per platform plus, per platform, BuildKit's attestation
 * manifest (annotated `vnd.docker.reference.type: attestation-manifest`, platform unknown/unknown)
 * whose layer is an unsigned in-toto statement. Shapes follow BuildKit's documented attestation
 * storage; the images are countersign's deterministic builds of a directory. Or the same as a
 * Docker manifest list (no attestations: the Docker media types have no place for them).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { buildImageFromDirectory } from '../../src/oci/build';
import { digestOf, jsonBlob } from '../../src/oci/digest';
import { BUILDKIT_ATTESTATION_MANIFEST, BUILDKIT_REFERENCE_DIGEST, BUILDKIT_REFERENCE_TYPE } from '../../src/oci/index-attestations';
import type { Store } from '../../src/oci/store';
import { MEDIA_TYPE } from '../../src/oci/types';
import { createStatement } from '../../src/provenance/statement';
import { copyDir } from './env';

export const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
] as const;

export interface PushedIndex {
  digest: string;
  mediaType: string;
  platforms: string[];
  attestations: string[];
}

export interface IndexOptions {
  /** A Docker manifest list instead of an OCI index (then no BuildKit attestations). */
  docker?: boolean;
  /** The predicate BuildKit's (unsigned) provenance carries; none when omitted. */
  buildkitProvenance?: unknown;
}

/** Builds one image per platform from `source` (a file per platform makes them differ) and pushes the index. */
export async function pushMultiPlatformImage(store: Store, repository: string, source: string, workDir: string, options: IndexOptions = {}): Promise<PushedIndex> {
  const entries: Array<Record<string, unknown>> = [];
  const platforms: string[] = [];
  const attestations: string[] = [];
  for (const platform of PLATFORMS) {
    const dir = await copyDir(source, path.join(workDir, `${path.basename(repository)}-${platform.architecture}`));
    await fs.writeFile(path.join(dir, 'PLATFORM'), `${platform.os}/${platform.architecture}\n`);
    const image = await buildImageFromDirectory(dir);
    for (const blob of [...image.layers, image.config]) await store.putBlob(repository, blob);
    await store.putManifest(repository, image.digest, image.manifest.data, image.manifest.descriptor.mediaType);
    platforms.push(image.digest);
    entries.push({ mediaType: image.manifest.descriptor.mediaType, digest: image.digest, size: image.manifest.data.length, platform });
    if (options.buildkitProvenance !== undefined && !options.docker) {
      const statement = createStatement(repository, image.digest, 'https://slsa.dev/provenance/v0.2', options.buildkitProvenance);
      const layer = jsonBlob(statement, 'application/vnd.in-toto+json');
      layer.descriptor.annotations = { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' };
      const config = jsonBlob({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [] } }, MEDIA_TYPE.imageConfig);
      await store.putBlob(repository, layer);
      await store.putBlob(repository, config);
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.imageManifest, config: config.descriptor, layers: [layer.descriptor] }));
      const digest = await store.putManifest(repository, digestOf(manifest), manifest, MEDIA_TYPE.imageManifest);
      attestations.push(digest);
      entries.push({
        mediaType: MEDIA_TYPE.imageManifest,
        digest,
        size: manifest.length,
        annotations: { [BUILDKIT_REFERENCE_DIGEST]: image.digest, [BUILDKIT_REFERENCE_TYPE]: BUILDKIT_ATTESTATION_MANIFEST },
        platform: { architecture: 'unknown', os: 'unknown' },
      });
    }
  }
  const mediaType = options.docker ? MEDIA_TYPE.dockerManifestList : MEDIA_TYPE.imageIndex;
  // A Docker manifest list names Docker manifests; distribution checks only that each child exists.
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests: entries }));
  const digest = await store.putManifest(repository, digestOf(index), index, mediaType);
  return { digest, mediaType, platforms, attestations };
}
