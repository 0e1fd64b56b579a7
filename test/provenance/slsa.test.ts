import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasCode } from '../../src/errors';
import { COUNTERSIGN_BUILD_TYPE, SLSA_PROVENANCE_V1, createProvenance, readBuildFacts, type BuildFacts } from '../../src/provenance/slsa';
import { STATEMENT_TYPE_V1, parseStatement, statementCoversDigest, subjectDigests } from '../../src/provenance/statement';
import { VECTOR_COMMITS, vectorPredicate } from './vectors';

const DIGEST = `sha256:${'3f'.repeat(32)}`;
const COMMIT = '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e';
const INPUT = {
  subjectName: '127.0.0.1:5000/apps/hello',
  digest: DIGEST,
  sourceRepo: 'https://github.com/acme/hello',
  commit: COMMIT,
  buildCommand: 'countersign build examples/hello',
  builderId: 'https://countersign.dev/builders/local@v1',
  invocationId: 'wf-123/run-456',
  startedOn: '2026-01-01T00:00:00Z',
  finishedOn: '2026-01-01T00:00:05Z',
};

test('createProvenance: an in-toto v1 statement with a SLSA v1 predicate for the digest', () => {
  const st = createProvenance(INPUT);
  assert.deepEqual(st, {
    _type: STATEMENT_TYPE_V1,
    subject: [{ name: INPUT.subjectName, digest: { sha256: '3f'.repeat(32) } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: COUNTERSIGN_BUILD_TYPE,
        externalParameters: {
          source: { repository: INPUT.sourceRepo, commit: COMMIT },
          buildCommand: INPUT.buildCommand,
        },
        resolvedDependencies: [{ uri: `git+${INPUT.sourceRepo}@${COMMIT}`, digest: { gitCommit: COMMIT } }],
      },
      runDetails: {
        builder: { id: INPUT.builderId },
        metadata: { invocationId: INPUT.invocationId, startedOn: INPUT.startedOn, finishedOn: INPUT.finishedOn },
      },
    },
  });
  assert.equal(SLSA_PROVENANCE_V1, 'https://slsa.dev/provenance/v1');
  // It survives serialisation and the statement parser, and names the digest.
  const parsed = parseStatement(Buffer.from(JSON.stringify(st)));
  assert.equal(statementCoversDigest(parsed, DIGEST), true);
  assert.equal(statementCoversDigest(parsed, `sha256:${'00'.repeat(32)}`), false);
  assert.deepEqual(subjectDigests(parsed), [DIGEST]);
});

test('createProvenance: custom buildType and extra materials are kept after the source', () => {
  const base = { uri: 'oci://docker.io/library/alpine', digest: { sha256: 'aa'.repeat(32) } };
  const st = createProvenance({ ...INPUT, buildType: 'https://example.com/bt/v1', materials: [base] });
  assert.equal(st.predicate.buildDefinition.buildType, 'https://example.com/bt/v1');
  assert.deepEqual(st.predicate.buildDefinition.resolvedDependencies, [
    { uri: `git+${INPUT.sourceRepo}@${COMMIT}`, digest: { gitCommit: COMMIT } },
    base,
  ]);
});

test('readBuildFacts reads our own provenance back', () => {
  const st = createProvenance(INPUT);
  assert.deepEqual(readBuildFacts(st.predicate), {
    sourceRepo: INPUT.sourceRepo,
    commit: COMMIT,
    buildCommand: INPUT.buildCommand,
    builderId: INPUT.builderId,
  });
  // Through JSON, as a verifier sees it.
  assert.deepEqual(readBuildFacts(JSON.parse(JSON.stringify(st.predicate))), readBuildFacts(st.predicate));
});

