/**
 * Property tests of the tar reader: what the writer makes reads back the same, and no edit of a
 * real archive (the Helm vector chart, an image layer of the fixture, a PAX-heavy archive) makes
 * the reader loop, over-read or throw anything but ARCHIVE_INVALID / INPUT_TOO_LARGE. Header-aware
 * edits keep the checksum right so the reader has to deal with what the fields say.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { buildImageFromDirectory } from '../../src/oci/build';
import { createTar, listTar, normaliseMode, type TarEntry, type TarLimits } from '../../src/oci/tar';
import { INTERESTING_NUMBERS, applyByteEdits, byteEdits, fuzzParams, parsesOrRefuses } from '../support/fuzz';
import { paxRecord, withChecksum } from '../support/tar-bytes';

const ALLOWED = ['ARCHIVE_INVALID', 'INPUT_TOO_LARGE'];
const SMALL: Partial<TarLimits> = { maxEntries: 8, maxPathBytes: 120, maxExtendedHeaderBytes: 700 };
let seeds: Buffer[] = [];

before(async () => {
  const chart = gunzipSync(readFileSync(path.join(__dirname, '..', 'vectors', 'helm', 'demo-1.2.3.tgz')));
  const image = await buildImageFromDirectory(path.join(__dirname, '..', 'fixtures', 'hello-image'));
  const layer = gunzipSync(image.layers[0]!.data);
  const long = `deep/${'d'.repeat(90)}/${'f'.repeat(40)}.txt`;
  const pax = createTar([
    { path: 'deep', type: 'directory' },
    { path: `deep/${'d'.repeat(90)}`, type: 'directory' },
    { path: long, type: 'file', data: Buffer.from('long path') },
    { path: 'link', type: 'symlink', linkname: `../${'t'.repeat(120)}` },
    { path: 'ünï.txt', type: 'file', data: Buffer.alloc(700, 'u') },
  ]);
  seeds = [chart, layer, pax];
});

/** Offsets of the header blocks of a well-formed archive. */
function headerOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos + 512 <= buf.length && !buf.subarray(pos, pos + 512).every((b) => b === 0)) {
    out.push(pos);
    // Earlier edits may have left any size here: walk on only while it is a plain octal number.
    const text = buf.subarray(pos + 124, pos + 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0';
    if (!/^[0-7]{1,11}$/.test(text)) break;
    pos += 512 + Math.ceil(parseInt(text, 8) / 512) * 512;
  }
  return out;
}

const FIELDS = { name: [0, 100], mode: [100, 8], size: [124, 12], typeflag: [156, 1], linkname: [157, 100], magic: [257, 6], prefix: [345, 155] } as const;

type HeaderEdit =
  | { kind: 'field'; header: number; field: keyof typeof FIELDS; text: string }
  | { kind: 'number'; header: number; field: 'size' | 'mode'; pick: number }
  | { kind: 'base256'; header: number; bytes: Uint8Array }
  | { kind: 'pax'; header: number; key: string; value: string };

