import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { hasCode } from '../../src/errors';
import { collectTree, createTar, listTar, normaliseMode, type TarEntry } from '../../src/oci/tar';

const HAVE_GNU_TAR = (() => {
  const r = spawnSync('tar', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && /GNU tar/.test(r.stdout);
})();

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'countersign-tar-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const LONG_DIR = `deep/${'d'.repeat(60)}/${'e'.repeat(60)}`;
const LONG_FILE = `${LONG_DIR}/${'f'.repeat(80)}.txt`; // > 100 bytes: needs a PAX path record

function sample(): TarEntry[] {
  return [
    { path: 'b.txt', type: 'file', mode: 0o600, data: Buffer.from('bee\n') },
    { path: 'a', type: 'directory', mode: 0o700 },
    { path: 'a/run.sh', type: 'file', mode: 0o700, data: Buffer.from('#!/bin/sh\necho hi\n') },
    { path: 'a/empty', type: 'file', mode: 0o644, data: Buffer.alloc(0) },
    { path: 'deep', type: 'directory' },
    { path: `deep/${'d'.repeat(60)}`, type: 'directory' },
    { path: LONG_DIR, type: 'directory' },
    { path: LONG_FILE, type: 'file', data: Buffer.from('long path content') },
    { path: 'link', type: 'symlink', linkname: '../outside/target' },
    { path: 'ünïcode.txt', type: 'file', data: Buffer.from('utf8 name') },
  ];
}

test('round trip: what is written is read back, sorted, with normalised modes', () => {
  const tar = createTar(sample());
  assert.equal(tar.length % 512, 0);
  const listed = listTar(tar);
  assert.deepEqual(
    listed.map((e) => [e.path, e.type, e.mode.toString(8), e.size]),
    [
      ['a/', 'directory', '755', 0],
      ['a/empty', 'file', '644', 0],
      ['a/run.sh', 'file', '755', 18],
      ['b.txt', 'file', '644', 4],
      ['deep/', 'directory', '755', 0],
      [`deep/${'d'.repeat(60)}/`, 'directory', '755', 0],
      [`${LONG_DIR}/`, 'directory', '755', 0],
      [LONG_FILE, 'file', '644', 17],
      ['link', 'symlink', '777', 0],
      ['ünïcode.txt', 'file', '644', 9],
    ],
  );
  assert.equal(listed.find((e) => e.path === 'a/run.sh')?.data?.toString(), '#!/bin/sh\necho hi\n');
  assert.equal(listed.find((e) => e.path === LONG_FILE)?.data?.toString(), 'long path content');
  assert.equal(listed.find((e) => e.path === 'link')?.linkname, '../outside/target');
});

test('headers are deterministic: mtime 0, uid/gid 0, empty owner names, same bytes for any input order', () => {
  const a = createTar(sample());
  const b = createTar([...sample()].reverse());
  assert.ok(a.equals(b));
  const first = a.subarray(0, 512);
  assert.equal(first.subarray(0, 3).toString(), 'a/\0');
  assert.equal(first.subarray(108, 116).toString(), '0000000\0'); // uid
  assert.equal(first.subarray(116, 124).toString(), '0000000\0'); // gid
  assert.equal(first.subarray(136, 148).toString(), '00000000000\0'); // mtime
  assert.equal(first.subarray(257, 265).toString(), 'ustar\x0000');
  assert.ok(first.subarray(265, 329).every((x) => x === 0), 'uname/gname empty');
  assert.ok(a.subarray(a.length - 1024).every((x) => x === 0), 'ends with two zero blocks');
});

test('PAX headers appear only for entries that need them', () => {
  const tar = createTar(sample());
  // Walk raw headers: every 'x' header must be followed by an entry whose path is > 100 bytes.
  const raw: Array<{ flag: string }> = [];
  for (let pos = 0; pos + 512 <= tar.length; ) {
    const h = tar.subarray(pos, pos + 512);
    if (h.every((x) => x === 0)) break;
    raw.push({ flag: String.fromCharCode(h[156]) });
    const size = parseInt(h.subarray(124, 136).toString().replace(/\0.*$/, ''), 8);
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  const listed = listTar(tar);
  const paxed: string[] = [];
  let next = 0; // index in `listed` of the entry the next raw header belongs to
  for (const h of raw) {
    if (h.flag === 'x') paxed.push(listed[next].path);
    else next++;
  }
  assert.deepEqual(paxed, [`${LONG_DIR}/`, LONG_FILE]);
  assert.deepEqual(
    listed.filter((e) => Buffer.byteLength(e.path) > 100).map((e) => e.path),
    paxed,
    'and only those',
  );

  const longLink = 'x/'.repeat(70) + 'target';
  assert.deepEqual(listTar(createTar([{ path: 'l', type: 'symlink', linkname: longLink }])), [{ path: 'l', type: 'symlink', size: 0, mode: 0o777, linkname: longLink }]);

  // exactly 100 bytes still fits the ustar name field
  const hundred = 'p'.repeat(100);
  const t100 = createTar([{ path: hundred, type: 'file', data: Buffer.from('x') }]);
  assert.equal(String.fromCharCode(t100[156]), '0');
  assert.equal(listTar(t100)[0].path, hundred);
});

test('normaliseMode keeps only "executable or not"', () => {
  assert.equal(normaliseMode('file', 0o100600), 0o644);
  assert.equal(normaliseMode('file', 0o100744), 0o755);
  assert.equal(normaliseMode('file', 0o100701), 0o755);
  assert.equal(normaliseMode('file'), 0o644);
  assert.equal(normaliseMode('directory', 0o700), 0o755);
  assert.equal(normaliseMode('symlink', 0o755), 0o777);
});

test('bad entries are refused', () => {
  const bad: TarEntry[][] = [
    [{ path: '/abs', type: 'file', data: Buffer.from('') }],
    [{ path: 'a/../b', type: 'file', data: Buffer.from('') }],
    [{ path: 'a//b', type: 'file', data: Buffer.from('') }],
    [{ path: '', type: 'file' }],
    [{ path: 'l', type: 'symlink' }],
    [
      { path: 'same', type: 'file', data: Buffer.from('1') },
      { path: 'same', type: 'directory' },
    ],
  ];
  for (const entries of bad) {
    assert.throws(() => createTar(entries), (e) => hasCode(e, 'BAD_INPUT'), JSON.stringify(entries));
  }
});

test('listTar refuses corrupt archives', () => {
  const tar = createTar([{ path: 'f', type: 'file', data: Buffer.from('hello') }]);
  const corrupt = Buffer.from(tar);
  corrupt[0] = 'g'.charCodeAt(0);
  assert.throws(() => listTar(corrupt), (e) => hasCode(e, 'ARCHIVE_INVALID'));
  assert.throws(() => listTar(tar.subarray(0, 512)), (e) => hasCode(e, 'ARCHIVE_INVALID'), 'truncated data');
  assert.deepEqual(listTar(Buffer.alloc(1024)), []);
});

test('collectTree: directories, exec bit from the source, symlinks stored not followed', (t) => {
  const root = tmp(t);
  const dir = path.join(root, 'tree');
  mkdirSync(path.join(dir, 'sub', 'inner'), { recursive: true });
  writeFileSync(path.join(dir, 'sub', 'inner', 'tool'), 'bin');
  chmodSync(path.join(dir, 'sub', 'inner', 'tool'), 0o750);
  writeFileSync(path.join(dir, 'plain'), 'plain');
  chmodSync(path.join(dir, 'plain'), 0o666);
  writeFileSync(path.join(root, 'secret'), 'outside the tree');
  symlinkSync('../secret', path.join(dir, 'escape'));
  return collectTree(dir).then((entries) => {
    const listed = listTar(createTar(entries));
    assert.deepEqual(
      listed.map((e) => [e.path, e.type, e.mode.toString(8)]),
      [
        ['escape', 'symlink', '777'],
        ['plain', 'file', '644'],
        ['sub/', 'directory', '755'],
        ['sub/inner/', 'directory', '755'],
        ['sub/inner/tool', 'file', '755'],
      ],
    );
    const link = listed.find((e) => e.path === 'escape')!;
    assert.equal(link.linkname, '../secret');
    assert.equal(link.data, undefined, 'the target content is not pulled in');
    assert.ok(!createTar(entries).includes(Buffer.from('outside the tree')));
  });
});

test('collectTree refuses special files', { skip: process.platform === 'win32' }, async (t) => {
  const dir = tmp(t);
  const r = spawnSync('mkfifo', [path.join(dir, 'pipe')]);
  if (r.status !== 0) return t.skip('mkfifo not available');
  await assert.rejects(collectTree(dir), (e: unknown) => hasCode(e, 'BUILD_FAILED') && (e as Error).message.includes('pipe'));
});

test('GNU tar reads our archive (tar -tvf, then extract and compare)', { skip: !HAVE_GNU_TAR && 'GNU tar not installed' }, (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'out.tar');
  writeFileSync(file, createTar(sample()));
  const list = spawnSync('tar', ['-tvf', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  assert.equal(list.status, 0, list.stderr);
  assert.equal(list.stderr, '', 'no warnings');
  const lines = list.stdout.trim().split('\n');
  assert.equal(lines.length, 10);
  assert.match(lines[0], /^drwxr-xr-x 0\/0\s+0 1970-01-01 00:00 a\/$/);
  assert.match(lines[2], /^-rwxr-xr-x 0\/0\s+18 1970-01-01 00:00 a\/run\.sh$/);
  assert.ok(lines.some((l) => l.endsWith(` ${LONG_FILE}`)), 'long path read via PAX');
  assert.ok(lines.some((l) => /^lrwxrwxrwx .* link -> \.\.\/outside\/target$/.test(l)));

  const out = path.join(dir, 'x');
  mkdirSync(out);
  const x = spawnSync('tar', ['-xf', file, '-C', out], { encoding: 'utf8' });
  assert.equal(x.status, 0, x.stderr);
  assert.equal(readFileSync(path.join(out, LONG_FILE), 'utf8'), 'long path content');
  assert.equal(readFileSync(path.join(out, 'ünïcode.txt'), 'utf8'), 'utf8 name');
});

test('listTar reads archives GNU tar writes (gnu, ustar and pax formats)', { skip: !HAVE_GNU_TAR && 'GNU tar not installed' }, (t) => {
  const dir = tmp(t);
  const src = path.join(dir, 'src');
  mkdirSync(path.join(src, LONG_DIR), { recursive: true });
  writeFileSync(path.join(src, LONG_FILE), 'long path content');
  writeFileSync(path.join(src, 'short.txt'), 'short');
  for (const format of ['gnu', 'pax', 'ustar']) {
    const file = path.join(dir, `${format}.tar`);
    const r = spawnSync('tar', [`--format=${format}`, '-cf', file, '-C', src, '.'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const listed = listTar(readFileSync(file));
    const long = listed.find((e) => e.path.endsWith(LONG_FILE));
    assert.ok(long, `${format}: long file found in ${listed.map((e) => e.path).join(', ')}`);
    assert.equal(long.type, 'file');
    assert.equal(long.data?.toString(), 'long path content');
    assert.equal(listed.find((e) => e.path === './short.txt')?.data?.toString(), 'short', format);
    assert.equal(listed.find((e) => e.path === './')?.type, 'directory', format);
  }
});