/** The layout GitHub's actions/attest-build-provenance writes (buildType workflow/v1). */
const GITHUB_PREDICATE = {
  buildDefinition: {
    buildType: 'https://actions.github.io/buildtypes/workflow/v1',
    externalParameters: {
      workflow: {
        ref: 'refs/heads/main',
        repository: 'https://github.com/acme/hello',
        path: '.github/workflows/release.yml',
      },
    },
    internalParameters: {
      github: { event_name: 'push', repository_id: '123456', repository_owner_id: '654321', runner_environment: 'github-hosted' },
    },
    resolvedDependencies: [{ uri: 'git+https://github.com/acme/hello@refs/heads/main', digest: { gitCommit: COMMIT } }],
  },
  runDetails: {
    builder: { id: 'https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main' },
    metadata: { invocationId: 'https://github.com/acme/hello/actions/runs/1/attempts/1' },
  },
};

test('readBuildFacts reads a GitHub-Actions-style SLSA v1 predicate, its ref included', () => {
  assert.deepEqual(readBuildFacts(GITHUB_PREDICATE), {
    sourceRepo: 'https://github.com/acme/hello',
    commit: COMMIT,
    buildCommand: undefined,
    builderId: 'https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main',
    ref: 'refs/heads/main',
  });
});

test('readBuildFacts reads every real builder vector (test/vectors/provenance)', () => {
  const generator = 'https://github.com/slsa-framework/example-package';
  const cases: Array<[string, Partial<BuildFacts>]> = [
    [
      'slsa-github-generator-delegator-push-tag.build.slsa',
      {
        sourceRepo: generator,
        commit: VECTOR_COMMITS.examplePackage,
        buildCommand: undefined,
        builderId: 'https://github.com/slsa-framework/example-trw/.github/workflows/builder_high-perms_slsa3.yml@refs/tags/v2.1.0',
        ref: 'refs/tags/v14',
        commitAuthor: 'ramonpetgrave64@users.noreply.github.com',
      },
    ],
    [
      'slsa-github-generator-container-workflow-dispatch.build.slsa',
      {
        sourceRepo: generator,
        commit: VECTOR_COMMITS.examplePackage,
        buildCommand: undefined,
        builderId: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_container-based_slsa3.yml@refs/tags/v2.1.0',
        ref: 'refs/heads/main',
      },
    ],
    [
      'github-attest-workflow-dispatch.sigstore.json',
      {
        sourceRepo: 'https://github.com/too-legit/attest',
        commit: VECTOR_COMMITS.attest,
        buildCommand: undefined,
        builderId: 'https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main',
        ref: 'refs/heads/main',
      },
    ],
    [
      'github-attest-npm-push.sigstore.json',
      {
        sourceRepo: 'https://github.com/sigstore/sigstore-js',
        commit: VECTOR_COMMITS.sigstoreJs,
        buildCommand: undefined,
        builderId: 'https://github.com/actions/runner/github-hosted',
        ref: 'refs/heads/main',
      },
    ],
    [
      'gitlab-branch-pipeline.statement.json',
      {
        sourceRepo: 'https://gitlab.com/acme/hello',
        commit: VECTOR_COMMITS.gitlab,
        buildCommand: undefined,
        builderId: 'https://gitlab.com/groups/acme/-/runners/33',
        ref: 'refs/heads/main',
        commitAuthor: 'Alice@Example.com',
      },
    ],
    [
      // The runner labels the commit "sha256": not taken for a git commit.
      'gitlab-runner-artifacts-metadata.statement.json',
      { sourceRepo: 'https://gitlab.com/acme/hello', commit: undefined, buildCommand: undefined, builderId: 'https://gitlab.com/acme/hello/-/runners/33' },
    ],
  ];
  for (const [file, facts] of cases) assert.deepEqual(readBuildFacts(vectorPredicate(file)), facts, file);
});

test('createProvenance writes the ref beside the commit and readBuildFacts reads it back', () => {
  const st = createProvenance({ ...INPUT, ref: 'refs/tags/v1.2.0' });
  assert.deepEqual(st.predicate.buildDefinition.externalParameters.source, { repository: INPUT.sourceRepo, commit: COMMIT, ref: 'refs/tags/v1.2.0' });
  assert.equal(st.predicate.buildDefinition.resolvedDependencies?.[0].uri, `git+${INPUT.sourceRepo}@${COMMIT}`, 'still pinned by commit');
  assert.deepEqual(readBuildFacts(JSON.parse(JSON.stringify(st.predicate))), {
    sourceRepo: INPUT.sourceRepo,
    commit: COMMIT,
    buildCommand: INPUT.buildCommand,
    builderId: INPUT.builderId,
    ref: 'refs/tags/v1.2.0',
  });
});

