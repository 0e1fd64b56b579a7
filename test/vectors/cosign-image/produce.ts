/**
 * Has the REAL cosign sign and attest (SLSA v1, SPDX) the fixture image in its legacy tag format
 * (`sha256-<hex>.sig` / `.att`) against a registry, offline, and reads back everything it stored.
 * Used by generate.ts (writes the committed vectors) and by test/interop/cosign-legacy.test.ts
 * (regenerates and compares with them).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildImageFromDirectory } from '../../../src/oci/build';
import { RegistryStore } from '../../../src/oci/registry';
import type { ImageManifest } from '../../../src/oci/types';

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const HERE = __dirname;
export const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'hello-image');
export const REPOSITORY = 'apps/hello';

/** The flags that make cosign v3.1.2 write the legacy `.sig`/`.att` tags, offline. */
export const LEGACY_FLAGS = ['--tlog-upload=false', '--new-bundle-format=false', '--use-signing-config=false', '--allow-http-registry', '--yes'];

export interface StoredFile {
  data: Buffer;
  digest: string;
  mediaType: string;
}

export interface ProducedLegacy {
  imageDigest: string;
  sigTag: string;
  attTag: string;
  /** By vector file name: image-manifest.json, sig-manifest.json, sig-config.json, sig-payload.json, att-…. */
  files: Record<string, StoredFile>;
}

async function cosignRun(cosign: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await promisify(execFile)(cosign, args, { env: { ...process.env, ...env }, timeout: 120_000 });
  } catch (err) {
    throw new Error(`cosign ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
  }
}

/**
 * Pushes the fixture image, has cosign sign it and attest the predicates in this folder with
 * `keyFile`, checks cosign accepts its own output with `pubFile`, and returns what it stored.
 */
export async function produceLegacyWithCosign(cosign: string, registryAddress: string, work: string, keys: { keyFile: string; pubFile: string; password: string }): Promise<ProducedLegacy> {
  const store = new RegistryStore(registryAddress);
  const image = await buildImageFromDirectory(FIXTURE);
  for (const blob of [...image.layers, image.config]) await store.putBlob(REPOSITORY, blob);
  await store.putManifest(REPOSITORY, image.digest, image.manifest.data, image.manifest.descriptor.mediaType);
  const ref = `${registryAddress}/${REPOSITORY}@${image.digest}`;
  const env = { COSIGN_PASSWORD: keys.password, HOME: work };

  await cosignRun(cosign, ['sign', '--key', keys.keyFile, ...LEGACY_FLAGS, ref], env);
  await cosignRun(cosign, ['attest', '--key', keys.keyFile, '--type', 'slsaprovenance1', '--predicate', path.join(HERE, 'slsa-predicate.json'), ...LEGACY_FLAGS, ref], env);
  await cosignRun(cosign, ['attest', '--key', keys.keyFile, '--type', 'spdxjson', '--predicate', path.join(HERE, 'spdx-predicate.json'), ...LEGACY_FLAGS, ref], env);
  const verifyFlags = ['--key', keys.pubFile, '--insecure-ignore-tlog=true', '--allow-http-registry'];
  await cosignRun(cosign, ['verify', ...verifyFlags, ref], { HOME: work });
  await cosignRun(cosign, ['verify-attestation', ...verifyFlags, '--type', 'slsaprovenance1', ref], { HOME: work });
  await cosignRun(cosign, ['verify-attestation', ...verifyFlags, '--type', 'spdxjson', ref], { HOME: work });

  const hex = image.digest.slice('sha256:'.length);
  const sigTag = `sha256-${hex}.sig`;
  const attTag = `sha256-${hex}.att`;
  const tags = await store.listTags(REPOSITORY);
  if (!tags.includes(sigTag) || !tags.includes(attTag)) throw new Error(`cosign did not write the legacy tags; tags: ${tags.join(', ')}`);

  const files: Record<string, StoredFile> = {};
  const imageManifest = (await store.getManifest(REPOSITORY, image.digest))!;
  files['image-manifest.json'] = imageManifest;
  const read = async (tag: string, prefix: string, layerNames: string[]) => {
    const stored = await store.getManifest(REPOSITORY, tag);
    if (!stored) throw new Error(`${tag} vanished`);
    files[`${prefix}-manifest.json`] = stored;
    const manifest = JSON.parse(stored.data.toString('utf8')) as ImageManifest;
    files[`${prefix}-config.json`] = { data: await store.getBlob(REPOSITORY, manifest.config.digest), digest: manifest.config.digest, mediaType: manifest.config.mediaType };
    if (manifest.layers.length !== layerNames.length) throw new Error(`${tag} has ${manifest.layers.length} layers, expected ${layerNames.length}`);
    for (const [i, layer] of manifest.layers.entries()) files[layerNames[i]] = { data: await store.getBlob(REPOSITORY, layer.digest), digest: layer.digest, mediaType: layer.mediaType };
  };
  await read(sigTag, 'sig', ['sig-payload.json']);
  await read(attTag, 'att', ['att-slsa-envelope.json', 'att-spdx-envelope.json']);
  return { imageDigest: image.digest, sigTag, attTag, files };
}

/**
 * What must not change between two cosign runs: every field except signatures, digests and sizes
 * that depend on them, and the registry's loopback address.
 */
export function legacyShapeOf(files: Record<string, Buffer>): Record<string, unknown> {
  const strip = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(/127\.0\.0\.1:\d+/g, '<registry>');
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => {
          if (['sig', 'dev.cosignproject.cosign/signature'].includes(k) && typeof x === 'string' && x !== '') return [k, '<signature>'];
          if (k === 'payload' && typeof x === 'string') return [k, strip(JSON.parse(Buffer.from(x, 'base64').toString('utf8')))];
          if ((k === 'digest' || k === 'size' || k === 'diff_ids') && typeof x !== 'object') return [k, '<varies>'];
          if (k === 'diff_ids') return [k, '<varies>'];
          return [k, strip(x)];
        }),
      );
    }
    return v;
  };
  return Object.fromEntries(Object.entries(files).map(([name, data]) => [name, strip(JSON.parse(data.toString('utf8')))]));
}
