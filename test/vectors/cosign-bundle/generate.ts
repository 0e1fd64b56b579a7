/**
 * Regenerates the cosign v3 bundle-format vectors in this folder from the REAL cosign:
 *
 *   npx tsx test/vectors/cosign-bundle/generate.ts
 *
 * Throwaway registry (distribution 2.8, no Referrers API, so cosign writes the fallback index
 * tag), the fixture image, cosign sign + attest (SLSA v1, SPDX) + sign-blob with the test-only key
 * in ../cosign-keys, offline. Writes what cosign stored; tests never run this.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRegistry } from '../../../src/stack/registry';
import { requireTool } from '../../../src/stack/tools';
import { produceWithCosign, runCosign } from './produce';

async function main(): Promise<void> {
  const cosign = requireTool('cosign');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-bundle-vectors-'));
  const registry = await startRegistry({ rootDir: path.join(work, 'registry') });
  try {
    const version = (await runCosign(cosign, ['version'], work)).stdout.match(/GitVersion:\s*(\S+)/)?.[1] ?? 'unknown';
    const p = await produceWithCosign(cosign, registry.address, work);
    if (!p.fallbackIndex) throw new Error('the vectors need the fallback index tag; the registry has the Referrers API');
    const files: Record<string, Buffer> = {
      'image-manifest.json': p.imageManifest,
      'fallback-index.json': p.fallbackIndex,
      'blob.bundle.json': p.blobBundle,
    };
    const names: Record<string, string> = { 'https://sigstore.dev/cosign/sign/v1': 'sign', 'https://slsa.dev/provenance/v1': 'slsa', 'https://spdx.dev/Document': 'spdx' };
    const referrers = p.referrers.map((r) => {
      const name = names[r.predicateType];
      files[`${name}-manifest.json`] = r.manifest;
      files[`${name}-bundle.json`] = r.bundle;
      return { predicateType: r.predicateType, manifest: `${name}-manifest.json`, bundle: `${name}-bundle.json` };
    });
    for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(__dirname, name), data);
    const vector = {
      description: 'cosign v3 default (bundle) format: image signature, two attestations and a blob bundle; see README.md',
      cosignVersion: version,
      generatedAt: new Date().toISOString(),
      registry: registry.address,
      repository: p.repository,
      imageDigest: p.imageDigest,
      referrers,
      blob: { file: '../cosign-keys/blob.txt', bundle: 'blob.bundle.json' },
    };
    fs.writeFileSync(path.join(__dirname, 'vector.json'), `${JSON.stringify(vector, null, 2)}\n`);
    console.log(`wrote ${Object.keys(files).length + 1} files`);
  } finally {
    await registry.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