test('readBuildFacts falls back to a git+ dependency pinned by commit (sha1 digest too)', () => {
  const predicate = {
    buildDefinition: {
      buildType: 'https://example.com/bt/v1',
      externalParameters: {},
      resolvedDependencies: [
        { uri: 'oci://docker.io/library/alpine', digest: { sha256: 'aa'.repeat(32) } },
        { uri: `git+https://gitlab.example.com/acme/hello.git@${COMMIT}`, digest: { sha1: COMMIT } },
      ],
    },
    runDetails: { builder: { id: 'https://gitlab.example.com/runner' } },
  };
  assert.deepEqual(readBuildFacts(predicate), {
    sourceRepo: 'https://gitlab.example.com/acme/hello.git',
    commit: COMMIT,
    buildCommand: undefined,
    builderId: 'https://gitlab.example.com/runner',
  });
});

test(
  'readBuildFacts strips a ref such as @refs/heads/main from a git+ dependency uri',
  () => {
    const { externalParameters: _ignored, ...rest } = GITHUB_PREDICATE.buildDefinition;
    const predicate = { ...GITHUB_PREDICATE, buildDefinition: { ...rest, externalParameters: {} } };
    assert.equal(readBuildFacts(predicate).sourceRepo, 'https://github.com/acme/hello');
    assert.equal(readBuildFacts(predicate).ref, 'refs/heads/main', 'and keeps it as the ref');
  },
);

test('readBuildFacts leaves missing facts undefined rather than inventing them', () => {
  assert.deepEqual(
    readBuildFacts({ buildDefinition: { buildType: 'x', externalParameters: { buildCommand: '' } }, runDetails: { builder: {} } }),
    { sourceRepo: undefined, commit: undefined, buildCommand: undefined, builderId: undefined },
  );
});

test('readBuildFacts refuses a predicate that is not SLSA v1 provenance with ATTESTATION_INVALID', () => {
  const notSlsa: unknown[] = [
    // SPDX document
    { spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: 'hello' },
    // SLSA v0.2
    { builder: { id: 'https://x' }, buildType: 'https://x', invocation: {}, materials: [] },
    { buildDefinition: {} },
    { runDetails: {} },
    { buildDefinition: 'x', runDetails: {} },
    { buildDefinition: null, runDetails: {} },
    { buildDefinition: {}, runDetails: null },
    null,
    undefined,
    'provenance',
    42,
  ];
  for (const predicate of notSlsa) {
    assert.throws(
      () => readBuildFacts(predicate),
      (e: unknown) => hasCode(e, 'ATTESTATION_INVALID') && /not SLSA v1 provenance/.test((e as Error).message),
      JSON.stringify(predicate),
    );
  }
});

test('parseStatement refuses what is not an in-toto statement', () => {
  const good = createProvenance(INPUT);
  const cases: Array<[unknown, RegExp]> = [
    [{ ...good, _type: 'https://in-toto.io/Statement/v2' }, /_type/],
    [{ ...good, subject: [] }, /no subject/],
    [{ ...good, predicateType: '' }, /no predicateType/],
    [{ ...good, predicate: null }, /no predicate/],
  ];
  for (const [value, expected] of cases) {
    assert.throws(
      () => parseStatement(Buffer.from(JSON.stringify(value))),
      (e: unknown) => hasCode(e, 'ATTESTATION_INVALID') && expected.test((e as Error).message),
    );
  }
  assert.throws(() => parseStatement(Buffer.from('{')), (e) => hasCode(e, 'ATTESTATION_INVALID'));
  // v0.1 (what cosign v3.1.2 writes for legacy attestations) is accepted.
  assert.equal(parseStatement(Buffer.from(JSON.stringify({ ...good, _type: 'https://in-toto.io/Statement/v0.1' })))._type, 'https://in-toto.io/Statement/v0.1');
});
