/**
 * Writing cosign's `.sig`/`.att` manifests, where every signature of an image shares one manifest
 * and adding one is a read-modify-write. A registry offers no conditional write, so each edit is
 * serialised per manifest in this process (write-lock.ts), re-read just before it is written, and
 * read back a moment afterwards, when a slower writer elsewhere would have landed: an edit another
 * writer overwrote is made again, a bounded number of times.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CountersignError } from '../errors';
import { blobCache } from '../oci/blob-cache';
import type { Store } from '../oci/store';
import type { Blob, Descriptor, ImageManifest } from '../oci/types';
import { MEDIA_TYPE } from '../oci/types';
import { MAX_LAYERS, type SignatureLayer } from './signature-manifest';
import { manifestKey, serialised } from './write-lock';

/** How often one edit is re-made when other writers keep overwriting it, before REGISTRY_ERROR (retryable). */
export const DEFAULT_WRITE_ATTEMPTS = 5;
/** The second read-back, after a write: long enough for a concurrent writer's round trip to land. */
export const DEFAULT_CONFIRM_AFTER_MS = 250;

export interface WriteOptions {
  attempts?: number;
  confirmAfterMs?: number;
  /** Aborted when this attempt has been superseded (an activity cancelled or timed out): nothing more is written. */
  signal?: AbortSignal;
  /**
   * Called once the registry has acknowledged this call's first manifest write, before the settle
   * wait: a caller may start a write that must come after this one (prod sign's approval record
   * after its signature) without waiting for the read-back too.
   */
  onWritten?: () => void;
}

/** One change to a signature manifest, re-applied to whatever is stored each time it is tried. */
export interface ManifestEdit {
  /** Blobs the new layers need; pushed once, before the manifest is written. */
  blobs?: Blob[];
  /** The blobs were made just now (signed envelopes): pushed without asking whether they exist. */
  freshBlobs?: boolean;
  /** The layers to store, given those stored now; undefined when nothing needs changing. */
  next(current: SignatureLayer[]): Descriptor[] | undefined;
  /** Whether the stored layers are what the edit wants. */
  holds(current: SignatureLayer[]): boolean;
}

/**
 * Applies `edit` to the manifest under `tag` until a read-back shows it holds. Returns the layers
 * as last read, and whether this call wrote anything.
 */
export async function editSignatureManifest(
  store: Store,
  repository: string,
  tag: string,
  edit: ManifestEdit,
  options: WriteOptions = {},
): Promise<{ written: boolean; layers: SignatureLayer[] }> {
  const where = `${store.location}/${repository}:${tag}`;
  const attempts = options.attempts ?? DEFAULT_WRITE_ATTEMPTS;
  return serialised(manifestKey(store.location, repository, tag), async () => {
    // Inside the lock too: signature layers of one image share a payload blob, and distribution
    // answers 500 to some of many simultaneous uploads of one blob.
    for (const blob of edit.blobs ?? []) {
      await store.putBlob(repository, blob, { fresh: edit.freshBlobs });
      // Every read-back of this layer (this edit's, later steps') is answered without a GET.
      blobCache.remember(store, repository, blob);
    }
    const read = layerReader(store, repository, tag);
    let written = false;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      options.signal?.throwIfAborted();
      const current = await read();
      const layers = edit.next(current.layers);
      if (layers === undefined) {
        if (edit.holds(current.layers)) return { written, layers: current.layers };
        throw new CountersignError('INTERNAL', `an edit of ${where} neither holds nor changes anything`);
      }
      if (layers.length > MAX_LAYERS) throw new CountersignError('REGISTRY_REJECTED', `${where} already holds ${MAX_LAYERS} signatures`);
      const config = configFor(layers);
      // Names the layer set this edit just made: new unless an earlier attempt pushed it.
      await store.putBlob(repository, config, { fresh: true });
      const manifest: ImageManifest = { schemaVersion: 2, mediaType: MEDIA_TYPE.imageManifest, config: config.descriptor, layers };
      // Moved since it was read: merge again rather than overwrite another writer's layer.
      if ((await store.getManifest(repository, tag))?.digest !== current.at) continue;
      options.signal?.throwIfAborted();
      await store.putManifest(repository, tag, Buffer.from(JSON.stringify(manifest), 'utf8'), MEDIA_TYPE.imageManifest);
      if (!written) options.onWritten?.();
      written = true;
      // One read-back, a moment after the write: by then a slower writer that read the old
      // manifest has landed too, and an overwrite that landed sooner shows just the same.
      await sleep(options.confirmAfterMs ?? DEFAULT_CONFIRM_AFTER_MS);
      const settled = await read();
      if (edit.holds(settled.layers)) return { written, layers: settled.layers };
    }
    throw new CountersignError('REGISTRY_ERROR', `${where} kept changing under other writers: the change did not hold after ${attempts} attempts`);
  });
}

/** A layer to append once, and which stored layers count as it (see appendOnce). */
export interface OnceLayer {
  layer: { data: Buffer; mediaType: string; annotations: Record<string, string> };
  own: (layers: SignatureLayer[]) => SignatureLayer[];
}

/**
 * Appends a layer unless one already there satisfies `own`, and leaves exactly one that does:
 * writers in other processes that found none at the same moment may each have appended theirs,
 * and all of them keep the first in manifest order. True when the one kept is this call's layer.
 */
export async function appendOnce(
  store: Store,
  repository: string,
  tag: string,
  layer: OnceLayer['layer'],
  own: OnceLayer['own'],
  options: WriteOptions & { freshBlobs?: boolean } = {},
): Promise<boolean> {
  return (await appendEachOnce(store, repository, tag, [{ layer, own }], options))[0];
}

