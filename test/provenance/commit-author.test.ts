import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sameIdentity } from '../../src/approval/identity';
import { hasCode } from '../../src/errors';
import { AUTHOR_FIELDS } from '../../src/provenance/commit-author';
import { createProvenance, readBuildFacts, readCommitAuthor } from '../../src/provenance/slsa';
import { vectorPredicate } from './vectors';

const GENERATOR_PUSH = 'slsa-github-generator-delegator-push-tag.build.slsa';
const GITLAB = 'gitlab-branch-pipeline.statement.json';

test('slsa-github-generator push: the author of head_commit, e-mail then handle', () => {
  assert.deepEqual(readCommitAuthor(vectorPredicate(GENERATOR_PUSH)), {
    identities: ['ramonpetgrave64@users.noreply.github.com', 'ramonpetgrave64'],
    field: AUTHOR_FIELDS.github,
  });
  assert.equal(readBuildFacts(vectorPredicate(GENERATOR_PUSH)).commitAuthor, 'ramonpetgrave64@users.noreply.github.com');
});

test('GitLab: the e-mail address in CI_COMMIT_AUTHOR ("Name <email>"), matched case-insensitively', () => {
  const author = readCommitAuthor(vectorPredicate(GITLAB));
  assert.deepEqual(author, { identities: ['Alice@Example.com'], field: AUTHOR_FIELDS.gitlab });
  assert.equal(sameIdentity(author?.identities[0], 'alice@example.com'), true);
  // GITLAB_USER_EMAIL is who started the pipeline (bob), not who wrote the commit.
  assert.equal(readBuildFacts(vectorPredicate(GITLAB)).commitAuthor, 'Alice@Example.com');
});

test('builders and events that record no author: undefined', () => {
  for (const file of [
    'slsa-github-generator-container-workflow-dispatch.build.slsa', // workflow_dispatch: no head_commit (only the sender)
    'github-attest-workflow-dispatch.sigstore.json', // GitHub's attestations name no author
    'github-attest-npm-push.sigstore.json', // not even for a push
    'gitlab-runner-artifacts-metadata.statement.json', // the runner records CI_COMMIT_AUTHOR's name, not its value
  ]) {
    assert.equal(readCommitAuthor(vectorPredicate(file)), undefined, file);
    assert.equal('commitAuthor' in readBuildFacts(vectorPredicate(file)), false, file);
  }
});

test('an author recorded for another commit than the attested one is not taken', () => {
  const predicate = vectorPredicate(GENERATOR_PUSH);
  predicate.buildDefinition.internalParameters.GITHUB_EVENT_PAYLOAD.head_commit.id = 'b'.repeat(40);
  assert.equal(readCommitAuthor(predicate), undefined);
  const gitlab = vectorPredicate(GITLAB);
  gitlab.buildDefinition.externalParameters.variables.CI_COMMIT_SHA = 'b'.repeat(40);
  assert.equal(readCommitAuthor(gitlab), undefined);
});

test('fields no real builder writes for the author are never read', () => {
  const predicate = vectorPredicate('github-attest-workflow-dispatch.sigstore.json');
  const ext = predicate.buildDefinition.externalParameters;
  // The field countersign's own builder writes means nothing under another builder's buildType...
  ext.source = { repository: 'https://github.com/too-legit/attest', author: 'mallory@example.com' };
  // ...nor do look-alikes elsewhere: an event payload among the (caller-controlled) external
  // parameters, author fields at the top, GitHub's own internal parameters.
  ext.GITHUB_EVENT_PAYLOAD = { head_commit: { id: '283bf967fa3c591925dd25e6a6e8e781542117bf', author: { email: 'mallory@example.com' } } };
  ext.author = 'mallory@example.com';
  ext.commitAuthor = 'mallory@example.com';
  predicate.buildDefinition.internalParameters.github.author = 'mallory@example.com';
  predicate.buildDefinition.internalParameters.CI_COMMIT_AUTHOR = 'Mallory <mallory@example.com>';
  assert.equal(readCommitAuthor(predicate), undefined);
  assert.equal(readBuildFacts(predicate).commitAuthor, undefined);
});

test("countersign's built-in builder: source.author under its own buildType", () => {
  const input = {
    subjectName: 'r/apps/hello',
    digest: `sha256:${'3f'.repeat(32)}`,
    sourceRepo: 'https://github.com/acme/hello',
    commit: '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e',
    buildCommand: 'countersign build examples/hello',
    builderId: 'https://countersign.dev/builders/local@v1',
    commitAuthor: 'bob@example.com',
    invocationId: 'wf-1',
    startedOn: '2026-01-01T00:00:00Z',
    finishedOn: '2026-01-01T00:00:05Z',
  };
  const own = JSON.parse(JSON.stringify(createProvenance(input).predicate));
  assert.deepEqual(readCommitAuthor(own), { identities: ['bob@example.com'], field: AUTHOR_FIELDS.countersign });
  assert.equal(readBuildFacts(own).commitAuthor, 'bob@example.com');
  assert.equal(readCommitAuthor(createProvenance({ ...input, buildType: 'https://example.com/bt/v1' }).predicate), undefined);
  assert.equal(readCommitAuthor(createProvenance({ ...input, commitAuthor: undefined }).predicate), undefined);
});

test('GitLab: a masked author is none; an empty e-mail leaves the name; no brackets, the whole value', () => {
  const author = (value: string) => {
    const predicate = vectorPredicate(GITLAB);
    predicate.buildDefinition.externalParameters.variables.CI_COMMIT_AUTHOR = value;
    return readCommitAuthor(predicate)?.identities;
  };
  assert.equal(author('[MASKED]'), undefined);
  assert.equal(author('  '), undefined);
  assert.deepEqual(author('Alice Example <>'), ['Alice Example']);
  assert.deepEqual(author('Alice Example < alice@example.com >'), ['alice@example.com']);
  assert.deepEqual(author('alice@example.com'), ['alice@example.com']);
});

test('readCommitAuthor refuses what is not SLSA v1 provenance', () => {
  for (const predicate of [null, {}, { buildDefinition: null, runDetails: {} }, 'x']) {
    assert.throws(() => readCommitAuthor(predicate), (e: unknown) => hasCode(e, 'ATTESTATION_INVALID'));
  }
});
