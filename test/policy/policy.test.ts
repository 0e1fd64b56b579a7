import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commitsMatch, evaluatePolicy, normaliseRefPattern, refMatches, refPatternProblem, type PolicyCheck, type TargetPolicy } from '../../src/policy/policy';
import { readBuildFacts } from '../../src/provenance/slsa';
import { VECTOR_COMMITS, vectorPredicate } from '../provenance/vectors';

const COMMIT = '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e';
const POLICY: TargetPolicy = {
  sourceRepo: 'https://github.com/acme/hello',
  builderIds: ['https://countersign.dev/builders/local@v1', 'https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main'],
  buildCommand: 'countersign build examples/hello',
  requireCommit: true,
};
const FACTS = {
  sourceRepo: 'https://github.com/acme/hello',
  commit: COMMIT,
  buildCommand: 'countersign build examples/hello',
  builderId: 'https://countersign.dev/builders/local@v1',
};

const byName = (checks: PolicyCheck[]) => Object.fromEntries(checks.map((c) => [c.name, c]));

test('every check runs and passes for matching facts', () => {
  const checks = evaluatePolicy(POLICY, FACTS, COMMIT);
  assert.deepEqual(checks.map((c) => [c.name, c.ok]), [
    ['sourceRepo', true],
    ['builderId', true],
    ['buildCommand', true],
    ['commit', true],
  ]);
  assert.equal(byName(checks).commit.message, `commit expected ${COMMIT}, attested ${COMMIT}`);
});

test('every failing check is reported at once, expected versus attested', () => {
  const checks = evaluatePolicy(
    POLICY,
    { sourceRepo: 'https://github.com/evil/hello', commit: 'a'.repeat(40), buildCommand: 'make', builderId: 'https://evil/builder' },
    COMMIT,
  );
  assert.deepEqual(checks, [
    { name: 'sourceRepo', ok: false, message: 'source repo expected https://github.com/acme/hello, attested https://github.com/evil/hello' },
    {
      name: 'builderId',
      ok: false,
      message: `builder id expected one of [${POLICY.builderIds.join(', ')}], attested https://evil/builder`,
    },
    { name: 'buildCommand', ok: false, message: 'build command expected "countersign build examples/hello", attested "make"' },
    { name: 'commit', ok: false, message: `commit expected ${COMMIT}, attested ${'a'.repeat(40)}` },
  ]);
});

test('missing attested facts fail and show as (none)', () => {
  const checks = byName(evaluatePolicy(POLICY, {}, COMMIT));
  assert.deepEqual(
    Object.values(checks).map((c) => [c.name, c.ok, c.message]),
    [
      ['sourceRepo', false, 'source repo expected https://github.com/acme/hello, attested (none)'],
      ['builderId', false, `builder id expected one of [${POLICY.builderIds.join(', ')}], attested (none)`],
      ['buildCommand', false, 'build command expected "countersign build examples/hello", attested (none)'],
      ['commit', false, `commit expected ${COMMIT}, attested (none)`],
    ],
  );
});

test('builderId: any listed builder is accepted, nothing else (no prefix matching)', () => {
  for (const id of POLICY.builderIds) assert.equal(byName(evaluatePolicy(POLICY, { ...FACTS, builderId: id }, COMMIT)).builderId.ok, true);
  for (const id of ['https://countersign.dev/builders/local', 'https://countersign.dev/builders/local@v1x', 'HTTPS://countersign.dev/builders/local@v1', '']) {
    assert.equal(byName(evaluatePolicy(POLICY, { ...FACTS, builderId: id }, COMMIT)).builderId.ok, false, id);
  }
});

test('buildCommand: checked only when the policy sets one, and then exactly', () => {
  const { buildCommand: _unused, ...noCommand } = POLICY;
  const checks = evaluatePolicy(noCommand, { ...FACTS, buildCommand: 'anything' }, COMMIT);
  assert.equal(byName(checks).buildCommand, undefined);
  assert.equal(checks.every((c) => c.ok), true);
  for (const cmd of ['countersign build examples/hello ', 'countersign  build examples/hello', 'countersign build examples/Hello']) {
    assert.equal(byName(evaluatePolicy(POLICY, { ...FACTS, buildCommand: cmd }, COMMIT)).buildCommand.ok, false, cmd);
  }
});