const headerEdit: fc.Arbitrary<HeaderEdit> = fc.oneof(
  fc.record({ kind: fc.constant('field' as const), header: fc.nat(), field: fc.constantFrom(...(Object.keys(FIELDS) as Array<keyof typeof FIELDS>)), text: fc.string({ maxLength: 160 }) }),
  fc.record({ kind: fc.constant('number' as const), header: fc.nat(), field: fc.constantFrom('size' as const, 'mode' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('base256' as const), header: fc.nat(), bytes: fc.uint8Array({ minLength: 12, maxLength: 12 }) }),
  fc.record({
    kind: fc.constant('pax' as const),
    header: fc.nat(),
    key: fc.constantFrom('size', 'path', 'linkpath', 'mtime', ''),
    value: fc.oneof(fc.constantFrom(...INTERESTING_NUMBERS), fc.string({ maxLength: 200 })),
  }),
);

/** Applies header edits, each ending with a correct checksum; a PAX edit inserts an `x` header before the chosen one. */
function applyHeaderEdits(seed: Buffer, edits: readonly HeaderEdit[]): Buffer {
  let buf = Buffer.from(seed);
  for (const e of edits) {
    const offsets = headerOffsets(buf);
    if (offsets.length === 0) break;
    const at = offsets[e.header % offsets.length]!;
    if (e.kind === 'pax') {
      const body = Buffer.from(paxRecord(e.key, e.value), 'utf8');
      const h = Buffer.alloc(512);
      h.write('PaxHeaders/f', 0, 'latin1');
      h.write('0000644\0', 100, 'latin1');
      h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
      h.write('x', 156, 'latin1');
      h.write('ustar\0' + '00', 257, 'latin1');
      const padded = Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
      buf = Buffer.concat([buf.subarray(0, at), withChecksum(h), padded, buf.subarray(at)]);
      continue;
    }
    if (e.kind === 'base256') {
      Buffer.from(e.bytes).copy(buf, at + 124);
      buf[at + 124] = buf[at + 124]! | 0x80;
    } else {
      const [offset, length] = FIELDS[e.field];
      const text = e.kind === 'number' ? INTERESTING_NUMBERS[e.pick % INTERESTING_NUMBERS.length]! : e.text;
      buf.fill(0, at + offset, at + offset + length);
      buf.write(text, at + offset, length, 'utf8');
    }
    withChecksum(buf, at);
  }
  return buf;
}

/** What a successful listing promises, whatever the input. */
function checkListing(listed: ReturnType<typeof listTar>, limits: Partial<TarLimits> = {}): void {
  if (limits.maxEntries !== undefined) assert.ok(listed.length <= limits.maxEntries);
  for (const e of listed) {
    assert.ok(Number.isSafeInteger(e.size) && e.size >= 0, `size ${e.size}`);
    if (e.type === 'file') assert.equal(e.data?.length, e.size);
    if (limits.maxPathBytes !== undefined) assert.ok(Buffer.byteLength(e.path) <= limits.maxPathBytes);
  }
}

test('round trip: any set of entries the writer takes is read back as written', () => {
  const segment = fc.stringMatching(/^[a-z0-9._-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
  const entryPath = fc.array(segment, { minLength: 1, maxLength: 14 }).map((parts) => parts.join('/'));
  const entry: fc.Arbitrary<TarEntry> = fc.oneof(
    fc.record({ path: entryPath, type: fc.constant('file' as const), mode: fc.integer({ min: 0, max: 0o777 }), data: fc.uint8Array({ maxLength: 1500 }).map((a) => Buffer.from(a)) }),
    fc.record({ path: entryPath, type: fc.constant('directory' as const) }),
    fc.record({ path: entryPath, type: fc.constant('symlink' as const), linkname: fc.string({ minLength: 1, maxLength: 150 }).filter((s) => !s.includes('\0')) }),
  );
  fc.assert(
    fc.property(fc.uniqueArray(entry, { maxLength: 12, selector: (e) => e.path }), (entries) => {
      const listed = listTar(createTar(entries));
      const expected = [...entries]
        .map((e) => ({ path: e.type === 'directory' ? `${e.path}/` : e.path, type: e.type, mode: normaliseMode(e.type, e.mode), data: e.type === 'file' ? e.data : undefined, linkname: e.linkname }))
        .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
      assert.deepEqual(
        listed.map((e) => ({ path: e.path, type: e.type, mode: e.mode, data: e.data ? Buffer.from(e.data) : undefined, linkname: e.linkname })),
        expected,
      );
    }),
    fuzzParams(500),
  );
});

test('byte edits of real archives: listed or refused, never anything else', () => {
  fc.assert(
    fc.property(fc.nat(), byteEdits, fc.boolean(), (which, edits, small) => {
      const limits = small ? SMALL : {};
      const listed = parsesOrRefuses(() => listTar(applyByteEdits(seeds[which % seeds.length]!, edits), limits), ALLOWED);
      if (listed) checkListing(listed, limits);
    }),
    fuzzParams(2000),
  );
});

test('header edits with good checksums (sizes, types, names, PAX records): listed or refused, never a loop', () => {
  fc.assert(
    fc.property(fc.nat(), fc.array(headerEdit, { minLength: 1, maxLength: 4 }), fc.boolean(), (which, edits, small) => {
      const limits = small ? SMALL : {};
      const listed = parsesOrRefuses(() => listTar(applyHeaderEdits(seeds[which % seeds.length]!, edits), limits), ALLOWED);
      if (listed) checkListing(listed, limits);
    }),
    fuzzParams(2000),
  );
});

test('random bytes: refused or empty', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
      const listed = parsesOrRefuses(() => listTar(Buffer.from(bytes)), ALLOWED);
      if (listed) checkListing(listed);
    }),
    fuzzParams(1000),
  );
});
