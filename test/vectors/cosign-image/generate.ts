/**
 * Regenerates the cosign image vectors in this folder from the REAL cosign binary:
 *
 *   npx tsx test/vectors/cosign-image/generate.ts
 *
 * It starts a throwaway registry, pushes test/fixtures/hello-image (built reproducibly), has cosign
 * sign it and attest SLSA v1 provenance plus an SPDX SBOM in cosign's legacy tag format
 * (sha256-<hex>.sig / .att), checks both with `cosign verify` / `cosign verify-attestation`, then
 * saves exactly what cosign wrote into the registry. The output is committed; tests never run this.
 *
 * The key is the test-only pair in ../cosign-keys (passphrase countersign-test); when it is absent
 * a fresh pair is made with `cosign generate-key-pair` into this folder.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildImageFromDirectory } from '../../../src/oci/build';
import { RegistryStore } from '../../../src/oci/registry';
import type { ImageManifest } from '../../../src/oci/types';
import { createSpdxSbom } from '../../../src/sbom/spdx';
import { startRegistry } from '../../../src/stack/registry';
import { requireTool } from '../../../src/stack/tools';

const HERE = __dirname;
const ROOT = path.resolve(HERE, '..', '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'hello-image');
const KEYS = path.join(ROOT, 'test', 'vectors', 'cosign-keys');
const PASSWORD = 'countersign-test';
const REPOSITORY = 'apps/hello';

/** The flags that make cosign v3.1.2 write the legacy `.sig`/`.att` tags, offline. */
const LEGACY_FLAGS = ['--tlog-upload=false', '--new-bundle-format=false', '--use-signing-config=false', '--allow-http-registry', '--yes'];

