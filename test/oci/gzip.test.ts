import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { hasCode } from '../../src/errors';
import { gunzipBounded } from '../../src/oci/gzip';

test('inflates up to the limit exactly', async () => {
  const data = Buffer.alloc(4096, 7);
  assert.deepEqual(await gunzipBounded(gzipSync(data), 4096, 'layer'), data);
});

test('a bomb stops at the limit with INPUT_TOO_LARGE, the limit and the compressed size', async () => {
  const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024));
  await assert.rejects(gunzipBounded(bomb, 1024 * 1024, 'layer sha256:abc'), (e) => {
    assert.ok(hasCode(e, 'INPUT_TOO_LARGE'), String(e));
    assert.match((e as Error).message, new RegExp(`layer sha256:abc inflates past the 1048576-byte limit \\(${bomb.length} bytes compressed\\)`));
    return true;
  });
  await assert.rejects(gunzipBounded(gzipSync(Buffer.alloc(4097)), 4096, 'layer'), (e) => hasCode(e, 'INPUT_TOO_LARGE'), 'one byte over');
});

test('what is not gzip, or is cut short, is ARCHIVE_INVALID', async () => {
  const good = gzipSync(Buffer.from('hello world'));
  for (const bad of [Buffer.from('plain text'), good.subarray(0, good.length - 6), Buffer.alloc(0)]) {
    await assert.rejects(gunzipBounded(bad, 1024, 'layer'), (e) => hasCode(e, 'ARCHIVE_INVALID'), bad.toString('hex'));
  }
});

test('found by the property test: a limit of 0 takes an empty stream and refuses any byte (zlib itself throws a RangeError for 0)', async () => {
  assert.deepEqual(await gunzipBounded(gzipSync(Buffer.alloc(0)), 0, 'layer'), Buffer.alloc(0));
  await assert.rejects(gunzipBounded(gzipSync(Buffer.from('x')), 0, 'layer'), (e) => hasCode(e, 'INPUT_TOO_LARGE'));
});
