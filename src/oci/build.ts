/**
 * Builds a single-layer OCI image from a directory, reproducibly: the same directory content
 * gives byte-identical blobs and the same manifest digest, whatever the files' mtimes, owners,
 * or the directory's own location.
 *
 * Layer: the directory's deterministic tar (see tar.ts) gzipped at level 9 with a fixed gzip
 * header (mtime 0, XFL 2, OS 255 "unknown"). Config and manifest: canonical JSON (sorted keys).
 *
 * Reproducibility caveat: the gzip *payload* is whatever Node's bundled zlib produces at level 9.
 * The uncompressed tar (the config's diff_id) depends only on our code; the compressed layer, and
 * so the manifest digest, could change if a Node upgrade changed zlib's deflate output.
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync, constants as zconst } from 'node:zlib';
import { CountersignError } from '../errors';
import { blobOf, digestOf, jsonBlob, sha256Hex } from './digest';
import { collectTree, createTar, normaliseMode } from './tar';
import { MEDIA_TYPE, type Blob, type ImageManifest } from './types';

/** A regular file in the image, path relative to the image root ('/'-separated, no leading '/'). */
export interface FileEntry {
  path: string;
  /** Lowercase hex SHA-256 of the content (no `sha256:` prefix). */
  sha256: string;
  size: number;
  /** Mode as stored in the layer: 0o644 or 0o755. */
  mode: number;
  /** Lowercase hex SHA-1 of the content; SPDX 2.3 asks for it on every file. Always set by the builder. */
  sha1?: string;
}

export interface BuiltImage {
  manifest: Blob;
  config: Blob;
  layers: Blob[];
  /** Manifest digest, `sha256:<hex>`. */
  digest: string;
  /** Regular files in the layer, sorted by path. */
  files: FileEntry[];
}

export interface BuildOptions {
  /** RFC 3339 timestamp for the config's `created` and history; default '1970-01-01T00:00:00Z'. */
  created?: string;
  /** Manifest annotations (left out of the manifest when absent or empty). */
  annotations?: Record<string, string>;
}

export const DEFAULT_CREATED = '1970-01-01T00:00:00Z';
export const BUILDER_ID = 'countersign build';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** True for an RFC 3339 date-time (`2024-01-02T03:04:05Z`, fractions and offsets allowed) that names a real instant. */
export function isRfc3339(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const m = RFC3339.exec(s);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return !Number.isNaN(Date.parse(s));
}

/** gzip at level 9 with a header that depends on nothing but the input. */
export function gzipDeterministic(data: Buffer): Buffer {
  const gz = gzipSync(data, { level: 9, memLevel: 8, windowBits: 15, strategy: zconst.Z_DEFAULT_STRATEGY });
  // RFC 1952 header: ID1 ID2 CM FLG MTIME(4) XFL OS. Node writes no name/comment/extra (FLG 0) and
  // MTIME 0 already; XFL and OS are pinned here so the bytes can't vary with the host.
  if (gz[0] !== 0x1f || gz[1] !== 0x8b || gz[2] !== 8 || gz[3] !== 0) {
    throw new CountersignError('INTERNAL', 'zlib produced an unexpected gzip header');
  }
  gz.writeUInt32LE(0, 4);
  gz[8] = 2; // XFL: maximum compression
  gz[9] = 0xff; // OS: unknown
  return gz;
}

function checkOptions(opts: BuildOptions): { created: string; annotations?: Record<string, string> } {
  const created = opts.created ?? DEFAULT_CREATED;
  if (!isRfc3339(created)) {
    throw new CountersignError('BAD_INPUT', `created must be an RFC 3339 timestamp, got ${JSON.stringify(created)}`);
  }
  let annotations: Record<string, string> | undefined;
  if (opts.annotations !== undefined) {
    if (opts.annotations === null || typeof opts.annotations !== 'object' || Array.isArray(opts.annotations)) {
      throw new CountersignError('BAD_INPUT', 'annotations must be an object of strings');
    }
    for (const [k, v] of Object.entries(opts.annotations)) {
      if (k === '' || typeof v !== 'string') {
        throw new CountersignError('BAD_INPUT', `annotation ${JSON.stringify(k)} must have a non-empty key and a string value`);
      }
    }
    if (Object.keys(opts.annotations).length > 0) annotations = { ...opts.annotations };
  }
  return { created, annotations };
}

/** Builds the image for `dir`; BUILD_FAILED (with the path) when the directory can't be used. */
export async function buildImageFromDirectory(dir: string, opts: BuildOptions = {}): Promise<BuiltImage> {
  const { created, annotations } = checkOptions(opts);
  if (typeof dir !== 'string' || dir === '') throw new CountersignError('BUILD_FAILED', 'no build directory given');

  let st;
  try {
    st = await fsp.stat(dir);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : `cannot be accessed (${(cause as Error).message})`;
    throw new CountersignError('BUILD_FAILED', `build directory ${dir} ${what}`, { cause, details: { path: dir } });
  }
  if (!st.isDirectory()) {
    throw new CountersignError('BUILD_FAILED', `build path ${dir} is not a directory`, { details: { path: dir } });
  }

  const entries = await collectTree(dir);
  const files: FileEntry[] = entries
    .filter((e) => e.type === 'file')
    .map((e) => {
      const data = e.data ?? Buffer.alloc(0);
      return {
        path: e.path,
        sha256: sha256Hex(data),
        size: data.length,
        mode: normaliseMode('file', e.mode),
        sha1: createHash('sha1').update(data).digest('hex'),
      };
    });
  if (files.length === 0) {
    throw new CountersignError(
      'BUILD_FAILED',
      `build directory ${dir} is empty (it has no regular files)`,
      { details: { path: dir } },
    );
  }

  const tar = createTar(entries);
  const diffId = digestOf(tar);
  const layer = blobOf(gzipDeterministic(tar), MEDIA_TYPE.layerTarGzip);

  const config = jsonBlob(
    {
      created,
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: BUILDER_ID }],
    },
    MEDIA_TYPE.imageConfig,
  );

  const manifestValue: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.imageManifest,
    config: config.descriptor,
    layers: [layer.descriptor],
  };
  if (annotations !== undefined) manifestValue.annotations = annotations;
  const manifest = jsonBlob(manifestValue, MEDIA_TYPE.imageManifest);

  return { manifest, config, layers: [layer], digest: manifest.descriptor.digest, files };
}
