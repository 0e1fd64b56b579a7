/**
 * The tar reader on archives no honest writer makes: negative, non-numeric and absurd sizes,
 * oversized headers, paths and entry counts. Each is refused with a code and the numbers, and
 * reading always ends.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { CountersignError, hasCode } from '../../src/errors';
import { DEFAULT_TAR_MAX_EXTENDED_HEADER_BYTES, DEFAULT_TAR_MAX_PATH_BYTES } from '../../src/oci/tar-reader';
import { createTar, listTar } from '../../src/oci/tar';
import { END, blocks, paxEntry, paxRecord, rawHeader } from '../support/tar-bytes';

const file = (name: string, data = '') =>
  Buffer.concat([rawHeader({ name, size: Buffer.byteLength(data).toString(8).padStart(11, '0') }), blocks(Buffer.from(data))]);

/** listTar in a worker with a 64 MB heap: what it returned or threw, or how the worker died. */
function listTarInWorker(archive: Buffer): Promise<{ entries?: number; code?: string; message?: string }> {
  const script = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(path.join(__dirname, '../support/list-tar-worker.ts'))});`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { eval: true, workerData: new Uint8Array(archive), resourceLimits: { maxOldGenerationSizeMb: 64 } });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited (${code}) without an answer`)));
  });
}

