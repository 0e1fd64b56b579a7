import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../../src/errors';
import {
  formatReference,
  isDigest,
  parseDigest,
  parseImageReference,
  repositoryOf,
  withDigest,
} from '../../src/oci/reference';

const HEX = 'a'.repeat(64);
const DIGEST = `sha256:${HEX}`;

function rejects(input: string, pattern?: RegExp): void {
  assert.throws(
    () => parseImageReference(input),
    (err: unknown) => {
      assert.ok(hasCode(err, 'BAD_REFERENCE'), `expected BAD_REFERENCE for ${JSON.stringify(input)}, got ${String(err)}`);
      assert.ok((err as Error).message.includes(JSON.stringify(input)), `message names the input: ${(err as Error).message}`);
      if (pattern) assert.match((err as Error).message, pattern);
      return true;
    },
  );
}

test('local registry with port and nested repository', () => {
  assert.deepEqual(parseImageReference('127.0.0.1:5000/apps/hello'), { registry: '127.0.0.1:5000', repository: 'apps/hello' });
  assert.deepEqual(parseImageReference('127.0.0.1:5000/apps/hello:v1'), {
    registry: '127.0.0.1:5000',
    repository: 'apps/hello',
    tag: 'v1',
  });
  assert.deepEqual(parseImageReference('127.0.0.1:5000/team/sub/deep/app:1.2.3-rc.1'), {
    registry: '127.0.0.1:5000',
    repository: 'team/sub/deep/app',
    tag: '1.2.3-rc.1',
  });
});

test('registry detection follows docker: ".", ":" or localhost in the first component', () => {
  assert.deepEqual(parseImageReference('localhost/hello'), { registry: 'localhost', repository: 'hello' });
  assert.deepEqual(parseImageReference('localhost:5000/hello'), { registry: 'localhost:5000', repository: 'hello' });
  assert.deepEqual(parseImageReference('ghcr.io/org/app'), { registry: 'ghcr.io', repository: 'org/app' });
  assert.deepEqual(parseImageReference('[::1]:5000/app'), { registry: '[::1]:5000', repository: 'app' });
  // No '.', ':' or localhost: a Docker Hub namespace, not a registry.
  assert.deepEqual(parseImageReference('myorg/app'), { registry: 'docker.io', repository: 'myorg/app' });
});

test('Docker Hub defaults: docker.io and library/ for single names', () => {
  assert.deepEqual(parseImageReference('alpine'), { registry: 'docker.io', repository: 'library/alpine' });
  assert.deepEqual(parseImageReference('alpine:3.20'), { registry: 'docker.io', repository: 'library/alpine', tag: '3.20' });
  assert.deepEqual(parseImageReference('docker.io/alpine'), { registry: 'docker.io', repository: 'library/alpine' });
  assert.deepEqual(parseImageReference('index.docker.io/library/alpine'), { registry: 'docker.io', repository: 'library/alpine' });
});

test('tag and digest together', () => {
  const ref = parseImageReference(`127.0.0.1:5000/apps/hello:v1@${DIGEST}`);
  assert.deepEqual(ref, { registry: '127.0.0.1:5000', repository: 'apps/hello', tag: 'v1', digest: DIGEST });
  assert.equal(formatReference(ref), `127.0.0.1:5000/apps/hello:v1@${DIGEST}`);
  assert.deepEqual(parseImageReference(`127.0.0.1:5000/apps/hello@${DIGEST}`), {
    registry: '127.0.0.1:5000',
    repository: 'apps/hello',
    digest: DIGEST,
  });
});

test('repository separators allowed by the distribution spec', () => {
  for (const name of ['a.b/c_d', 'a__b/c', 'a-b/c--d', 'x1/y2.z3']) {
    const ref = parseImageReference(`127.0.0.1:5000/${name}`);
    assert.equal(ref.repository, name);
  }
});

test('format and parse round trip', () => {
  for (const input of [
    '127.0.0.1:5000/apps/hello',
    '127.0.0.1:5000/apps/hello:latest',
    `localhost:5000/a/b/c:v_1@${DIGEST}`,
    'docker.io/library/alpine:3',
    'ghcr.io/org/app',
  ]) {
    assert.equal(formatReference(parseImageReference(input)), input);
  }
  assert.equal(formatReference(parseImageReference('alpine')), 'docker.io/library/alpine');
});