test('commit: required by default, so a promotion without a commit fails the check', () => {
  const check = byName(evaluatePolicy(POLICY, FACTS, undefined)).commit;
  assert.deepEqual(check, { name: 'commit', ok: false, message: `commit expected (none), attested ${COMMIT}` });
});

test('commit: not required and not asked for -> no check; asked for -> checked anyway', () => {
  const relaxed = { ...POLICY, requireCommit: false };
  assert.equal(byName(evaluatePolicy(relaxed, FACTS, undefined)).commit, undefined);
  assert.equal(byName(evaluatePolicy(relaxed, { ...FACTS, commit: undefined }, undefined)).commit, undefined);
  assert.equal(byName(evaluatePolicy(relaxed, FACTS, COMMIT)).commit.ok, true);
  const wrong = byName(evaluatePolicy(relaxed, FACTS, 'b'.repeat(40))).commit;
  assert.deepEqual(wrong, { name: 'commit', ok: false, message: `commit expected ${'b'.repeat(40)}, attested ${COMMIT}` });
});

test('commit: by default the requested commit must be the attested one (any case); an abbreviation fails', () => {
  const check = (requested: string, attested = COMMIT) => byName(evaluatePolicy(POLICY, { ...FACTS, commit: attested }, requested)).commit;
  assert.equal(check(COMMIT).ok, true);
  assert.equal(check(COMMIT.toUpperCase()).ok, true);
  assert.equal(check(COMMIT, COMMIT.toUpperCase()).ok, true);
  assert.deepEqual(check(COMMIT.slice(0, 7)), {
    name: 'commit',
    ok: false,
    message: `commit expected ${COMMIT.slice(0, 7)}, attested ${COMMIT}: this target requires the full revision (commitPrefix is off)`,
  });
  assert.equal(check(COMMIT.slice(0, 39)).ok, false);
  assert.equal(check(`${COMMIT}0`).ok, false, 'longer than the attested commit');
  assert.equal(commitsMatch(COMMIT.slice(0, 12), COMMIT), false);
  assert.equal(commitsMatch(COMMIT, COMMIT), true);
});

test('commit: with commitPrefix an abbreviation of 7+ hex digits matches the full commit it starts, nothing else', () => {
  const prefixed = { ...POLICY, commitPrefix: true };
  const check = (requested: string, attested = COMMIT) => byName(evaluatePolicy(prefixed, { ...FACTS, commit: attested }, requested)).commit;
  assert.equal(check(COMMIT.slice(0, 7)).ok, true);
  assert.equal(check(COMMIT.slice(0, 12).toUpperCase()).ok, true);
  assert.equal(check(COMMIT).ok, true);
  assert.deepEqual(check(COMMIT.slice(0, 6)), {
    name: 'commit',
    ok: false,
    message: `commit expected ${COMMIT.slice(0, 6)}, attested ${COMMIT}: ${COMMIT.slice(0, 6)} is not a commit`,
  });
  assert.equal(check('4f2a9c2').ok, false);
  assert.equal(check(COMMIT.slice(1, 9)).ok, false, 'a substring that is not a prefix');
  assert.equal(check(`${COMMIT}0`).ok, false, 'the requested commit is never the longer one');
  assert.equal(commitsMatch(COMMIT.slice(0, 7), COMMIT, true), true);
  assert.equal(commitsMatch(COMMIT.slice(0, 7), COMMIT), false);
});

test('commit: the attested commit must be a full revision (40 hex, or 64 in a SHA-256 repository), in either mode', () => {
  const sha256Commit = 'ab'.repeat(32);
  for (const commitPrefix of [false, true]) {
    const policy = { ...POLICY, commitPrefix };
    const check = (requested: string, attested: string) => byName(evaluatePolicy(policy, { ...FACTS, commit: attested }, requested)).commit;
    assert.deepEqual(check(COMMIT.slice(0, 7), COMMIT.slice(0, 7)), {
      name: 'commit',
      ok: false,
      message: `commit expected ${COMMIT.slice(0, 7)}, attested ${COMMIT.slice(0, 7)}: the attested commit is not a full revision`,
    });
    assert.equal(check(COMMIT, COMMIT.slice(0, 12)).ok, false, 'an abbreviated attested commit pins nothing');
    assert.equal(check(sha256Commit, sha256Commit).ok, true);
    assert.equal(check(sha256Commit.slice(0, 40), sha256Commit).ok, commitPrefix, '40 digits of a 64-digit commit are an abbreviation');
  }
  assert.equal(commitsMatch('', ''), false);
});

