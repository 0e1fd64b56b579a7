/**
 * Has the REAL cosign sign, attest and sign-blob in its default (v3 "new bundle") format against a
 * registry, and reads back everything it stored. Used by generate.ts (writes the committed
 * vectors) and by test/interop/cosign-bundle.test.ts (regenerates and compares with them).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { listReferrers, referrersFallbackTag } from '../../../src/cosign/referrers';
import { buildImageFromDirectory } from '../../../src/oci/build';
import { RegistryStore } from '../../../src/oci/registry';
import type { ImageManifest } from '../../../src/oci/types';

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const KEYS = path.join(ROOT, 'test', 'vectors', 'cosign-keys');
export const PASSWORD = 'countersign-test';
const PREDICATES = path.join(ROOT, 'test', 'vectors', 'cosign-image');

/** A signing config with no services: cosign v3 then signs with the key alone, no Rekor, no TSA. */
export const OFFLINE_SIGNING_CONFIG = '{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json","rekorTlogConfig":{},"tsaConfig":{}}\n';

export interface CosignRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs cosign with a private HOME (no ~/.sigstore cache shared with the machine). */
export async function runCosign(cosign: string, args: string[], home: string, env: NodeJS.ProcessEnv = {}): Promise<CosignRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(cosign, args, { env: { ...process.env, HOME: home, ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export interface ProducedReferrer {
  predicateType: string;
  manifest: Buffer;
  bundle: Buffer;
}

export interface Produced {
  repository: string;
  imageDigest: string;
  imageManifest: Buffer;
  /** Absent when the registry has the Referrers API: cosign then writes no fallback tag. */
  fallbackIndex?: Buffer;
  /** Sorted by predicate type. */
  referrers: ProducedReferrer[];
  blobBundle: Buffer;
}

/** Pushes the fixture image into `repository`, has cosign sign/attest it and sign the test blob. */
export async function produceWithCosign(cosign: string, registryAddress: string, work: string, repository = 'apps/hello'): Promise<Produced> {
  const store = new RegistryStore(registryAddress);
  const image = await buildImageFromDirectory(path.join(ROOT, 'test', 'fixtures', 'hello-image'));
  for (const blob of [...image.layers, image.config]) await store.putBlob(repository, blob);
  await store.putManifest(repository, image.digest, image.manifest.data, image.manifest.descriptor.mediaType);
  const ref = `${registryAddress}/${repository}@${image.digest}`;
  const config = path.join(work, 'signing-config.json');
  fs.writeFileSync(config, OFFLINE_SIGNING_CONFIG);
  const key = path.join(KEYS, 'cosign.key');
  const common = ['--key', key, '--signing-config', config, '--allow-http-registry', '--yes'];
  const env = { COSIGN_PASSWORD: PASSWORD };
  const must = async (args: string[]) => {
    const r = await runCosign(cosign, args, work, env);
    if (r.code !== 0) throw new Error(`cosign ${args.join(' ')} failed: ${r.stderr}`);
  };
  await must(['sign', ...common, ref]);
  await must(['attest', ...common, '--type', 'slsaprovenance1', '--predicate', path.join(PREDICATES, 'slsa-predicate.json'), ref]);
  await must(['attest', ...common, '--type', 'spdxjson', '--predicate', path.join(PREDICATES, 'spdx-predicate.json'), ref]);
  const blobBundle = path.join(work, 'blob.bundle.json');
  await must(['sign-blob', '--key', key, '--signing-config', config, '--bundle', blobBundle, '--yes', path.join(KEYS, 'blob.txt')]);

  const hasReferrersApi = (await store.getReferrers(repository, image.digest)) !== undefined;
  const fallback = await store.getManifest(repository, referrersFallbackTag(image.digest));
  if (!fallback && !hasReferrersApi) throw new Error('cosign wrote no referrers fallback tag on a registry without the Referrers API');
  if (fallback && hasReferrersApi) throw new Error('cosign wrote a referrers fallback tag on a registry with the Referrers API');
  const referrers: ProducedReferrer[] = [];
  for (const d of await listReferrers(store, repository, image.digest)) {
    const manifest = (await store.getManifest(repository, d.digest))!.data;
    const parsed = JSON.parse(manifest.toString('utf8')) as ImageManifest;
    referrers.push({
      predicateType: parsed.annotations?.['dev.sigstore.bundle.predicateType'] ?? '',
      manifest,
      bundle: await store.getBlob(repository, parsed.layers[0].digest),
    });
  }
  referrers.sort((a, b) => a.predicateType.localeCompare(b.predicateType));
  return { repository, imageDigest: image.digest, imageManifest: image.manifest.data, fallbackIndex: fallback?.data, referrers, blobBundle: fs.readFileSync(blobBundle) };
}

/**
 * What must not change between two cosign runs: every field except signatures, timestamps, the
 * registry address and digests that depend on them.
 */
export function shapeOf(p: Produced): unknown {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => {
          if (['sig', 'signature', 'org.opencontainers.image.created'].includes(k)) return [k, '<varies>'];
          if (k === 'payload' && typeof x === 'string') return [k, strip(JSON.parse(Buffer.from(x, 'base64').toString('utf8')))];
          if ((k === 'digest' || k === 'size') && typeof x !== 'object') return [k, '<varies>'];
          if (k === 'name' && typeof x === 'string') return [k, x.replace(/^127\.0\.0\.1:\d+/, '<registry>')];
          return [k, strip(x)];
        }),
      );
    }
    return v;
  };
  const json = (b: Buffer) => strip(JSON.parse(b.toString('utf8')));
  return {
    fallbackIndex: p.fallbackIndex ? json(p.fallbackIndex) : undefined,
    referrers: p.referrers.map((r) => ({ predicateType: r.predicateType, manifest: json(r.manifest), bundle: json(r.bundle) })),
    blobBundle: json(p.blobBundle),
  };
}