function refused(code: string, ...facts: RegExp[]) {
  return (err: unknown) => {
    assert.ok(err instanceof CountersignError, `a CountersignError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const fact of facts) assert.match(err.message, fact);
    return true;
  };
}

test('a negative PAX size that points the reader back at an earlier header ends, refused, instead of eating the heap', async () => {
  // x header at 0, its body at 512, the file header at 1024: size -1536 sends the cursor to 0.
  const archive = Buffer.concat([paxEntry(paxRecord('size', '-1536'), file('loop.txt')), END]);
  const outcome = await listTarInWorker(archive);
  assert.equal(outcome.code, 'ARCHIVE_INVALID', JSON.stringify(outcome));
  assert.match(outcome.message!, /PAX size "-1536" for the entry at offset 1024 is not a non-negative integer/);
});

test('a negative PAX size of one block does not list the entry twice', () => {
  const archive = Buffer.concat([paxEntry(paxRecord('size', '-512'), file('twice.txt', 'x')), END]);
  assert.throws(() => listTar(archive), refused('ARCHIVE_INVALID', /-512/));
});

test('a PAX size that is not a number is refused, not read as "stop here" (the entries after it would vanish)', () => {
  for (const size of ['abc', '', ' 12', '1e3', '0x10', '12abc']) {
    const archive = Buffer.concat([paxEntry(paxRecord('size', size), file('a.txt', 'hello')), file('b.txt', 'world'), END]);
    assert.throws(() => listTar(archive), refused('ARCHIVE_INVALID', /PAX size/), JSON.stringify(size));
  }
});

test('a huge declared size (octal, PAX, base-256) is refused with the numbers, before any read', () => {
  const octal = Buffer.concat([rawHeader({ name: 'big', size: '77777777777' }), blocks(Buffer.from('x')), END]);
  assert.throws(() => listTar(octal), refused('ARCHIVE_INVALID', /declares 8589934591 bytes, but only 1536 follow/));
  const pax = Buffer.concat([paxEntry(paxRecord('size', '9007199254740991'), file('big')), END]);
  assert.throws(() => listTar(pax), refused('ARCHIVE_INVALID', /declares 9007199254740991 bytes/));
  const beyond = Buffer.concat([paxEntry(paxRecord('size', '99999999999999999999'), file('big')), END]);
  assert.throws(() => listTar(beyond), refused('ARCHIVE_INVALID', /not a non-negative integer/));
  const base256 = Buffer.alloc(12);
  base256[0] = 0x80;
  base256.fill(0xff, 1);
  assert.throws(() => listTar(Buffer.concat([rawHeader({ name: 'big', size: { base256 } }), END])), refused('ARCHIVE_INVALID', /beyond 2\^53/));
  const negative = Buffer.alloc(12, 0xff); // -1 in GNU base-256
  assert.throws(() => listTar(Buffer.concat([rawHeader({ name: 'neg', size: { base256: negative } }), END])), refused('ARCHIVE_INVALID', /negative size/));
});

test('base-256 sizes that are honest still read', () => {
  const size = Buffer.alloc(12);
  size[0] = 0x80;
  size[11] = 5;
  const archive = Buffer.concat([rawHeader({ name: 'five', size: { base256: size } }), blocks(Buffer.from('12345')), END]);
  assert.deepEqual(listTar(archive).map((e) => [e.path, e.size, e.data?.toString()]), [['five', 5, '12345']]);
});

test('an extended header over the limit is refused before it is parsed', () => {
  const records = paxRecord('comment', 'x'.repeat(DEFAULT_TAR_MAX_EXTENDED_HEADER_BYTES));
  const archive = Buffer.concat([paxEntry(records, file('a')), END]);
  assert.throws(() => listTar(archive), refused('INPUT_TOO_LARGE', new RegExp(`over the limit of ${DEFAULT_TAR_MAX_EXTENDED_HEADER_BYTES}`)));
});

test('malformed PAX records are refused (length, missing newline, no key)', () => {
  for (const records of ['abc path=x\n', '99 path=x\n', '11 path=xy', '7 =abc\n', '0 \n', 'junk']) {
    const archive = Buffer.concat([paxEntry(records, file('a')), END]);
    assert.throws(() => listTar(archive), refused('ARCHIVE_INVALID', /PAX header at offset 0/), JSON.stringify(records));
  }
});

test('a path or link target past PATH_MAX is refused', () => {
  const long = `${'d/'.repeat(DEFAULT_TAR_MAX_PATH_BYTES / 2)}f`;
  assert.throws(() => listTar(Buffer.concat([paxEntry(paxRecord('path', long), file('short')), END])), refused('INPUT_TOO_LARGE', /path of the entry at offset 5120 is 4097 bytes, over the limit of 4096/));
  const gnu = Buffer.from(long);
  const archive = Buffer.concat([rawHeader({ name: '././@LongLink', typeflag: 'K', size: gnu.length.toString(8).padStart(11, '0') }), blocks(gnu), rawHeader({ name: 'l', typeflag: '2' }), END]);
  assert.throws(() => listTar(archive), refused('INPUT_TOO_LARGE', /link target/));
});

test('more entries than the limit is refused with the limit', () => {
  const tar = createTar(Array.from({ length: 11 }, (_, i) => ({ path: `f${i}`, type: 'file' as const })));
  assert.equal(listTar(tar, { maxEntries: 11 }).length, 11);
  assert.throws(() => listTar(tar, { maxEntries: 10 }), refused('INPUT_TOO_LARGE', /more than 10 entries/));
});

test('header-only entries skip no data, as docker extracts them: a directory "with" a size hides nothing', () => {
  // A directory header claiming 512 bytes, then the file docker unpacks, whose content is the
  // header of a harmless decoy. Skipping the directory's "data" (the old reader did) listed the
  // decoy and never the file, so the SBOM missed what runs.
  const decoy = rawHeader({ name: 'decoy.txt' });
  const archive = Buffer.concat([rawHeader({ name: 'dir/', typeflag: '5', size: '00000001000' }), rawHeader({ name: 'dir/hidden.sh', size: '00000001000' }), decoy, END]);
  assert.deepEqual(listTar(archive).map((e) => [e.path, e.type, e.size]), [
    ['dir/', 'directory', 0],
    ['dir/hidden.sh', 'file', 512],
  ]);
});

test('a trailing partial header is refused; trailing zero bytes are the end', () => {
  const tar = createTar([{ path: 'a', type: 'file', data: Buffer.from('a') }]).subarray(0, 1024);
  assert.equal(listTar(tar).length, 1);
  assert.throws(() => listTar(Buffer.concat([tar, Buffer.from('garbage')])), (e) => hasCode(e, 'ARCHIVE_INVALID'));
  assert.equal(listTar(Buffer.concat([tar, Buffer.alloc(100)])).length, 1);
});
