import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullRef, isCommitLike, parseGitUri } from '../../src/provenance/git-ref';

const COMMIT = '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e';

test('parseGitUri: repository and the revision after the "@"', () => {
  assert.deepEqual(parseGitUri('git+https://github.com/acme/hello@refs/heads/main'), { repo: 'https://github.com/acme/hello', revision: 'refs/heads/main' });
  assert.deepEqual(parseGitUri(`git+https://gitlab.example.com/acme/hello.git@${COMMIT}`), { repo: 'https://gitlab.example.com/acme/hello.git', revision: COMMIT });
  assert.deepEqual(parseGitUri('git+https://github.com/acme/hello'), { repo: 'https://github.com/acme/hello' });
  assert.deepEqual(parseGitUri('git+https://github.com/acme/hello@'), { repo: 'https://github.com/acme/hello' }, 'an empty revision is none');
});

test('parseGitUri: an "@" in a tag belongs to the revision, an "@" before the path to the host', () => {
  assert.deepEqual(parseGitUri('git+https://github.com/acme/mono@refs/tags/@acme/pkg@1.2.0'), {
    repo: 'https://github.com/acme/mono',
    revision: 'refs/tags/@acme/pkg@1.2.0',
  });
  assert.deepEqual(parseGitUri('git+ssh://git@github.com/acme/hello'), { repo: 'ssh://git@github.com/acme/hello' });
  assert.deepEqual(parseGitUri('git+ssh://git@github.com/acme/hello@refs/heads/main'), { repo: 'ssh://git@github.com/acme/hello', revision: 'refs/heads/main' });
});

test('isCommitLike: 7 to 64 hex digits, any case', () => {
  for (const yes of [COMMIT, COMMIT.toUpperCase(), COMMIT.slice(0, 7), 'a'.repeat(64)]) assert.equal(isCommitLike(yes), true, yes);
  for (const no of [COMMIT.slice(0, 6), 'a'.repeat(65), 'refs/heads/main', 'main', 'v1.2.0', `${COMMIT.slice(0, 39)}g`]) assert.equal(isCommitLike(no), false, no);
});

test('fullRef: a bare name is a branch; refs/... stay as they are', () => {
  assert.equal(fullRef('main'), 'refs/heads/main');
  assert.equal(fullRef('release/1.x'), 'refs/heads/release/1.x');
  assert.equal(fullRef('refs/tags/v1.2.0'), 'refs/tags/v1.2.0');
  assert.equal(fullRef('refs/heads/main'), 'refs/heads/main');
});
