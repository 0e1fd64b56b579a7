import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { hasCode } from '../../src/errors';
import { buildImageFromDirectory, gzipDeterministic, isRfc3339, type BuiltImage } from '../../src/oci/build';
import { canonicalJson, digestOf } from '../../src/oci/digest';
import { listTar } from '../../src/oci/tar';
import { MEDIA_TYPE } from '../../src/oci/types';

const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'hello-image');
const EXAMPLE = path.resolve(__dirname, '..', '..', 'examples', 'hello');

/*
 * Golden values for test/fixtures/hello-image. If the tar layout, gzip settings, config or
 * manifest format change, these change, and that is a breaking change for anyone who recorded
 * a digest: update them only on purpose.
 *   GOLDEN_DIFF_ID depends only on our tar writer.
 *   GOLDEN_DIGEST also depends on Node's bundled zlib producing the same deflate stream.
 */
const GOLDEN_DIFF_ID = 'sha256:19a2ec7a4fbaa8ce60b240db7641d261f1cee57eae60ca314aa2abbb1821eee8';
const GOLDEN_DIGEST = 'sha256:641395f3363b6ec432edcc1e78b0e756a88b93be8a12eeb8c3347678e33befe4';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'countersign-build-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function copyFixture(into: string, name = 'app'): string {
  const dest = path.join(into, name);
  cpSync(FIXTURE, dest, { recursive: true });
  return dest;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? [p, ...walk(p)] : [p];
  });
}

function layerTar(img: BuiltImage): Buffer {
  return gunzipSync(img.layers[0].data);
}

function assertSameImage(a: BuiltImage, b: BuiltImage): void {
  assert.equal(a.digest, b.digest);
  assert.ok(a.manifest.data.equals(b.manifest.data), 'manifest bytes');
  assert.ok(a.config.data.equals(b.config.data), 'config bytes');
  assert.ok(a.layers[0].data.equals(b.layers[0].data), 'layer bytes');
  assert.deepEqual(a.files, b.files);
}

test('golden: the committed fixture builds to the committed digest', async () => {
  const mode = statSync(path.join(FIXTURE, 'bin', 'hello.sh')).mode;
  assert.ok((mode & 0o111) !== 0, 'fixture bin/hello.sh must be executable in the checkout (git core.fileMode?)');
  const img = await buildImageFromDirectory(FIXTURE);
  const config = JSON.parse(img.config.data.toString());
  assert.equal(config.rootfs.diff_ids[0], GOLDEN_DIFF_ID, 'uncompressed layer (tar format) changed');
  assert.equal(img.digest, GOLDEN_DIGEST, 'manifest digest changed');
});

test('image structure: manifest, config, layer and file list agree', async () => {
  const img = await buildImageFromDirectory(FIXTURE);
  const manifest = JSON.parse(img.manifest.data.toString());
  assert.deepEqual(manifest, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.imageManifest,
    config: img.config.descriptor,
    layers: [img.layers[0].descriptor],
  });
  assert.equal(img.manifest.descriptor.mediaType, MEDIA_TYPE.imageManifest);
  assert.equal(img.digest, img.manifest.descriptor.digest);
  assert.equal(img.digest, digestOf(img.manifest.data));
  assert.equal(img.config.descriptor.mediaType, MEDIA_TYPE.imageConfig);
  assert.equal(img.config.descriptor.size, img.config.data.length);
  assert.equal(img.layers[0].descriptor.mediaType, MEDIA_TYPE.layerTarGzip);
  assert.equal(img.layers[0].descriptor.digest, digestOf(img.layers[0].data));

  const tar = layerTar(img);
  const config = JSON.parse(img.config.data.toString());
  assert.deepEqual(config, {
    architecture: 'amd64',
    os: 'linux',
    created: '1970-01-01T00:00:00Z',
    config: {},
    rootfs: { type: 'layers', diff_ids: [digestOf(tar)] },
    history: [{ created: '1970-01-01T00:00:00Z', created_by: 'countersign build' }],
  });
  // canonical JSON: sorted keys, no whitespace
  assert.equal(img.manifest.data.toString(), canonicalJson(manifest));
  assert.equal(img.config.data.toString(), canonicalJson(config));
  assert.ok(img.manifest.data.toString().startsWith('{"config":{"digest":'));

  assert.deepEqual(
    listTar(tar).map((e) => [e.path, e.type, e.mode.toString(8)]),
    [
      ['bin/', 'directory', '755'],
      ['bin/hello.sh', 'file', '755'],
      ['data/', 'directory', '755'],
      ['data/greeting.txt', 'file', '644'],
      ['index.html', 'file', '644'],
    ],
  );
  assert.deepEqual(
    img.files.map((f) => [f.path, f.mode.toString(8), f.size]),
    [
      ['bin/hello.sh', '755', 53],
      ['data/greeting.txt', '644', 13],
      ['index.html', '644', 67],
    ],
  );
  for (const f of img.files) {
    const entry = listTar(tar).find((e) => e.path === f.path)!;
    assert.equal(f.sha256, createHash('sha256').update(entry.data!).digest('hex'));
    assert.equal(f.sha1, createHash('sha1').update(entry.data!).digest('hex'));
  }
});