test(
  'commit: only hex digits count as a commit (a branch name is not one)',
  () => {
    assert.equal(commitsMatch('refs/heads/main', 'refs/heads/main'), false);
    assert.equal(byName(evaluatePolicy(POLICY, { ...FACTS, commit: 'release-1.2.3' }, 'release-1.2.3')).commit.ok, false);
    assert.equal(
      byName(evaluatePolicy(POLICY, FACTS, 'main')).commit.message,
      `commit expected main, attested ${COMMIT}: main is not a commit`,
    );
  },
);

test('sourceRepo: normalised for a .git suffix, trailing slashes, case and surrounding space (either side)', () => {
  const ok = (policyRepo: string, attested: string) =>
    byName(evaluatePolicy({ ...POLICY, sourceRepo: policyRepo }, { ...FACTS, sourceRepo: attested }, COMMIT)).sourceRepo.ok;
  for (const attested of [
    'https://github.com/acme/hello',
    'https://github.com/acme/hello.git',
    'https://github.com/acme/hello/',
    'https://github.com/acme/hello//',
    'HTTPS://GitHub.com/Acme/Hello',
    ' https://github.com/acme/hello ',
  ]) {
    assert.equal(ok('https://github.com/acme/hello', attested), true, attested);
    assert.equal(ok(attested, 'https://github.com/acme/hello'), true, `policy ${attested}`);
  }
  for (const attested of [
    'https://github.com/acme/hello-world',
    'https://github.com/acme/hell',
    'https://github.com/acme',
    'https://github.com/acme/hello/tree/main',
    'https://gitlab.com/acme/hello',
    'https://github.com/acme/hello.git.evil',
  ]) {
    assert.equal(ok('https://github.com/acme/hello', attested), false, attested);
  }
  // The message shows the values as given, not normalised.
  const check = byName(evaluatePolicy(POLICY, { ...FACTS, sourceRepo: 'https://github.com/acme/hello.git' }, COMMIT)).sourceRepo;
  assert.equal(check.message, 'source repo expected https://github.com/acme/hello, attested https://github.com/acme/hello.git');
});

test(
  'sourceRepo: ".git/" (suffix and trailing slash together) is normalised too',
  () => {
    const check = byName(evaluatePolicy(POLICY, { ...FACTS, sourceRepo: 'https://github.com/acme/hello.git/' }, COMMIT)).sourceRepo;
    assert.equal(check.ok, true, check.message);
  },
);

const MAIN_ONLY: TargetPolicy = { ...POLICY, refs: ['refs/heads/main'] };
const refCheck = (policy: TargetPolicy, ref: string | undefined) =>
  byName(evaluatePolicy(policy, { ...FACTS, ...(ref === undefined ? {} : { ref }) }, COMMIT)).ref;

test('ref: a commit of another branch fails, expected versus attested, and every other check still runs', () => {
  const checks = evaluatePolicy(MAIN_ONLY, { ...FACTS, ref: 'refs/heads/feature-x' }, COMMIT);
  assert.deepEqual(checks.map((c) => [c.name, c.ok]), [
    ['sourceRepo', true],
    ['builderId', true],
    ['buildCommand', true],
    ['commit', true],
    ['ref', false],
  ]);
  assert.equal(byName(checks).ref.message, 'ref expected one of [refs/heads/main], attested refs/heads/feature-x');
  assert.equal(refCheck(MAIN_ONLY, 'refs/heads/main').ok, true);
});

test('ref: with refs set, a provenance that names no ref fails closed', () => {
  assert.deepEqual(refCheck(MAIN_ONLY, undefined), { name: 'ref', ok: false, message: 'ref expected one of [refs/heads/main], attested (none)' });
  assert.equal(refCheck({ ...POLICY, refs: [] }, 'refs/heads/main').ok, false, 'an empty list admits nothing');
});

test('ref: no refs in the policy, no ref check', () => {
  assert.equal(refCheck(POLICY, 'refs/heads/anything'), undefined);
  assert.equal(refCheck(POLICY, undefined), undefined);
});