/**
 * appendOnce for several layers in one manifest update (two attestations of one step cost one
 * read-modify-write, not two). One answer per layer, in order.
 */
export async function appendEachOnce(
  store: Store,
  repository: string,
  tag: string,
  items: OnceLayer[],
  options: WriteOptions & { freshBlobs?: boolean } = {},
): Promise<boolean[]> {
  const wanted = items.map(({ layer, own }) => {
    const blob = toBlob(layer.data, layer.mediaType);
    const descriptor: Descriptor = { ...blob.descriptor, annotations: layer.annotations };
    // Ours counts even when it does not verify (a broken signer's): written once, never again.
    const mine = (current: SignatureLayer[]) => {
      const valid = new Set(own(current));
      return current.filter((l) => valid.has(l) || sameLayer(l.descriptor, descriptor));
    };
    return { blob, descriptor, mine };
  });
  const { layers } = await editSignatureManifest(
    store,
    repository,
    tag,
    {
      blobs: wanted.map((w) => w.blob),
      freshBlobs: options.freshBlobs,
      next(current) {
        const found = wanted.map((w) => w.mine(current));
        if (found.every((f) => f.length === 1)) return undefined;
        const extra = new Set(found.flatMap((f) => f.slice(1)));
        const kept = current.filter((l) => !extra.has(l)).map((l) => l.descriptor);
        return [...kept, ...wanted.filter((_, i) => found[i].length === 0).map((w) => w.descriptor)];
      },
      holds: (current) => wanted.every((w) => w.mine(current).length === 1),
    },
    options,
  );
  return wanted.map((w) => {
    const kept = w.mine(layers)[0];
    return kept !== undefined && sameLayer(kept.descriptor, w.descriptor);
  });
}

/**
 * Removes every layer satisfying `own` but the first: the repair for duplicates an earlier
 * race (or an older version) left behind. Signatures by other keys are kept as they are.
 */
export async function keepFirstOnly(
  store: Store,
  repository: string,
  tag: string,
  own: (layers: SignatureLayer[]) => SignatureLayer[],
  options: WriteOptions = {},
): Promise<void> {
  await editSignatureManifest(
    store,
    repository,
    tag,
    {
      next(current) {
        const extra = new Set(own(current).slice(1));
        return extra.size === 0 ? undefined : current.filter((l) => !extra.has(l)).map((l) => l.descriptor);
      },
      holds: (current) => own(current).length <= 1,
    },
    options,
  );
}

/**
 * Appends a layer to the manifest under `tag`, keeping every layer already there (a second
 * signature never replaces the first); nothing is written when the same layer is already there.
 */
export async function appendSignatureLayer(
  store: Store,
  repository: string,
  tag: string,
  layer: { data: Buffer; mediaType: string; annotations: Record<string, string> },
  options: WriteOptions = {},
): Promise<void> {
  const blob = toBlob(layer.data, layer.mediaType);
  const descriptor: Descriptor = { ...blob.descriptor, annotations: layer.annotations };
  const has = (current: SignatureLayer[]) => current.some((l) => sameLayer(l.descriptor, descriptor));
  await editSignatureManifest(
    store,
    repository,
    tag,
    {
      blobs: [blob],
      next: (current) => (has(current) ? undefined : [...current.map((l) => l.descriptor), descriptor]),
      holds: has,
    },
    options,
  );
}

/** The same layer: cosign's signature layers share one payload blob and differ in their annotations. */
function sameLayer(a: Descriptor, b: Descriptor): boolean {
  const annotations = (d: Descriptor) => JSON.stringify(Object.entries(d.annotations ?? {}).sort(([x], [y]) => x.localeCompare(y)));
  return a.digest === b.digest && annotations(a) === annotations(b);
}

/** Reads the manifest's layers with their bytes; a layer's bytes are fetched once per edit (blobs never change), through the process's blob cache. */
function layerReader(store: Store, repository: string, tag: string) {
  const blobs = new Map<string, Promise<Buffer>>();
  const data = (digest: string) => {
    let got = blobs.get(digest);
    if (!got) {
      // A listed blob the registry lost verifies as nothing; the edit still keeps its descriptor.
      got = blobCache.get(store, repository, digest).catch((err: unknown) => {
        if (err instanceof CountersignError && (err.code === 'BLOB_UNKNOWN' || err.code === 'DIGEST_MISMATCH')) return Buffer.alloc(0);
        blobs.delete(digest);
        throw err;
      });
      blobs.set(digest, got);
    }
    return got;
  };
  return async (): Promise<{ at?: string; layers: SignatureLayer[] }> => {
    const stored = await store.getManifest(repository, tag);
    if (!stored) return { layers: [] };
    let manifest: ImageManifest;
    try {
      manifest = JSON.parse(stored.data.toString('utf8')) as ImageManifest;
    } catch (cause) {
      throw new CountersignError('SIGNATURE_INVALID', `${store.location}/${repository}:${tag} is not a JSON manifest; refusing to overwrite it`, { cause });
    }
    const descriptors = Array.isArray(manifest?.layers) ? manifest.layers : [];
    const layers = await Promise.all(descriptors.map(async (descriptor) => ({ descriptor, data: await data(descriptor.digest) })));
    return { at: stored.digest, layers };
  };
}

/** cosign's config for a signature manifest: empty but for the layers' digests. */
function configFor(layers: Descriptor[]): Blob {
  const config = {
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: [{ created: '0001-01-01T00:00:00Z' }],
    os: '',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    config: {},
  };
  return toBlob(Buffer.from(JSON.stringify(config), 'utf8'), MEDIA_TYPE.imageConfig);
}

function toBlob(data: Buffer, mediaType: string): Blob {
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  return { data, descriptor: { mediaType, digest, size: data.length } };
}
