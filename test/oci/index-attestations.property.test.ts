/**
 * Property tests of reading a multi-platform index (src/oci/index-attestations.ts): JSON edits of a
 * BuildKit-shaped index are read or refused with MANIFEST_INVALID or INPUT_TOO_LARGE, never thrown
 * otherwise.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { digestOf } from '../../src/oci/digest';
import { readIndexContents } from '../../src/oci/index-attestations';
import { MEDIA_TYPE } from '../../src/oci/types';
import { fuzzParams, jsonMutant, parsesOrRefusesAsync } from '../support/fuzz';
import { MemoryStore } from '../support/memory-store';
import { pushMultiPlatformImage } from '../support/multi-platform';

const HELLO = path.join(__dirname, '..', '..', 'examples', 'hello');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'index-attestations-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const REPO = 'apps/multi';
const PROVENANCE = { buildType: 'https://mobyproject.org/buildkit@v1' };

test('property: edits of a BuildKit index are read or refused with MANIFEST_INVALID / INPUT_TOO_LARGE, never thrown otherwise', async () => {
  const store = new MemoryStore();
  const pushed = await pushMultiPlatformImage(store, REPO, HELLO, work, { buildkitProvenance: PROVENANCE });
  const seed = JSON.parse((await store.getManifest(REPO, pushed.digest))!.data.toString('utf8'));
  await fc.assert(
    fc.asyncProperty(jsonMutant(seed), async (data) => {
      const digest = await store.putManifest(REPO, digestOf(data), data, MEDIA_TYPE.imageIndex);
      await parsesOrRefusesAsync(() => readIndexContents(store, REPO, digest), ['MANIFEST_INVALID', 'INPUT_TOO_LARGE', 'BAD_REFERENCE', 'DIGEST_MISMATCH', 'REGISTRY_RESPONSE_TOO_LARGE']);
    }),
    fuzzParams(500),
  );
});
