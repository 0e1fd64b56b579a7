import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commitsMatch, evaluatePolicy, type PolicyCheck, type TargetPolicy } from '../../src/policy/policy';

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

test('commit: abbreviations of 7+ characters match the full commit, either way round, any case', () => {
  const ok = (requested: string, attested: string) => byName(evaluatePolicy(POLICY, { ...FACTS, commit: attested }, requested)).commit.ok;
  assert.equal(ok(COMMIT.slice(0, 7), COMMIT), true);
  assert.equal(ok(COMMIT.slice(0, 12), COMMIT), true);
  assert.equal(ok(COMMIT, COMMIT.slice(0, 7)), true);
  assert.equal(ok(COMMIT.toUpperCase(), COMMIT), true);
  assert.equal(ok(COMMIT.slice(0, 6), COMMIT), false, 'six characters is too short');
  assert.equal(ok(COMMIT, COMMIT.slice(0, 6)), false);
  assert.equal(ok('4f2a9c2', COMMIT), false);
  assert.equal(ok(COMMIT.slice(1, 9), COMMIT), false, 'a substring that is not a prefix');
  assert.equal(ok(`${COMMIT}0`, COMMIT), true, 'documented: the shorter must be a prefix of the longer');
  assert.equal(commitsMatch('', ''), false);
  assert.equal(commitsMatch('abcdef0', 'abcdef0'), true);
  const message = byName(evaluatePolicy(POLICY, FACTS, '1234567')).commit.message;
  assert.equal(message, `commit expected 1234567, attested ${COMMIT}`);
});

test(
  'commit: only hex digits count as a commit (a branch name is not one)',
  () => {
    assert.equal(commitsMatch('refs/heads/main', 'refs/heads/main'), false);
    assert.equal(byName(evaluatePolicy(POLICY, { ...FACTS, commit: 'release-1.2.3' }, 'release-1.2.3')).commit.ok, false);
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
