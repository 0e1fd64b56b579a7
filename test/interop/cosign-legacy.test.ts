/**
 * The committed legacy-format vectors (test/vectors/cosign-image) against the REAL cosign v3.1.2:
 * cosign signs and attests the fixture image again, in the `.sig`/`.att` tag format, on a real
 * registry; what it stores must have the committed shapes, and our platform verify must pass it.
 * Skips when cosign is not installed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { RegistryStore } from '../../src/oci/registry';
import { verifyForPlatform } from '../../src/promotion/steps';
import { locateTool } from '../../src/stack/tools';
import { useRegistryFixture } from '../support/registry-fixture';
import { HERE, legacyShapeOf, produceLegacyWithCosign, REPOSITORY } from '../vectors/cosign-image/produce';

const KEYS = path.join(__dirname, '..', 'vectors', 'cosign-keys');
const cosign = locateTool('cosign');
const POLICY = { sourceRepo: 'https://github.com/acme/hello', builderIds: ['https://countersign.dev/builders/local@v1'], buildCommand: 'countersign build examples/hello', requireCommit: true };
const COMMIT = '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e';

describe('real cosign v3, legacy tag format, against the committed vectors', { skip: cosign ? false : 'cosign not installed' }, () => {
  const fx = useRegistryFixture({ name: 'legacy-interop' });

  test('cosign sign + attest write what the vectors hold, and our platform verify passes it', async () => {
    const { registry, dir: work } = fx;
    const fresh = await produceLegacyWithCosign(cosign!, registry.address, work, { keyFile: path.join(KEYS, 'cosign.key'), pubFile: path.join(KEYS, 'cosign.pub'), password: 'countersign-test' });
    const vector = JSON.parse(fs.readFileSync(path.join(HERE, 'vector.json'), 'utf8')) as { imageDigest: string; files: Record<string, unknown> };
    assert.equal(fresh.imageDigest, vector.imageDigest, 'the fixture image builds to the same digest');
    assert.deepEqual(Object.keys(fresh.files).sort(), Object.keys(vector.files).sort());
    const committed = Object.fromEntries(Object.keys(fresh.files).map((name) => [name, fs.readFileSync(path.join(HERE, name))]));
    assert.deepEqual(legacyShapeOf(Object.fromEntries(Object.entries(fresh.files).map(([n, f]) => [n, f.data]))), legacyShapeOf(committed));

    const store = new RegistryStore(registry.address);
    const report = await verifyForPlatform({ storeFor: () => store }, { repository: `${registry.address}/${REPOSITORY}`, digest: fresh.imageDigest }, fs.readFileSync(path.join(KEYS, 'cosign.pub'), 'utf8'), POLICY, COMMIT);
    assert.deepEqual(report.checks.filter((c) => !c.ok), []);
    assert.equal(report.checks.length, 7);
  });
});