test('ref: exact refs match exactly; a trailing * matches the rest, slashes included', () => {
  const policy = { ...POLICY, refs: ['refs/heads/main', 'refs/tags/v*', 'refs/heads/release/*'] };
  for (const ref of ['refs/heads/main', 'refs/tags/v1.2.0', 'refs/tags/v2', 'refs/heads/release/1.x', 'refs/heads/release/1.x/hotfix']) {
    assert.equal(refCheck(policy, ref).ok, true, ref);
  }
  for (const ref of ['refs/heads/main2', 'refs/heads/Main', 'refs/heads/mai', 'refs/tags/release-1', 'refs/heads/v1.2.0', 'refs/heads/release', 'refs/pull/1/merge', 'refs/tags/main']) {
    assert.equal(refCheck(policy, ref).ok, false, ref);
  }
  assert.equal(refMatches('refs/*/main', 'refs/heads/main'), false, 'a * anywhere but the end matches nothing');
  assert.equal(refMatches('refs/heads/*', 'refs/heads/main'), true);
});

test('ref: a bare name in the policy is a branch, and shows as one', () => {
  const policy = { ...POLICY, refs: ['main', 'release-*'] };
  assert.equal(refCheck(policy, 'refs/heads/main').ok, true);
  assert.equal(refCheck(policy, 'refs/heads/release-2').ok, true);
  assert.equal(refCheck(policy, 'refs/tags/main').ok, false, 'never the tag of that name');
  assert.equal(refCheck(policy, 'refs/heads/x').message, 'ref expected one of [refs/heads/main, refs/heads/release-*], attested refs/heads/x');
  assert.equal(normaliseRefPattern('main'), 'refs/heads/main');
  assert.equal(normaliseRefPattern('refs/tags/v*'), 'refs/tags/v*');
});

test('ref: a bare attested name (GitLab CI_COMMIT_REF_NAME) is matched as refs/heads/<name>, never as a tag', () => {
  assert.deepEqual(refCheck(MAIN_ONLY, 'main'), { name: 'ref', ok: true, message: 'ref expected one of [refs/heads/main], attested main (a bare name, read as refs/heads/main)' });
  const tags = { ...POLICY, refs: ['refs/tags/v*'] };
  assert.equal(refCheck(tags, 'v1.2.0').ok, false);
  assert.equal(refCheck(tags, 'v1.2.0').message, 'ref expected one of [refs/tags/v*], attested v1.2.0 (a bare name, read as refs/heads/v1.2.0)');
});

test('refPatternProblem: blanks and a * before the end are refused', () => {
  assert.equal(refPatternProblem('refs/heads/main'), undefined);
  assert.equal(refPatternProblem('refs/tags/v*'), undefined);
  assert.equal(refPatternProblem('main'), undefined);
  assert.equal(refPatternProblem('refs/*/main'), '"refs/*/main": * is allowed only at the end');
  assert.equal(refPatternProblem('refs/tags/**'), '"refs/tags/**": * is allowed only at the end');
  assert.equal(refPatternProblem('refs/heads/main '), '"refs/heads/main " must not contain blanks');
});

test('real provenance end to end: the tag build passes a tag policy and fails a branch policy', () => {
  const facts = readBuildFacts(vectorPredicate('slsa-github-generator-delegator-push-tag.build.slsa'));
  const policy: TargetPolicy = {
    sourceRepo: 'https://github.com/slsa-framework/example-package',
    builderIds: ['https://github.com/slsa-framework/example-trw/.github/workflows/builder_high-perms_slsa3.yml@refs/tags/v2.1.0'],
    requireCommit: true,
    refs: ['refs/tags/v*'],
  };
  const commit = VECTOR_COMMITS.examplePackage;
  assert.deepEqual(evaluatePolicy(policy, facts, commit).filter((c) => !c.ok), []);
  const branchOnly = evaluatePolicy({ ...policy, refs: ['main'] }, facts, commit).filter((c) => !c.ok);
  assert.deepEqual(branchOnly, [{ name: 'ref', ok: false, message: 'ref expected one of [refs/heads/main], attested refs/tags/v14' }]);
  assert.equal(byName(evaluatePolicy(policy, facts, commit.slice(0, 7))).commit.ok, false, 'abbreviated, commitPrefix off');
  assert.equal(byName(evaluatePolicy({ ...policy, commitPrefix: true }, facts, commit.slice(0, 7))).commit.ok, true);
});
