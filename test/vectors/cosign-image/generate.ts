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
import { createSpdxSbom } from '../../../src/sbom/spdx';
import { startRegistry } from '../../../src/stack/registry';
import { requireTool } from '../../../src/stack/tools';

import { FIXTURE, HERE, produceLegacyWithCosign, REPOSITORY } from './produce';

const ROOT = path.resolve(HERE, '..', '..', '..');
const KEYS = path.join(ROOT, 'test', 'vectors', 'cosign-keys');
const PASSWORD = 'countersign-test';

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
    // 1. The key pair.
    let keyFile = path.join(KEYS, 'cosign.key');
    let pubFile = path.join(KEYS, 'cosign.pub');
    if (!fs.existsSync(keyFile) || !fs.existsSync(pubFile)) {
      run(cosign, ['generate-key-pair', '--output-key-prefix', path.join(HERE, 'cosign')], { COSIGN_PASSWORD: PASSWORD });
      keyFile = path.join(HERE, 'cosign.key');
      pubFile = path.join(HERE, 'cosign.pub');
    }

    // 2. Predicates (the SBOM names the image in this run's registry).
    write('slsa-predicate.json', `${JSON.stringify(SLSA_PREDICATE, null, 2)}\n`);
    const image = await buildImageFromDirectory(FIXTURE);
    const sbom = createSpdxSbom({ imageName: `${registry.address}/${REPOSITORY}`, imageDigest: image.digest, files: image.files, created: '2026-01-01T00:00:05Z' });
    write('spdx-predicate.json', `${JSON.stringify(sbom, null, 2)}\n`);

    // 3. cosign sign / attest in the legacy tag format, checked by cosign itself; what it stored.
    const produced = await produceLegacyWithCosign(cosign, registry.address, work, { keyFile, pubFile, password: PASSWORD });
    const files: Record<string, { digest: string; mediaType: string; size: number }> = {};
    for (const [name, f] of Object.entries(produced.files)) {
      write(name, f.data);
      files[name] = { digest: f.digest, mediaType: f.mediaType, size: f.data.length };
    }
    write('cosign.pub', fs.readFileSync(pubFile));

    const vector = {
      description: 'cosign v3.1.2 legacy (tag) signature and attestations for test/fixtures/hello-image; see README.md',
      cosignVersion: version,
      generatedAt: new Date().toISOString(),
      registry: registry.address,
      repository: REPOSITORY,
      dockerReference: `${registry.address}/${REPOSITORY}`,
      imageDigest: produced.imageDigest,
      publicKey: 'cosign.pub',
      signatures: { tag: produced.sigTag, manifestDigest: produced.files['sig-manifest.json'].digest, layers: ['sig-payload.json'] },
      attestations: {
        tag: produced.attTag,
        manifestDigest: produced.files['att-manifest.json'].digest,
        layers: ['att-slsa-envelope.json', 'att-spdx-envelope.json'],
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