test('gzip header is fixed: no mtime, no name, XFL 2, OS unknown', async () => {
  const img = await buildImageFromDirectory(FIXTURE);
  assert.equal(img.layers[0].data.subarray(0, 10).toString('hex'), '1f8b08000000000002ff');
  assert.ok(gzipDeterministic(Buffer.from('x')).equals(gzipDeterministic(Buffer.from('x'))));
});

test('determinism: same content gives the same bytes whatever the mtimes, owners, location', async (t) => {
  const root = tmp(t);
  const a = copyFixture(root, 'a');
  const b = copyFixture(root, 'elsewhere-with-another-name');
  const first = await buildImageFromDirectory(a);

  // touch everything in `a` and rebuild in place
  const later = new Date('2031-05-06T07:08:09Z');
  for (const p of [a, ...walk(a)]) utimesSync(p, later, later);
  assertSameImage(first, await buildImageFromDirectory(a));

  // different mtimes, permissions (non-exec bits) and owners in `b`
  let when = 1_000_000;
  for (const p of [b, ...walk(b)]) {
    utimesSync(p, new Date(when * 1000), new Date(when * 1000));
    when += 12345;
    if (process.getuid?.() === 0) chownSync(p, 1234, 5678);
  }
  chmodSync(path.join(b, 'index.html'), 0o600);
  chmodSync(path.join(b, 'data'), 0o700);
  chmodSync(path.join(b, 'bin', 'hello.sh'), 0o700);
  assertSameImage(first, await buildImageFromDirectory(b));
  assert.equal(first.digest, GOLDEN_DIGEST);
});

test('content changes change the digest; the exec bit is part of the content', async (t) => {
  const root = tmp(t);
  const dir = copyFixture(root);
  const before = await buildImageFromDirectory(dir);

  chmodSync(path.join(dir, 'bin', 'hello.sh'), 0o644);
  const noExec = await buildImageFromDirectory(dir);
  assert.notEqual(noExec.digest, before.digest);
  assert.equal(noExec.files.find((f) => f.path === 'bin/hello.sh')?.mode, 0o644);
  assert.equal(listTar(layerTar(noExec)).find((e) => e.path === 'bin/hello.sh')?.mode, 0o644);

  chmodSync(path.join(dir, 'bin', 'hello.sh'), 0o744); // owner-only exec still counts
  assert.equal((await buildImageFromDirectory(dir)).digest, before.digest);

  writeFileSync(path.join(dir, 'index.html'), 'changed');
  assert.notEqual((await buildImageFromDirectory(dir)).digest, before.digest);
});

test('options: created and annotations', async () => {
  const img = await buildImageFromDirectory(FIXTURE, {
    created: '2024-01-02T03:04:05Z',
    annotations: { 'org.opencontainers.image.source': 'https://example.test/hello', 'a.b': 'c' },
  });
  const manifest = JSON.parse(img.manifest.data.toString());
  assert.deepEqual(manifest.annotations, { 'a.b': 'c', 'org.opencontainers.image.source': 'https://example.test/hello' });
  const config = JSON.parse(img.config.data.toString());
  assert.equal(config.created, '2024-01-02T03:04:05Z');
  assert.equal(config.history[0].created, '2024-01-02T03:04:05Z');
  assert.notEqual(img.digest, GOLDEN_DIGEST);
  assert.equal(
    (await buildImageFromDirectory(FIXTURE, { annotations: {} })).digest,
    GOLDEN_DIGEST,
    'empty annotations are left out',
  );
  for (const created of ['yesterday', '2024-02-30T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:00:00']) {
    await assert.rejects(buildImageFromDirectory(FIXTURE, { created }), (e) => hasCode(e, 'BAD_INPUT'), created);
  }
  assert.ok(isRfc3339('2024-02-29T23:59:59.123+05:30'));
  await assert.rejects(
    buildImageFromDirectory(FIXTURE, { annotations: { k: 1 as unknown as string } }),
    (e) => hasCode(e, 'BAD_INPUT'),
  );
});

