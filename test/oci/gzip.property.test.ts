/**
 * Property tests of the bounded gunzip: what gzip makes inflates back unchanged under a limit it
 * fits, past the limit is INPUT_TOO_LARGE, and any edit of a real gzip stream (the Helm vector
 * chart, the fixture's image layer) inflates or is refused, nothing else.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { buildImageFromDirectory } from '../../src/oci/build';
import { gunzipBounded } from '../../src/oci/gzip';
import { applyByteEdits, byteEdits, fuzzParams, parsesOrRefusesAsync } from '../support/fuzz';

let seeds: Buffer[] = [];
before(async () => {
  const image = await buildImageFromDirectory(path.join(__dirname, '..', 'fixtures', 'hello-image'));
  seeds = [readFileSync(path.join(__dirname, '..', 'vectors', 'helm', 'demo-1.2.3.tgz')), image.layers[0]!.data];
});

test('round trip under the limit; one byte over it refused', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 20_000 }), fc.integer({ min: 0, max: 9 }), async (bytes, level) => {
      const data = Buffer.from(bytes);
      const gz = gzipSync(data, { level });
      assert.deepEqual(await gunzipBounded(gz, data.length, 'x'), data);
      if (data.length > 0) {
        const refused = await parsesOrRefusesAsync(() => gunzipBounded(gz, data.length - 1, 'x'), ['INPUT_TOO_LARGE']);
        assert.equal(refused, undefined);
      }
    }),
    fuzzParams(500),
  );
});

test('edits of real gzip streams: inflated within the limit or refused', async () => {
  await fc.assert(
    fc.asyncProperty(fc.nat(), byteEdits, async (which, edits) => {
      const out = await parsesOrRefusesAsync(() => gunzipBounded(applyByteEdits(seeds[which % seeds.length]!, edits), 64 * 1024, 'layer'), ['ARCHIVE_INVALID', 'INPUT_TOO_LARGE']);
      if (out) assert.ok(out.length <= 64 * 1024);
    }),
    fuzzParams(2000),
  );
});