/** The SLSA v1 predicate cosign is asked to attest (countersign's own layout of the facts). */
const SLSA_PREDICATE = {
  buildDefinition: {
    buildType: 'https://countersign.dev/buildtypes/directory/v1',
    externalParameters: {
      source: { repository: 'https://github.com/acme/hello', commit: '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e' },
      buildCommand: 'countersign build examples/hello',
    },
    resolvedDependencies: [
      {
        uri: 'git+https://github.com/acme/hello@4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e',
        digest: { gitCommit: '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e' },
      },
    ],
  },
  runDetails: {
    builder: { id: 'https://countersign.dev/builders/local@v1' },
    metadata: {
      invocationId: 'cosign-vector-1',
      startedOn: '2026-01-01T00:00:00Z',
      finishedOn: '2026-01-01T00:00:05Z',
    },
  },
};

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  console.log(`$ ${[path.basename(cmd), ...args].join(' ')}`);
  const out = execFileSync(cmd, args, {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  return out;
}

function write(name: string, data: Buffer | string): void {
  fs.writeFileSync(path.join(HERE, name), data);
  console.log(`  wrote ${name}`);
}

async function main(): Promise<void> {
  const cosign = requireTool('cosign');
  const version = run(cosign, ['version']).match(/GitVersion:\s*(\S+)/)?.[1] ?? 'unknown';
  if (version !== 'v3.1.2') console.warn(`warning: cosign is ${version}, the README documents v3.1.2`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-cosign-vectors-'));
  const registry = await startRegistry({ rootDir: path.join(work, 'registry') });
  try {
    const store = new RegistryStore(registry.address);

    // 1. The image, pushed by digest.
    const image = await buildImageFromDirectory(FIXTURE);
    for (const blob of [...image.layers, image.config]) await store.putBlob(REPOSITORY, blob);
    await store.putManifest(REPOSITORY, image.digest, image.manifest.data, image.manifest.descriptor.mediaType);
    const ref = `${registry.address}/${REPOSITORY}@${image.digest}`;
    console.log(`pushed ${ref}`);

    // 2. The key pair.
    let keyFile = path.join(KEYS, 'cosign.key');
    let pubFile = path.join(KEYS, 'cosign.pub');
    if (!fs.existsSync(keyFile) || !fs.existsSync(pubFile)) {
      run(cosign, ['generate-key-pair', '--output-key-prefix', path.join(HERE, 'cosign')], { COSIGN_PASSWORD: PASSWORD });
      keyFile = path.join(HERE, 'cosign.key');
      pubFile = path.join(HERE, 'cosign.pub');
    }
    const cosignEnv = { COSIGN_PASSWORD: PASSWORD, HOME: work };

    // 3. Predicates.
    write('slsa-predicate.json', `${JSON.stringify(SLSA_PREDICATE, null, 2)}\n`);
    const sbom = createSpdxSbom({
      imageName: `${registry.address}/${REPOSITORY}`,
      imageDigest: image.digest,
      files: image.files,
      created: '2026-01-01T00:00:05Z',
    });
    write('spdx-predicate.json', `${JSON.stringify(sbom, null, 2)}\n`);

    // 4. cosign sign / attest, legacy tag format.
    run(cosign, ['sign', '--key', keyFile, ...LEGACY_FLAGS, ref], cosignEnv);
    run(
      cosign,
      ['attest', '--key', keyFile, '--type', 'slsaprovenance1', '--predicate', path.join(HERE, 'slsa-predicate.json'), ...LEGACY_FLAGS, ref],
      cosignEnv,
    );
    run(
      cosign,
      ['attest', '--key', keyFile, '--type', 'spdxjson', '--predicate', path.join(HERE, 'spdx-predicate.json'), ...LEGACY_FLAGS, ref],
      cosignEnv,
    );

    // 5. cosign must accept its own output offline.
    const verifyFlags = ['--key', pubFile, '--insecure-ignore-tlog=true', '--allow-http-registry'];
    run(cosign, ['verify', ...verifyFlags, ref], { HOME: work });
    run(cosign, ['verify-attestation', ...verifyFlags, '--type', 'slsaprovenance1', ref], { HOME: work });
    run(cosign, ['verify-attestation', ...verifyFlags, '--type', 'spdxjson', ref], { HOME: work });

    // 6. Save what cosign stored.
    const tags = await store.listTags(REPOSITORY);
    const hex = image.digest.slice('sha256:'.length);
    const sigTag = `sha256-${hex}.sig`;
    const attTag = `sha256-${hex}.att`;
    if (!tags.includes(sigTag) || !tags.includes(attTag)) throw new Error(`cosign did not write the legacy tags; tags: ${tags.join(', ')}`);

    const files: Record<string, { digest: string; mediaType: string; size: number }> = {};
    const save = (name: string, data: Buffer, digest: string, mediaType: string) => {
      write(name, data);
      files[name] = { digest, mediaType, size: data.length };
    };

    const imageManifest = (await store.getManifest(REPOSITORY, image.digest))!;
    save('image-manifest.json', imageManifest.data, imageManifest.digest, imageManifest.mediaType);

    const saveSignatureManifest = async (tag: string, prefix: string, layerNames: string[]) => {
      const stored = await store.getManifest(REPOSITORY, tag);
      if (!stored) throw new Error(`${tag} vanished`);
      save(`${prefix}-manifest.json`, stored.data, stored.digest, stored.mediaType);
      const manifest = JSON.parse(stored.data.toString('utf8')) as ImageManifest;
      save(`${prefix}-config.json`, await store.getBlob(REPOSITORY, manifest.config.digest), manifest.config.digest, manifest.config.mediaType);
      if (manifest.layers.length !== layerNames.length) {
        throw new Error(`${tag} has ${manifest.layers.length} layers, expected ${layerNames.length}`);
      }
      for (const [i, layer] of manifest.layers.entries()) {
        save(layerNames[i], await store.getBlob(REPOSITORY, layer.digest), layer.digest, layer.mediaType);
      }
      return { tag, manifestDigest: stored.digest, layers: layerNames };
    };
    const sig = await saveSignatureManifest(sigTag, 'sig', ['sig-payload.json']);
    const att = await saveSignatureManifest(attTag, 'att', ['att-slsa-envelope.json', 'att-spdx-envelope.json']);
    write('cosign.pub', fs.readFileSync(pubFile));

    const vector = {
      description: 'cosign v3.1.2 legacy (tag) signature and attestations for test/fixtures/hello-image; see README.md',
      cosignVersion: version,
      generatedAt: new Date().toISOString(),
      registry: registry.address,
      repository: REPOSITORY,
      dockerReference: `${registry.address}/${REPOSITORY}`,
      imageDigest: image.digest,
      publicKey: 'cosign.pub',
      signatures: sig,
      attestations: {
        ...att,
        predicateTypes: ['https://slsa.dev/provenance/v1', 'https://spdx.dev/Document'],
      },
      files,
    };
    write('vector.json', `${JSON.stringify(vector, null, 2)}\n`);
  } finally {
    await registry.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  if (err && typeof err === 'object' && 'stderr' in err) console.error(String((err as { stderr: unknown }).stderr));
  process.exitCode = 1;
});