test('nested directories and long paths', async (t) => {
  const root = tmp(t);
  const dir = path.join(root, 'app');
  const deep = path.join(dir, 'a', 'b', 'c', 'd'.repeat(70), 'e'.repeat(70));
  mkdirSync(deep, { recursive: true });
  writeFileSync(path.join(deep, 'leaf.txt'), 'deep');
  writeFileSync(path.join(dir, 'top.txt'), 'top');
  const img = await buildImageFromDirectory(dir);
  const longPath = `a/b/c/${'d'.repeat(70)}/${'e'.repeat(70)}/leaf.txt`;
  assert.deepEqual(img.files.map((f) => f.path), [longPath, 'top.txt']);
  const listed = listTar(layerTar(img));
  assert.deepEqual(
    listed.map((e) => e.path),
    ['a/', 'a/b/', 'a/b/c/', `a/b/c/${'d'.repeat(70)}/`, `a/b/c/${'d'.repeat(70)}/${'e'.repeat(70)}/`, longPath, 'top.txt'],
  );
  assert.equal(listed.find((e) => e.path === longPath)?.data?.toString(), 'deep');
});

test('errors name the path: missing, not a directory, empty, unreadable', async (t) => {
  const root = tmp(t);
  const isBuildFailed = (p: string) => (e: unknown) => hasCode(e, 'BUILD_FAILED') && (e as Error).message.includes(p);

  const missing = path.join(root, 'nope');
  await assert.rejects(buildImageFromDirectory(missing), isBuildFailed(missing));

  const file = path.join(root, 'file.txt');
  writeFileSync(file, 'x');
  await assert.rejects(buildImageFromDirectory(file), isBuildFailed(file));

  const empty = path.join(root, 'empty');
  mkdirSync(empty);
  await assert.rejects(buildImageFromDirectory(empty), isBuildFailed(empty));
  mkdirSync(path.join(empty, 'only-dirs', 'inside'), { recursive: true });
  await assert.rejects(buildImageFromDirectory(empty), isBuildFailed(empty));

  await assert.rejects(buildImageFromDirectory(''), (e) => hasCode(e, 'BUILD_FAILED'));
});

test('unreadable file is BUILD_FAILED naming it', { skip: process.getuid?.() === 0 && 'root can read anything' }, async (t) => {
  const root = tmp(t);
  const dir = copyFixture(root);
  const secret = path.join(dir, 'secret.txt');
  writeFileSync(secret, 's');
  chmodSync(secret, 0o000);
  await assert.rejects(
    buildImageFromDirectory(dir),
    (e: unknown) => hasCode(e, 'BUILD_FAILED') && (e as Error).message.includes(secret),
  );
});

test('GNU tar reads the gzipped layer', { skip: spawnSync('tar', ['--version']).status !== 0 && 'tar not installed' }, async (t) => {
  const root = tmp(t);
  const img = await buildImageFromDirectory(FIXTURE);
  const file = path.join(root, 'layer.tar.gz');
  writeFileSync(file, img.layers[0].data);
  const r = spawnSync('tar', ['-tzvf', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    r.stdout.trim().split('\n').map((l) => l.replace(/\s+/g, ' ')),
    [
      'drwxr-xr-x 0/0 0 1970-01-01 00:00 bin/',
      '-rwxr-xr-x 0/0 53 1970-01-01 00:00 bin/hello.sh',
      'drwxr-xr-x 0/0 0 1970-01-01 00:00 data/',
      '-rw-r--r-- 0/0 13 1970-01-01 00:00 data/greeting.txt',
      '-rw-r--r-- 0/0 67 1970-01-01 00:00 index.html',
    ],
  );
});

test('examples/hello builds, with app/run.sh executable', async () => {
  const img = await buildImageFromDirectory(EXAMPLE);
  const run = img.files.find((f) => f.path === 'app/run.sh');
  assert.ok(run, `files: ${img.files.map((f) => f.path).join(', ')}`);
  assert.equal(run.mode, 0o755);
  assert.ok(img.files.some((f) => f.path === 'index.html'));
});