test('withDigest pins the repository and drops the tag; repositoryOf', () => {
  const ref = parseImageReference('127.0.0.1:5000/apps/hello:v1');
  const pinned = withDigest(ref, DIGEST);
  assert.deepEqual(pinned, { registry: '127.0.0.1:5000', repository: 'apps/hello', digest: DIGEST });
  assert.equal(formatReference(pinned), `127.0.0.1:5000/apps/hello@${DIGEST}`);
  assert.deepEqual(ref, { registry: '127.0.0.1:5000', repository: 'apps/hello', tag: 'v1' }, 'input not mutated');
  assert.equal(repositoryOf(ref), '127.0.0.1:5000/apps/hello');
  assert.throws(() => withDigest(ref, 'sha256:abc'), (e) => hasCode(e, 'BAD_REFERENCE'));
});

test('uppercase repositories are refused', () => {
  rejects('127.0.0.1:5000/Apps/hello', /lowercase/);
  rejects('Hello', /lowercase/);
  rejects('myorg/App:v1', /lowercase/);
});

test('bad digests are refused', () => {
  rejects(`127.0.0.1:5000/apps/hello@sha512:${'a'.repeat(128)}`, /sha512/);
  rejects('127.0.0.1:5000/apps/hello@sha256:abc', /64 hex characters, this one has 3/);
  rejects(`127.0.0.1:5000/apps/hello@sha256:${'a'.repeat(65)}`, /64 hex/);
  rejects(`127.0.0.1:5000/apps/hello@sha256:${'A'.repeat(64)}`, /lowercase/);
  rejects(`127.0.0.1:5000/apps/hello@sha256:${'g'.repeat(64)}`, /hexadecimal/);
  rejects(`127.0.0.1:5000/apps/hello@${HEX}`);
  rejects('127.0.0.1:5000/apps/hello@');
  rejects(`127.0.0.1:5000/apps/hello@${DIGEST}@${DIGEST}`, /more than one/);
});

test('other malformed references are refused', () => {
  rejects('', /empty/);
  rejects(' 127.0.0.1:5000/apps/hello', /whitespace/);
  rejects('127.0.0.1:5000/apps/hello:', /tag/);
  rejects('127.0.0.1:5000/apps/hello:-bad', /tag/);
  rejects(`127.0.0.1:5000/apps/hello:${'t'.repeat(129)}`, /tag/);
  rejects('127.0.0.1:5000/apps//hello', /empty path component/);
  rejects('127.0.0.1:5000/apps/hello/', /empty path component/);
  rejects('/apps/hello', /empty path component/);
  rejects('127.0.0.1:5000/', /no repository/);
  rejects('127.0.0.1:5000', /no repository/);
  rejects('localhost', /no repository/);
  rejects('127.0.0.1:99999/apps/hello', /out of range/);
  rejects('127.0.0.1:http/apps/hello', /port/);
  rejects('bad_host.example/apps/hello', /registry host/);
  rejects('127.0.0.1:5000/apps/-hello', /component/);
  rejects('127.0.0.1:5000/apps/hel$lo', /component/);
  rejects(`127.0.0.1:5000/${'a'.repeat(250)}`, /longer than 255/);
  assert.throws(() => parseImageReference(42 as unknown as string), (e) => hasCode(e, 'BAD_REFERENCE'));
});

test('parseDigest and isDigest', () => {
  assert.equal(parseDigest(DIGEST), DIGEST);
  assert.equal(isDigest(DIGEST), true);
  for (const bad of ['', HEX, 'sha256:', `sha256:${'a'.repeat(63)}`, `sha384:${'a'.repeat(96)}`, `SHA256:${HEX}`, `sha256:${HEX}\n`]) {
    assert.equal(isDigest(bad), false, bad);
    assert.throws(
      () => parseDigest(bad),
      (e: unknown) => hasCode(e, 'BAD_REFERENCE') && (e as Error).message.includes(JSON.stringify(bad)),
    );
  }
});
