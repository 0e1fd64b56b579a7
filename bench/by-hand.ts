/**
 * The same steps a promotion takes, done by hand with stock cosign processes (the yardstick for
 * "faster than by hand"): push the image, `cosign sign` with the developer key, `cosign attest`
 * provenance and SBOM, `cosign verify` + `verify-attestation` with the developer key, `cosign sign`
 * with the platform key. The push uses countersign's own build (cosign has no build step).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildImageFromDirectory } from '../src/oci/build';
import { RegistryStore } from '../src/oci/registry';

const PREDICATES = path.join(__dirname, '..', 'test', 'vectors', 'cosign-image');
/** A signing config with no services: cosign v3 signs with the key alone (no Rekor, no TSA), as the bench worker does. */
const OFFLINE_SIGNING_CONFIG = '{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json","rekorTlogConfig":{},"tsaConfig":{}}\n';

export interface ByHandSetup {
  cosign: string;
  /** host:port the registry answers on. */
  registry: string;
  keysDir: string;
  password: string;
  /** Scratch directory: cosign's HOME and the signing config. */
  work: string;
}

/** Runs the flow for one directory; resolves with its wall time in ms. */
export async function promoteByHand(setup: ByHandSetup, directory: string, repository: string): Promise<number> {
  const t0 = Date.now();
  const config = path.join(setup.work, 'signing-config.json');
  if (!fs.existsSync(config)) fs.writeFileSync(config, OFFLINE_SIGNING_CONFIG);
  const store = new RegistryStore(setup.registry);
  const image = await buildImageFromDirectory(directory);
  for (const blob of [...image.layers, image.config]) await store.putBlob(repository, blob);
  await store.putManifest(repository, image.digest, image.manifest.data, image.manifest.descriptor.mediaType);
  const ref = `${setup.registry}/${repository}@${image.digest}`;
  const dev = path.join(setup.keysDir, 'dev.key');
  const devPub = path.join(setup.keysDir, 'dev.pub');
  const writing = ['--signing-config', config, '--allow-http-registry', '--yes'];
  const reading = ['--key', devPub, '--insecure-ignore-tlog=true', '--allow-http-registry'];
  const steps = [
    ['sign', '--key', dev, ...writing, ref],
    ['attest', '--key', dev, ...writing, '--type', 'slsaprovenance1', '--predicate', path.join(PREDICATES, 'slsa-predicate.json'), ref],
    ['attest', '--key', dev, ...writing, '--type', 'spdxjson', '--predicate', path.join(PREDICATES, 'spdx-predicate.json'), ref],
    ['verify', ...reading, ref],
    ['verify-attestation', ...reading, '--type', 'slsaprovenance1', ref],
    ['sign', '--key', path.join(setup.keysDir, 'platform.key'), ...writing, ref],
  ];
  for (const args of steps) {
    try {
      await promisify(execFile)(setup.cosign, args, { env: { ...process.env, HOME: setup.work, COSIGN_PASSWORD: setup.password }, timeout: 120_000 });
    } catch (err) {
      throw new Error(`cosign ${args[0]} failed: ${(err as { stderr?: string }).stderr ?? err}`);
    }
  }
  return Date.now() - t0;
}
