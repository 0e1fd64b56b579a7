import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COUNTERSIGN_BUILD_TYPE, createProvenance, readBuildFacts } from '../../src/provenance/slsa';
import { VECTOR_COMMITS, vectorPredicate } from './vectors';

const refOf = (predicate: unknown) => readBuildFacts(predicate).ref;

test('each real builder: the ref is read from where it writes it', () => {
  const cases: Array<[string, string | undefined]> = [
    // slsa-github-generator BYOB: internalParameters.GITHUB_REF and the git+ URI, a tag push.
    ['slsa-github-generator-delegator-push-tag.build.slsa', 'refs/tags/v14'],
    // slsa-github-generator container builder: the first git+ dependency is the source, the second the generator.
    ['slsa-github-generator-container-workflow-dispatch.build.slsa', 'refs/heads/main'],
    // GitHub's actions/attest-build-provenance: externalParameters.workflow.ref and the git+ URI.
    ['github-attest-workflow-dispatch.sigstore.json', 'refs/heads/main'],
    ['github-attest-npm-push.sigstore.json', 'refs/heads/main'],
    // GitLab 18.3+: CI_COMMIT_BRANCH in externalParameters.variables.
    ['gitlab-branch-pipeline.statement.json', 'refs/heads/main'],
    // GitLab Runner's artifact metadata records variable names without values: no ref.
    ['gitlab-runner-artifacts-metadata.statement.json', undefined],
  ];
  for (const [file, ref] of cases) assert.equal(refOf(vectorPredicate(file)), ref, file);
});

test('slsa-github-generator: GITHUB_REF counts only beside GITHUB_SHA equal to the attested commit', () => {
  const predicate = vectorPredicate('slsa-github-generator-delegator-push-tag.build.slsa');
  // Without a ref in the URI (what the generator writes when a workflow picks the commit to build), GITHUB_REF alone names it...
  predicate.buildDefinition.resolvedDependencies[0].uri = 'git+https://github.com/slsa-framework/example-package';
  assert.equal(refOf(predicate), 'refs/tags/v14');
  // ...but not when the built commit is another than the trigger's.
  predicate.buildDefinition.resolvedDependencies[0].digest.gitCommit = 'b'.repeat(40);
  assert.equal(refOf(predicate), undefined);
  predicate.buildDefinition.resolvedDependencies[0].digest.gitCommit = VECTOR_COMMITS.examplePackage.toUpperCase();
  assert.equal(refOf(predicate), 'refs/tags/v14', 'commits compare in any case');
  delete predicate.buildDefinition.internalParameters.GITHUB_SHA;
  assert.equal(refOf(predicate), undefined, 'no GITHUB_SHA: the ref cannot be tied to the commit');
});

test('places that disagree leave the ref unknown', () => {
  const predicate = vectorPredicate('github-attest-workflow-dispatch.sigstore.json');
  predicate.buildDefinition.externalParameters.workflow.ref = 'refs/heads/feature-x';
  assert.equal(refOf(predicate), undefined);
  const tagged = vectorPredicate('slsa-github-generator-delegator-push-tag.build.slsa');
  tagged.buildDefinition.internalParameters.GITHUB_REF = 'refs/heads/v14';
  assert.equal(refOf(tagged), undefined, 'a tag and a branch of the same name are different refs');
});

test('a bare name agrees with the branch of that name, and the full ref is reported', () => {
  const predicate = vectorPredicate('github-attest-workflow-dispatch.sigstore.json');
  predicate.buildDefinition.externalParameters.workflow.ref = 'main';
  assert.equal(refOf(predicate), 'refs/heads/main');
  predicate.buildDefinition.resolvedDependencies[0].uri = 'git+https://github.com/too-legit/attest';
  assert.equal(refOf(predicate), 'main', 'only a bare name written: it is kept bare (the policy reads it as a branch)');
});

