/**
 * The regular files of an image in a registry, read back from its layers by digest: what an SBOM
 * of that image describes. Nothing is taken from the directory it was built from, which may have
 * changed since.
 */
import { createHash } from 'node:crypto';
import { CountersignError } from '../errors';
import type { FileEntry } from './build';
import { sha256Hex } from './digest';
import { DEFAULT_LAYER_MAX_UNCOMPRESSED_BYTES, gunzipBounded } from './gzip';
import { blobCache } from './blob-cache';
import { parseImageManifest } from './manifest';
import type { Store } from './store';
import { listTar, normaliseMode } from './tar';
import { MEDIA_TYPE } from './types';

/** Layers of one image: docker refuses to build or run images of more than 127. */
export const DEFAULT_IMAGE_MAX_LAYERS = 128;

const TAR_LAYERS = new Set([MEDIA_TYPE.layerTarGzip, 'application/vnd.oci.image.layer.v1.tar', 'application/vnd.docker.image.rootfs.diff.tar.gzip']);

export interface ImageFilesLimits {
  /** One layer, uncompressed (DEFAULT_LAYER_MAX_UNCOMPRESSED_BYTES). */
  maxLayerBytes?: number;
}

export async function imageFiles(store: Store, repository: string, digest: string, limits: ImageFilesLimits = {}): Promise<FileEntry[]> {
  const maxLayerBytes = limits.maxLayerBytes ?? DEFAULT_LAYER_MAX_UNCOMPRESSED_BYTES;
  // By digest: from the process's cache when this worker built or read the image.
  const stored = await blobCache.getManifest(store, repository, digest);
  if (!stored) throw new CountersignError('MANIFEST_UNKNOWN', `image ${repository}@${digest} does not exist in ${store.location}`);
  const manifest = parseImageManifest(stored, `${repository}@${digest}`);
  if (manifest.layers.length > DEFAULT_IMAGE_MAX_LAYERS) {
    throw new CountersignError('INPUT_TOO_LARGE', `${repository}@${digest} has ${manifest.layers.length} layers, more than the ${DEFAULT_IMAGE_MAX_LAYERS} read`, {
      details: { count: manifest.layers.length, limit: DEFAULT_IMAGE_MAX_LAYERS },
    });
  }
  const files = new Map<string, FileEntry>();
  for (const layer of manifest.layers) {
    if (!TAR_LAYERS.has(layer.mediaType)) throw new CountersignError('BAD_INPUT', `${repository}@${digest}: layer ${layer.digest} has media type ${layer.mediaType}, not a tar layer`);
    const blob = await blobCache.get(store, repository, layer.digest, layer.size);
    const tar = layer.mediaType.endsWith('gzip') ? await gunzipBounded(blob, maxLayerBytes, `layer ${layer.digest}`) : blob;
    for (const entry of listTar(tar)) {
      // A later layer's whiteouts remove what earlier layers added: one path, or (opaque) a whole directory.
      const slash = entry.path.lastIndexOf('/');
      const dir = entry.path.slice(0, slash + 1);
      const base = entry.path.slice(slash + 1);
      if (base === '.wh..wh..opq') {
        for (const p of [...files.keys()]) if (p.startsWith(dir)) files.delete(p);
        continue;
      }
      if (base.startsWith('.wh.')) {
        files.delete(dir + base.slice('.wh.'.length));
        continue;
      }
      if (entry.type !== 'file') continue;
      const data = entry.data ?? Buffer.alloc(0);
      files.set(entry.path, { path: entry.path, sha256: sha256Hex(data), size: data.length, mode: normaliseMode('file', entry.mode), sha1: createHash('sha1').update(data).digest('hex') });
    }
  }
  return [...files.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path, 'utf8'), Buffer.from(b.path, 'utf8')));
}
