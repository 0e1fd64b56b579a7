import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkKeylessSource } from '../../src/sigstore/source-check';

const policy = { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'], requireCommit: true, refs: ['refs/heads/main', 'refs/tags/v*'] };
const COMMIT = 'dae8bd8eb433a4147b4655c00fe73e0f22bc0fb1';
const facts = {
  subject: 'https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main',
  issuer: 'https://token.actions.githubusercontent.com',
  sourceRepository: 'https://github.com/acme/hello',
  sourceRepositoryRef: 'refs/heads/main',
  sourceRepositoryDigest: COMMIT,
  notBefore: new Date(0),
  notAfter: new Date(0),
};
const failed = (checks: ReturnType<typeof checkKeylessSource>) => checks.filter((c) => !c.ok).map((c) => c.name);

test('the certificate\'s repository, ref and commit meet the policy and the provenance', () => {
  assert.deepEqual(failed(checkKeylessSource(policy, facts, { commit: COMMIT }, COMMIT)), []);
  assert.deepEqual(failed(checkKeylessSource(policy, { ...facts, sourceRepositoryRef: 'refs/tags/v1.2.0' }, { commit: COMMIT }, undefined)), []);
});

test('another repository, branch or commit each fail with SOURCE_MISMATCH, expected versus named', () => {
  const checks = checkKeylessSource(policy, { ...facts, sourceRepository: 'https://github.com/evil/hello', sourceRepositoryRef: 'refs/heads/feature', sourceRepositoryDigest: 'a'.repeat(40) }, { commit: COMMIT }, COMMIT);
  assert.deepEqual(failed(checks), ['keylessSource.repository', 'keylessSource.ref', 'keylessSource.commit']);
  assert.ok(checks.every((c) => c.code === 'SOURCE_MISMATCH'));
  assert.match(checks[0].message, /expected https:\/\/github.com\/acme\/hello, certificate names https:\/\/github.com\/evil\/hello/);
});

test('a certificate with no CI facts (an e-mail identity) vouches for no source', () => {
  const mail = { subject: 'dev@acme.com', issuer: 'https://accounts.google.com', notBefore: new Date(0), notAfter: new Date(0) };
  assert.deepEqual(failed(checkKeylessSource(policy, mail, { commit: COMMIT }, COMMIT)), ['keylessSource.repository', 'keylessSource.ref', 'keylessSource.commit']);
});

test('a provenance commit other than the one the certificate names fails even when the request names the certificate\'s', () => {
  assert.deepEqual(failed(checkKeylessSource(policy, facts, { commit: 'b'.repeat(40) }, COMMIT)), ['keylessSource.commit']);
});