test('a hex revision in a git+ URI is a commit, not a ref; a tag with "@" is read whole', () => {
  const predicate = vectorPredicate('github-attest-workflow-dispatch.sigstore.json');
  delete predicate.buildDefinition.externalParameters.workflow;
  predicate.buildDefinition.resolvedDependencies[0].uri = `git+https://github.com/too-legit/attest@${VECTOR_COMMITS.attest}`;
  assert.equal(refOf(predicate), undefined);
  predicate.buildDefinition.resolvedDependencies[0].uri = 'git+https://github.com/too-legit/attest@refs/tags/@acme/pkg@1.2.0';
  assert.deepEqual(
    [readBuildFacts(predicate).sourceRepo, refOf(predicate)],
    ['https://github.com/too-legit/attest', 'refs/tags/@acme/pkg@1.2.0'],
  );
});

test('GitLab: tag, branch and merge request pipelines each name their ref; masked or missing values are none', () => {
  const pipeline = (edit: (v: Record<string, string>) => void) => {
    const predicate = vectorPredicate('gitlab-branch-pipeline.statement.json');
    edit(predicate.buildDefinition.externalParameters.variables);
    return refOf(predicate);
  };
  const tag = (v: Record<string, string>) => {
    delete v.CI_COMMIT_BRANCH;
    v.CI_COMMIT_TAG = 'v1.2.0';
    v.CI_COMMIT_REF_NAME = 'v1.2.0';
  };
  assert.equal(pipeline(tag), 'refs/tags/v1.2.0');
  const mergeRequest = (v: Record<string, string>) => {
    delete v.CI_COMMIT_BRANCH;
    v.CI_COMMIT_REF_NAME = 'main'; // a fork's main, say: never taken for this project's branch
    v.CI_MERGE_REQUEST_IID = '7';
  };
  assert.equal(pipeline(mergeRequest), 'refs/merge-requests/7/head');
  assert.equal(pipeline((v) => (mergeRequest(v), (v.CI_MERGE_REQUEST_EVENT_TYPE = 'merged_result'))), 'refs/merge-requests/7/merge');
  assert.equal(pipeline((v) => (mergeRequest(v), (v.CI_MERGE_REQUEST_EVENT_TYPE = 'merge_train'))), 'refs/merge-requests/7/train');
  assert.equal(pipeline((v) => delete v.CI_COMMIT_BRANCH), 'main', 'CI_COMMIT_REF_NAME alone stays the bare name it is');
  assert.equal(pipeline((v) => (v.CI_COMMIT_BRANCH = '[MASKED]')), 'main', 'a masked variable is no value');
  assert.equal(pipeline((v) => (v.CI_COMMIT_SHA = 'b'.repeat(40))), undefined, 'the variables describe another commit');
  assert.equal(pipeline((v) => delete v.CI_COMMIT_SHA), undefined);
});

test("countersign's source.ref is read under its own buildType only, and the git+ URI stays pinned by commit", () => {
  const input = {
    subjectName: '127.0.0.1:5000/apps/hello',
    digest: `sha256:${'3f'.repeat(32)}`,
    sourceRepo: 'https://github.com/acme/hello',
    commit: '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e',
    buildCommand: 'countersign build examples/hello',
    builderId: 'https://countersign.dev/builders/local@v1',
    ref: 'refs/heads/main',
    invocationId: 'wf-1',
    startedOn: '2026-01-01T00:00:00Z',
    finishedOn: '2026-01-01T00:00:05Z',
  };
  const own = createProvenance(input).predicate;
  assert.equal(own.buildDefinition.buildType, COUNTERSIGN_BUILD_TYPE);
  assert.deepEqual(own.buildDefinition.externalParameters.source, { repository: input.sourceRepo, commit: input.commit, ref: 'refs/heads/main' });
  assert.deepEqual(own.buildDefinition.resolvedDependencies, [{ uri: `git+${input.sourceRepo}@${input.commit}`, digest: { gitCommit: input.commit } }]);
  assert.equal(refOf(own), 'refs/heads/main');
  assert.equal(refOf(createProvenance({ ...input, buildType: 'https://example.com/bt/v1' }).predicate), undefined);
  assert.equal(refOf(createProvenance({ ...input, ref: undefined }).predicate), undefined);
});
