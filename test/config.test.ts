import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  DEFAULT_DEV_PASSWORD_ENV,
  DEFAULT_PLATFORM_PASSWORD_ENV,
  loadConfig,
  parseConfig,
  parseConfigYaml,
  resolveKeyRef,
} from '../src/config';
import { formatDuration, parseDuration } from '../src/duration';
import { CountersignError, hasCode } from '../src/errors';

const HOUR = 3_600_000;

/** A config folder with keys/ holding the public keys the config names. */
function configDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'keys'));
  for (const name of ['dev.pub', 'platform.pub', 'other.pub', 'alice.pub', 'bob.pub', 'carol.pub', 'a.pub']) writeFileSync(path.join(dir, 'keys', name), '-----BEGIN PUBLIC KEY-----\n');
  return dir;
}

/** The approver roster every config here shares. */
const ROSTER = Object.fromEntries(['alice', 'bob', 'carol', 'a'].map((n) => [n, { publicKey: `keys/${n}.pub` }]));

const VALID_YAML = `
registry: 127.0.0.1:5000
approvers:
  alice: { publicKey: keys/alice.pub, identities: [alice@example.com] }
  bob: { publicKey: keys/bob.pub }
  carol: { publicKey: keys/carol.pub }
keys:
  developer:
    key: keys/dev.key
    publicKey: keys/dev.pub
  platform:
    key: awskms://localhost:4566/alias/platform
    publicKey: ./keys/platform.pub
    passwordEnv: PLATFORM_PW
targets:
  prod:
    repository: apps/hello
    policy:
      sourceRepo: https://github.com/acme/hello
      builderIds: [https://countersign.dev/builders/local@v1]
      buildCommand: countersign build examples/hello
    approval:
      approvers: [alice, bob, alice]
      required: 2
      deadline: 1h30m
  staging:
    repository: registry.example.com:443/apps/hello
    releaseTag: staging-1.0
    policy:
      sourceRepo: https://github.com/acme/hello
      builderIds: [b1, b2]
      requireCommit: false
    approval:
      approvers: [carol]
    keys:
      developer:
        publicKey: keys/other.pub
`;

test('a valid file: defaults, shared keys, relative paths resolved against the config folder', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  writeFileSync(file, VALID_YAML);
  const config = loadConfig(file, {});
  assert.equal(config.file, file);
  assert.equal(config.registry, '127.0.0.1:5000');
  assert.deepEqual(Object.keys(config.targets), ['prod', 'staging']);

  const prod = config.targets.prod;
  assert.deepEqual(prod, {
    name: 'prod',
    repository: '127.0.0.1:5000/apps/hello',
    releaseTag: 'prod',
    policy: {
      sourceRepo: 'https://github.com/acme/hello',
      builderIds: ['https://countersign.dev/builders/local@v1'],
      buildCommand: 'countersign build examples/hello',
      requireCommit: true,
    },
    approval: {
      groups: [{ name: 'approvers', members: ['alice', 'bob'], required: 2 }],
      vetoOnReject: true,
      deadlineMs: 1.5 * HOUR,
      reminderEveryMs: undefined,
      evidenceCheckEveryMs: HOUR,
      escalateAfterReminders: undefined,
      escalation: undefined,
      webhookUrl: undefined,
    },
    approvers: {
      alice: { publicKey: path.join(dir, 'keys', 'alice.pub'), identities: ['alice@example.com'], signingKeys: [] },
      bob: { publicKey: path.join(dir, 'keys', 'bob.pub'), identities: [], signingKeys: [] },
    },
    keys: {
      developer: { key: path.join(dir, 'keys', 'dev.key'), publicKey: path.join(dir, 'keys', 'dev.pub'), passwordEnv: DEFAULT_DEV_PASSWORD_ENV },
      platform: { key: 'awskms://localhost:4566/alias/platform', publicKey: path.join(dir, 'keys', 'platform.pub'), passwordEnv: 'PLATFORM_PW' },
    },
    signatureFormat: 'legacy',
    sources: [],
  });

  const staging = config.targets.staging;
  assert.equal(staging.repository, 'registry.example.com:443/apps/hello', 'a repository with a host is kept');
  assert.equal(staging.releaseTag, 'staging-1.0');
  assert.equal(staging.policy.requireCommit, false);
  assert.equal(staging.policy.buildCommand, undefined);
  assert.deepEqual(staging.approval.groups, [{ name: 'approvers', members: ['carol'], required: 1 }]);
  assert.equal(staging.approval.deadlineMs, 72 * HOUR);
  assert.deepEqual(Object.keys(staging.approvers), ['carol']);
  assert.deepEqual(staging.keys.developer, { key: undefined, publicKey: path.join(dir, 'keys', 'other.pub'), passwordEnv: DEFAULT_DEV_PASSWORD_ENV });
  assert.equal(staging.keys.platform.passwordEnv, 'PLATFORM_PW', 'shared platform key still applies');
});

test('paths resolve against the config folder, not the working directory', (t) => {
  const dir = configDir(t);
  const sub = path.join(dir, 'etc');
  mkdirSync(sub);
  writeFileSync(path.join(sub, 'c.yaml'), VALID_YAML.replaceAll('keys/', '../keys/'));
  const cwd = process.cwd();
  process.chdir(os.tmpdir());
  try {
    const config = loadConfig(path.relative(os.tmpdir(), path.join(sub, 'c.yaml')), {});
    assert.equal(config.file, path.join(sub, 'c.yaml'));
    assert.equal(config.targets.prod.keys.developer.key, path.join(dir, 'keys', 'dev.key'));
    assert.equal(config.targets.prod.keys.developer.publicKey, path.join(dir, 'keys', 'dev.pub'));
  } finally {
    process.chdir(cwd);
  }
  assert.equal(resolveKeyRef('k/dev.key', '/etc/cs'), '/etc/cs/k/dev.key');
  assert.equal(resolveKeyRef('/abs/dev.key', '/etc/cs'), '/abs/dev.key');
  assert.equal(resolveKeyRef('awskms:///alias/x', '/etc/cs'), 'awskms:///alias/x');
});

test('repository: registry-relative names use registry:, else COUNTERSIGN_REGISTRY, else a problem', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  const raw = (registry?: string, repository = 'apps/hello') => ({
    ...(registry ? { registry } : {}),
    approvers: ROSTER,
    targets: {
      prod: {
        repository,
        policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'] },
        approval: { approvers: ['a'] },
        keys: { developer: { publicKey: 'keys/dev.pub' }, platform: { publicKey: 'keys/platform.pub' } },
      },
    },
  });
  const parsed = parseConfig(raw('reg.example.com'), file, {}).targets.prod;
  assert.equal(parsed.repository, 'reg.example.com/apps/hello');
  assert.deepEqual(
    [parsed.keys.developer.passwordEnv, parsed.keys.platform.passwordEnv],
    [DEFAULT_DEV_PASSWORD_ENV, DEFAULT_PLATFORM_PASSWORD_ENV],
    'default passphrase variables',
  );
  assert.equal(parseConfig(raw(undefined), file, { COUNTERSIGN_REGISTRY: '127.0.0.1:5999' }).targets.prod.repository, '127.0.0.1:5999/apps/hello');
  assert.equal(parseConfig(raw('reg.example.com'), file, { COUNTERSIGN_REGISTRY: 'ignored:1' }).registry, 'reg.example.com');
  for (const withHost of ['localhost/apps/hello', 'localhost:5000/apps/hello', 'ghcr.io/acme/hello', '10.0.0.1:5000/x']) {
    assert.equal(parseConfig(raw('reg.example.com', withHost), file, {}).targets.prod.repository, withHost);
  }
  assert.throws(
    () => parseConfig(raw(undefined), file, {}),
    (e: unknown) =>
      hasCode(e, 'BAD_CONFIG') &&
      (e as CountersignError).details?.problems instanceof Array &&
      /targets\.prod\.repository: "apps\/hello" names no registry host/.test((e as Error).message),
  );
});

/** Parses `raw` expecting BAD_CONFIG; returns the list of problems. */
function problemsOf(raw: unknown, file: string): string[] {
  try {
    parseConfig(raw, file, {});
  } catch (err) {
    assert.ok(hasCode(err, 'BAD_CONFIG'), String(err));
    const problems = (err as CountersignError).details?.problems as string[];
    assert.ok(Array.isArray(problems));
    assert.match((err as Error).message, new RegExp(`has ${problems.length} problem\\(s\\)`));
    for (const p of problems) assert.ok((err as Error).message.includes(p), `message lists "${p}"`);
    return problems;
  }
  assert.fail('expected BAD_CONFIG');
}

test('each bad field is reported with its path', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  const target = () => ({
    repository: '127.0.0.1:5000/apps/hello',
    releaseTag: 'prod',
    policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'], requireCommit: true },
    approval: { approvers: ['alice', 'bob'], required: 1, deadline: '1h' },
    keys: { developer: { publicKey: 'keys/dev.pub' }, platform: { publicKey: 'keys/platform.pub' } },
  });
  assert.equal(parseConfig({ approvers: ROSTER, targets: { prod: target() } }, file, {}).targets.prod.name, 'prod', 'the base is valid');

  const cases: Array<[string, (t: any) => void, RegExp]> = [
    ['no repository', (t) => delete t.repository, /^targets\.prod\.repository: is required$/],
    ['empty repository', (t) => (t.repository = ' '), /^targets\.prod\.repository: must be a non-empty string$/],
    ['bad release tag', (t) => (t.releaseTag = 'has space'), /^targets\.prod\.releaseTag: "has space" is not a valid tag$/],
    ['unknown signature format', (t) => (t.signatureFormat = 'sigstore'), /^targets\.prod\.signatureFormat: must be one of legacy, bundle, both, not "sigstore"$/],
    ['release tag starting with "-"', (t) => (t.releaseTag = '-x'), /^targets\.prod\.releaseTag: /],
    ['no policy', (t) => delete t.policy, /^targets\.prod\.policy: is required$/],
    ['no sourceRepo', (t) => delete t.policy.sourceRepo, /^targets\.prod\.policy\.sourceRepo: is required$/],
    ['sourceRepo not a string', (t) => (t.policy.sourceRepo = 7), /^targets\.prod\.policy\.sourceRepo: must be a non-empty string$/],
    ['no builderIds', (t) => (t.policy.builderIds = []), /^targets\.prod\.policy\.builderIds: must list at least one builder id$/],
    ['builderIds not strings', (t) => (t.policy.builderIds = ['a', 3]), /^targets\.prod\.policy\.builderIds: must be a list of non-empty strings$/],
    ['buildCommand empty', (t) => (t.policy.buildCommand = ''), /^targets\.prod\.policy\.buildCommand: must be a non-empty string$/],
    ['requireCommit not boolean', (t) => (t.policy.requireCommit = 'yes'), /^targets\.prod\.policy\.requireCommit: must be true or false$/],
    ['refs not a list', (t) => (t.policy.refs = 'refs/heads/main'), /^targets\.prod\.policy\.refs: must be a list of non-empty strings$/],
    ['refs empty', (t) => (t.policy.refs = []), /^targets\.prod\.policy\.refs: must list at least one ref \(or leave refs out\)$/],
    ['refs null', (t) => (t.policy.refs = null), /^targets\.prod\.policy\.refs: must be a list of non-empty strings$/],
    ['refs with an empty string', (t) => (t.policy.refs = ['main', '']), /^targets\.prod\.policy\.refs: must be a list of non-empty strings$/],
    ['ref with a * inside', (t) => (t.policy.refs = ['refs/*/main']), /^targets\.prod\.policy\.refs: "refs\/\*\/main": \* is allowed only at the end$/],
    ['ref with a blank', (t) => (t.policy.refs = ['refs/heads/main ']), /^targets\.prod\.policy\.refs: "refs\/heads\/main " must not contain blanks$/],
    ['commitPrefix not boolean', (t) => (t.policy.commitPrefix = 'yes'), /^targets\.prod\.policy\.commitPrefix: must be true or false$/],
    ['no approval', (t) => delete t.approval, /^targets\.prod\.approval: is required$/],
    ['no approvers', (t) => (t.approval.approvers = []), /^targets\.prod\.approval\.approvers: must list at least one approver \(or use groups:\)$/],
    ['approvers not a list', (t) => (t.approval.approvers = 'alice'), /^targets\.prod\.approval\.approvers: must be a list of non-empty strings$/],
    ['required above approvers', (t) => (t.approval.required = 3), /^targets\.prod\.approval\.required: must be a whole number from 1 to the number of members \(2\)$/],
    ['required zero', (t) => (t.approval.required = 0), /^targets\.prod\.approval\.required: /],
    ['required fractional', (t) => (t.approval.required = 1.5), /^targets\.prod\.approval\.required: /],
    ['required a string', (t) => (t.approval.required = '1'), /^targets\.prod\.approval\.required: /],
    ['bad deadline', (t) => (t.approval.deadline = 'soon'), /^targets\.prod\.approval\.deadline: .*"soon" is not a duration/],
    ['zero deadline', (t) => (t.approval.deadline = '0h'), /^targets\.prod\.approval\.deadline: .*must be longer than zero$/],
    ['no developer key', (t) => delete t.keys.developer, /^targets\.prod\.keys\.developer: is required/],
    ['platform key not a mapping', (t) => (t.keys.platform = 'keys/platform.pub'), /^targets\.prod\.keys\.platform: is required/],
    ['no publicKey', (t) => delete t.keys.developer.publicKey, /^targets\.prod\.keys\.developer\.publicKey: is required$/],
    ['publicKey missing on disk', (t) => (t.keys.developer.publicKey = 'keys/nope.pub'), /^targets\.prod\.keys\.developer\.publicKey: file .*keys\/nope\.pub does not exist$/],
    ['key empty', (t) => (t.keys.platform.key = ''), /^targets\.prod\.keys\.platform\.key: must be a non-empty string$/],
    ['passwordEnv not a string', (t) => (t.keys.platform.passwordEnv = 1), /^targets\.prod\.keys\.platform\.passwordEnv: must be a non-empty string$/],
  ];
  for (const [what, mutate, expected] of cases) {
    const value = target();
    mutate(value);
    const problems = problemsOf({ approvers: ROSTER, targets: { prod: value } }, file);
    assert.ok(problems.some((p) => expected.test(p)), `${what}: ${JSON.stringify(problems)}`);
  }

  // Top-level problems.
  assert.deepEqual(problemsOf({ targets: {} }, file), ['targets: must be a mapping with at least one target (or leave targets: out and give charts: at least one chart target)']);
  assert.deepEqual(problemsOf({}, file), ['targets: must be a mapping with at least one target (or leave targets: out and give charts: at least one chart target)']);
  assert.ok(problemsOf({ registry: 5, targets: { prod: target() } }, file).includes('registry: must be a non-empty string'));
  assert.ok(problemsOf({ keys: [], targets: { prod: target() } }, file).includes('keys: must be a mapping'));
  assert.ok(problemsOf({ targets: { Prod_1: target() } }, file).some((p) => /^targets\.Prod_1: target names are lowercase/.test(p)));
  assert.ok(problemsOf({ targets: { prod: 'x' } }, file).includes('targets.prod: must be a mapping'));
  for (const top of [null, [], 'targets', 3]) {
    assert.throws(() => parseConfig(top, file, {}), (e) => hasCode(e, 'BAD_CONFIG') && /the top level must be a mapping/.test((e as Error).message));
  }
});

test('policy refs and commitPrefix: read from YAML, bare branch names made refs/heads/..., left out when not given', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  writeFileSync(
    file,
    VALID_YAML.replace(
      '      buildCommand: countersign build examples/hello\n',
      '      buildCommand: countersign build examples/hello\n      refs: [main, refs/tags/v*, refs/heads/main]\n      commitPrefix: true\n',
    ),
  );
  const config = loadConfig(file, {});
  assert.deepEqual(config.targets.prod.policy, {
    sourceRepo: 'https://github.com/acme/hello',
    builderIds: ['https://countersign.dev/builders/local@v1'],
    buildCommand: 'countersign build examples/hello',
    requireCommit: true,
    refs: ['refs/heads/main', 'refs/tags/v*'],
    commitPrefix: true,
  });
  assert.equal('refs' in config.targets.staging.policy, false);
  assert.equal('commitPrefix' in config.targets.staging.policy, false);
  const prod = {
    repository: 'r.example.com/a',
    policy: { sourceRepo: 's', builderIds: ['b'], commitPrefix: false },
    approval: { approvers: ['a'] },
    keys: { developer: { publicKey: 'keys/dev.pub' }, platform: { publicKey: 'keys/platform.pub' } },
  };
  const off = parseConfig({ approvers: ROSTER, targets: { prod } }, file, {});
  assert.equal(off.targets.prod.policy.commitPrefix, false);
});

test('approval policy: groups, timers, escalation and webhook are parsed, and each bad field reported with its path', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  const target = (approval: Record<string, unknown>) => ({
    repository: '127.0.0.1:5000/apps/hello',
    policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'] },
    approval,
    keys: { developer: { publicKey: 'keys/dev.pub' }, platform: { publicKey: 'keys/platform.pub' } },
  });
  const full = () => ({
    groups: { platform: { members: ['alice', 'bob'], required: 2 }, security: { members: ['carol'] } },
    vetoOnReject: false,
    deadline: '2h',
    reminderEvery: '30m',
    escalateAfter: 2,
    escalation: { members: ['erin'] },
    webhook: 'https://hooks.example.com/countersign',
  });
  assert.deepEqual(parseConfig({ approvers: ROSTER, targets: { prod: target(full()) } }, file, {}).targets.prod.approval, {
    groups: [
      { name: 'platform', members: ['alice', 'bob'], required: 2 },
      { name: 'security', members: ['carol'], required: 1 },
    ],
    vetoOnReject: false,
    deadlineMs: 2 * HOUR,
    reminderEveryMs: HOUR / 2,
    evidenceCheckEveryMs: HOUR,
    escalateAfterReminders: 2,
    escalation: { group: 'escalation', members: ['erin'] },
    webhookUrl: 'https://hooks.example.com/countersign',
  });
  assert.equal(parseConfig({ approvers: ROSTER, targets: { prod: target({ ...full(), evidenceCheckEvery: '10m' }) } }, file, {}).targets.prod.approval.evidenceCheckEveryMs, HOUR / 6);

  const at = 'targets.prod.approval';
  const cases: Array<[string, (a: any) => void, string | RegExp]> = [
    ['groups a list', (a) => (a.groups = ['platform']), `${at}.groups: must map group names to { members, required }`],
    ['groups empty', (a) => (a.groups = {}), `${at}.groups: must map group names to { members, required }`],
    ['group without members', (a) => delete a.groups.platform.members, `${at}.groups.platform.members: must list at least one approver`],
    ['group not a mapping', (a) => (a.groups.security = 'carol'), `${at}.groups.security.members: must list at least one approver`],
    ['group members not strings', (a) => (a.groups.platform.members = ['alice', 7]), `${at}.groups.platform.members: must be a list of non-empty strings`],
    ['group member not in the roster', (a) => a.groups.platform.members.push('zed'), `${at}.groups.platform.members: zed is not in the approvers roster (top-level approvers:, with a publicKey each)`],
    ['group required above members', (a) => (a.groups.platform.required = 3), `${at}.groups.platform.required: must be a whole number from 1 to the number of members (2)`],
    ['group required zero', (a) => (a.groups.security.required = 0), `${at}.groups.security.required: must be a whole number from 1 to the number of members (1)`],
    ['group required a string', (a) => (a.groups.platform.required = '2'), `${at}.groups.platform.required: must be a whole number from 1 to the number of members (2)`],
    ['groups and the shorthand', (a) => Object.assign(a, { approvers: ['alice'], required: 1 }), `${at}: give either groups: or the approvers:/required: shorthand, not both`],
    ['vetoOnReject a string', (a) => (a.vetoOnReject = 'yes'), `${at}.vetoOnReject: must be true or false`],
    ['vetoOnReject a number', (a) => (a.vetoOnReject = 1), `${at}.vetoOnReject: must be true or false`],
    ['reminderEvery not a duration', (a) => (a.reminderEvery = 'daily'), `${at}.reminderEvery: value "daily" is not a duration like 90s, 30m, 72h or 7d`],
    ['reminderEvery zero', (a) => (a.reminderEvery = '0m'), `${at}.reminderEvery: value "0m" must be longer than zero`],
    ['escalateAfter zero', (a) => (a.escalateAfter = 0), `${at}.escalateAfter: must be a whole number of reminders (1 or more)`],
    ['escalateAfter fractional', (a) => (a.escalateAfter = 1.5), `${at}.escalateAfter: must be a whole number of reminders (1 or more)`],
    ['escalateAfter a string', (a) => (a.escalateAfter = '2'), `${at}.escalateAfter: must be a whole number of reminders (1 or more)`],
    ['escalateAfter without reminderEvery', (a) => delete a.reminderEvery, `${at}.escalateAfter: needs reminderEvery: escalation follows reminders`],
    ['escalation without members', (a) => (a.escalation = {}), `${at}.escalation.members: must list who is told when approval stalls`],
    ['escalation members empty', (a) => (a.escalation.members = []), `${at}.escalation.members: must list who is told when approval stalls`],
    ['escalation members not strings', (a) => (a.escalation.members = ['erin', '']), `${at}.escalation.members: must be a list of non-empty strings`],
    ['escalation without escalateAfter', (a) => delete a.escalateAfter, `${at}.escalation: needs escalateAfter: how many reminders before escalating`],
    ['webhook not http(s)', (a) => (a.webhook = 'ftp://hooks.example.com/x'), `${at}.webhook: "ftp://hooks.example.com/x" is not an http(s) URL`],
    ['webhook not a URL', (a) => (a.webhook = 'hooks.example.com/x'), `${at}.webhook: "hooks.example.com/x" is not an http(s) URL`],
    // The bounds that keep a long wait small (docs/limits.md), each explained.
    ['deadline past 90 days', (a) => (a.deadline = '91d'), /^targets\.prod\.approval\.deadline: is longer than 90d: a promotion waits at most 90d for approval/],
    ['reminders more than once a minute', (a) => (a.reminderEvery = '30s'), `${at}.reminderEvery: is shorter than 1m: reminders more often than that flood approvers and the run's history`],
    ['a reminder no sooner than the deadline', (a) => (a.reminderEvery = '2h'), `${at}.reminderEvery: is not shorter than the deadline (2h): no reminder would ever be sent`],
    ['an escalation after the deadline', (a) => (a.escalateAfter = 4), `${at}.escalateAfter: 4 reminders of 30m come after the deadline (2h): the escalation would never happen`],
    ['the pack read again more than once a minute', (a) => (a.evidenceCheckEvery = '30s'), `${at}.evidenceCheckEvery: is shorter than 1m: every open gate would wake and read the registry that often`],
    ['the pack read again less than once in 90 days', (a) => (a.evidenceCheckEvery = '91d'), `${at}.evidenceCheckEvery: is longer than 90d, the longest deadline`],
    ['evidenceCheckEvery not a duration', (a) => (a.evidenceCheckEvery = 'hourly'), /^targets\.prod\.approval\.evidenceCheckEvery: /],
    ['escalateAfter past its maximum', (a) => (a.escalateAfter = 5000), `${at}.escalateAfter: must be at most 1000 reminders`],
    ['a group name past 63 characters', (a) => (a.groups[`g${'x'.repeat(70)}`] = { members: ['carol'] }), `${at}.groups: a group name is 71 characters; at most 63`],
  ];
  for (const [what, mutate, expected] of cases) {
    const approval = full();
    mutate(approval);
    const problems = problemsOf({ approvers: ROSTER, targets: { prod: target(approval) } }, file);
    assert.ok(problems.some((p) => (typeof expected === 'string' ? p === expected : expected.test(p))), `${what}: ${JSON.stringify(problems)}`);
  }

  // escalateAfter without reminderEvery is reported even when no escalation follows.
  const { escalation: _escalation, ...lone } = full();
  delete (lone as Record<string, unknown>).reminderEvery;
  assert.deepEqual(problemsOf({ approvers: ROSTER, targets: { prod: target(lone) } }, file), [`${at}.escalateAfter: needs reminderEvery: escalation follows reminders`]);
});

test('a value past its size limit is reported by the field and the limit, never quoted back', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  const huge = 'x'.repeat(1024 * 1024);
  const raw = {
    approvers: ROSTER,
    targets: {
      prod: {
        repository: '127.0.0.1:5000/apps/hello',
        releaseTag: huge,
        policy: { sourceRepo: `https://${huge}`, builderIds: ['b'], buildCommand: huge },
        approval: { approvers: ['alice'], deadline: huge, webhook: `https://${huge}` },
        keys: { developer: { publicKey: huge }, platform: { publicKey: 'keys/platform.pub' } },
      },
    },
  };
  let message = '';
  assert.throws(() => parseConfig(raw, file, {}), (err: unknown) => {
    assert.ok(hasCode(err, 'BAD_CONFIG'));
    message = (err as Error).message;
    return true;
  });
  for (const [field, limit] of [
    ['releaseTag', 128],
    ['policy.sourceRepo', 2048],
    ['policy.buildCommand', 2048],
    ['approval.deadline', 32],
    ['approval.webhook', 2048],
    ['keys.developer.publicKey', 4096],
  ] as const) {
    assert.ok(message.includes(`targets.prod.${field}: is `) && message.includes(`characters; at most ${limit}`), `${field} named with its limit: ${message.slice(0, 2000)}`);
  }
  assert.ok(!message.includes('x'.repeat(64)), 'no value quoted back');
  assert.ok(message.length < 4000, `a short report (${message.length} characters)`);
});

test('approver roster: each bad entry is reported with its path', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  const target = {
    repository: '127.0.0.1:5000/apps/hello',
    policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'] },
    approval: { approvers: ['alice'] },
    keys: { developer: { publicKey: 'keys/dev.pub' }, platform: { publicKey: 'keys/platform.pub' } },
  };
  const roster = () => ({
    alice: { publicKey: 'keys/alice.pub', identities: ['alice@example.com'], signingKeys: ['keys/dev.pub'] },
    bob: { publicKey: 'keys/bob.pub' } as Record<string, unknown>,
  });
  assert.deepEqual(parseConfig({ approvers: roster(), targets: { prod: target } }, file, {}).roster.alice, {
    publicKey: path.join(dir, 'keys', 'alice.pub'),
    identities: ['alice@example.com'],
    signingKeys: [path.join(dir, 'keys', 'dev.pub')],
  });

  const cases: Array<[string, unknown, string]> = [
    ['roster a list', ['alice', 'bob'], 'approvers: must map each approver name to { publicKey, passkeys, identities, signingKeys }'],
    ['no publicKey', { ...roster(), bob: { identities: ['bob@example.com'] } }, 'approvers.bob.publicKey: is required: the key this approver signs statements with (or passkeys:, for the console)'],
    ['empty publicKey', { ...roster(), bob: { publicKey: '' } }, 'approvers.bob.publicKey: is required: the key this approver signs statements with (or passkeys:, for the console)'],
    ['entry not a mapping', { ...roster(), bob: 'keys/bob.pub' }, 'approvers.bob.publicKey: is required: the key this approver signs statements with (or passkeys:, for the console)'],
    ['publicKey missing on disk', { ...roster(), bob: { publicKey: 'keys/nope.pub' } }, `approvers.bob.publicKey: file ${path.join(dir, 'keys', 'nope.pub')} does not exist`],
    ['signingKeys not a list', { ...roster(), bob: { publicKey: 'keys/bob.pub', signingKeys: 'keys/dev.pub' } }, 'approvers.bob.signingKeys: must be a list of non-empty strings'],
    ['signingKeys missing on disk', { ...roster(), bob: { publicKey: 'keys/bob.pub', signingKeys: ['keys/gone.pub'] } }, `approvers.bob.signingKeys: file ${path.join(dir, 'keys', 'gone.pub')} does not exist`],
    ['identities not strings', { ...roster(), bob: { publicKey: 'keys/bob.pub', identities: [''] } }, 'approvers.bob.identities: must be a list of non-empty strings'],
    ['name with a space', { ...roster(), 'bob smith': { publicKey: 'keys/bob.pub' } }, 'approvers.bob smith: approver names are letters, digits and . _ @ -'],
    ['name starting with a dot', { ...roster(), '.bob': { publicKey: 'keys/bob.pub' } }, 'approvers..bob: approver names are letters, digits and . _ @ -'],
    ['name with a slash', { ...roster(), 'acme/bob': { publicKey: 'keys/bob.pub' } }, 'approvers.acme/bob: approver names are letters, digits and . _ @ -'],
  ];
  for (const [what, approvers, expected] of cases) {
    const problems = problemsOf({ approvers, targets: { prod: target } }, file);
    assert.ok(problems.includes(expected), `${what}: ${JSON.stringify(problems)}`);
  }
});

test('all problems come in one BAD_CONFIG error, across targets', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  const problems = problemsOf(
    {
      approvers: ROSTER,
      targets: {
        prod: {
          repository: 'apps/hello',
          releaseTag: 'a b',
          policy: { builderIds: [] },
          approval: { approvers: ['a'], required: 5, deadline: 'never' },
          keys: { developer: { publicKey: 'keys/missing.pub' } },
        },
        staging: { repository: 'x.io/y' },
      },
    },
    file,
  );
  const expected: Array<string | RegExp> = [
    'targets.prod.repository: "apps/hello" names no registry host; add one, set top-level registry:, or COUNTERSIGN_REGISTRY',
    'targets.prod.releaseTag: "a b" is not a valid tag',
    'targets.prod.policy.builderIds: must list at least one builder id',
    'targets.prod.policy.sourceRepo: is required',
    'targets.prod.approval.required: must be a whole number from 1 to the number of members (1)',
    /^targets\.prod\.approval\.deadline: .*"never" is not a duration like 90s, 30m, 72h or 7d$/,
    `targets.prod.keys.developer.publicKey: file ${path.join(dir, 'keys', 'missing.pub')} does not exist`,
    'targets.prod.keys.platform: is required (key, publicKey, passwordEnv), here or under the top-level keys:',
    'targets.staging.policy: is required',
    'targets.staging.policy.builderIds: must list at least one builder id',
    'targets.staging.policy.sourceRepo: is required',
    'targets.staging.approval: is required',
    'targets.staging.approval.approvers: must list at least one approver (or use groups:)',
    'targets.staging.keys.developer: is required (key, publicKey, passwordEnv), here or under the top-level keys:',
    'targets.staging.keys.platform: is required (key, publicKey, passwordEnv), here or under the top-level keys:',
  ];
  assert.equal(problems.length, expected.length, JSON.stringify(problems, null, 1));
  expected.forEach((e, i) => (typeof e === 'string' ? assert.equal(problems[i], e) : assert.match(problems[i], e)));
});

test('loadConfig: a missing file or broken YAML is BAD_CONFIG naming the file', (t) => {
  const dir = configDir(t);
  const missing = path.join(dir, 'nope.yaml');
  assert.throws(() => loadConfig(missing, {}), (e) => hasCode(e, 'BAD_CONFIG') && (e as Error).message.includes(missing));
  const broken = path.join(dir, 'broken.yaml');
  writeFileSync(broken, 'targets: [unclosed\n  - : :');
  assert.throws(() => loadConfig(broken, {}), (e) => hasCode(e, 'BAD_CONFIG') && /is not valid YAML/.test((e as Error).message));
  const empty = path.join(dir, 'empty.yaml');
  writeFileSync(empty, '');
  assert.throws(() => loadConfig(empty, {}), (e) => hasCode(e, 'BAD_CONFIG'));
  const huge = path.join(dir, 'huge.yaml');
  writeFileSync(huge, `# ${'x'.repeat(2 * 1024 * 1024)}\ntargets: {}\n`);
  assert.throws(() => loadConfig(huge, {}), (e) => hasCode(e, 'BAD_CONFIG') && (e as Error).message.endsWith(`is ${2 * 1024 * 1024 + 15} bytes, over the 1048576-byte limit for a configuration file`));
});

test('parseDuration: units, sums, and refusals', () => {
  const cases: Array<[string, number]> = [
    ['90s', 90_000],
    ['30m', 30 * 60_000],
    ['72h', 72 * HOUR],
    ['7d', 7 * 24 * HOUR],
    ['1h30m', 1.5 * HOUR],
    ['1d2h3m4s5ms', 86_400_000 + 2 * HOUR + 3 * 60_000 + 4_000 + 5],
    ['250ms', 250],
    [' 5m ', 300_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
  for (const bad of ['', '   ', '10', 'h', '1.5h', '-1h', '1 h', '1h 30m', '1H', '1w', 'soon', '0s', '0h0m', 'ms']) {
    assert.throws(() => parseDuration(bad, 'deadline'), (e) => hasCode(e, 'BAD_INPUT') && /^BAD_INPUT: deadline "/.test((e as Error).message), JSON.stringify(bad));
  }
  assert.equal(formatDuration(500), '500ms');
  assert.equal(formatDuration(90_000), '90s');
  assert.equal(formatDuration(30 * 60_000), '30m');
  assert.equal(formatDuration(5 * HOUR), '5h');
  assert.equal(formatDuration(72 * HOUR), '3d');
});

/** VALID_YAML with lines added to the prod target (indented as its other keys). */
function withProd(extra: string): string {
  return VALID_YAML.replace('    repository: apps/hello\n', `    repository: apps/hello\n${extra}`);
}

test('admission: a target whose customers enforce at admission publishes both by default, without a warning', (t) => {
  const dir = configDir(t);
  for (const admission of ['policy-controller', 'kyverno']) {
    const config = parseConfig(parseConfigYaml(withProd(`    admission: ${admission}\n`), 'countersign.yaml'), path.join(dir, 'countersign.yaml'), {});
    assert.equal(config.targets.prod.admission, admission);
    assert.equal(config.targets.prod.signatureFormat, 'both');
    assert.deepEqual(config.warnings, []);
  }
  const none = parseConfig(parseConfigYaml(withProd('    admission: none\n'), 'countersign.yaml'), path.join(dir, 'countersign.yaml'), {});
  assert.equal(none.targets.prod.signatureFormat, 'legacy');
  const unsaid = parseConfig(parseConfigYaml(VALID_YAML, 'countersign.yaml'), path.join(dir, 'countersign.yaml'), {});
  assert.equal(unsaid.targets.prod.signatureFormat, 'legacy');
  assert.equal(unsaid.targets.prod.admission, undefined);
  assert.deepEqual(unsaid.warnings, []);
});

test('admission: a pinned format a controller refuses starts the worker with a warning naming the target and the verifier', (t) => {
  const dir = configDir(t);
  const warningsFor = (admission: string, format: string) =>
    parseConfig(parseConfigYaml(withProd(`    admission: ${admission}\n    signatureFormat: ${format}\n`), 'countersign.yaml'), path.join(dir, 'countersign.yaml'), {}).warnings;
  assert.deepEqual(warningsFor('policy-controller', 'bundle'), [
    'targets.prod: signatureFormat bundle with admission policy-controller: sigstore policy-controller v0.13.1 (key authorities) refuses its images (key authorities do not read sigstore bundles, policy-controller#1958); publish both (the default with admission) or say why not',
  ]);
  const kyvernoLegacy = warningsFor('kyverno', 'legacy');
  assert.equal(kyvernoLegacy.length, 1);
  assert.match(kyvernoLegacy[0]!, /^targets\.prod: signatureFormat legacy with admission kyverno: Kyverno v1\.19\.1 ImageValidatingPolicy refuses its images \(.*kyverno#17109\)/);
  assert.match(warningsFor('kyverno', 'bundle')[0]!, /^targets\.prod: signatureFormat bundle with admission kyverno: Kyverno v1\.19\.1 ClusterPolicy verifyImages type: Cosign refuses/);
  // What the matrix admits says nothing.
  assert.deepEqual(warningsFor('policy-controller', 'legacy'), []);
  assert.deepEqual(warningsFor('kyverno', 'both'), []);
  assert.deepEqual(warningsFor('none', 'bundle'), []);
});

test('verificationSummary.verifierId: the worker names its own verifier, today\'s fixed id by default', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  assert.equal(parseConfig(parseConfigYaml(VALID_YAML, 'countersign.yaml'), file, {}).verifierId, 'https://countersign.dev/verifier/platform-verify/v1');
  const own = parseConfig(parseConfigYaml(`verificationSummary:\n  verifierId: https://verify.acme.example/platform/v1\n${VALID_YAML}`, 'countersign.yaml'), file, {});
  assert.equal(own.verifierId, 'https://verify.acme.example/platform/v1');
  assert.throws(
    () => parseConfig(parseConfigYaml(`verificationSummary: { verifierId: "" }\n${VALID_YAML}`, 'countersign.yaml'), file, {}),
    (err: unknown) => hasCode(err, 'BAD_CONFIG') && /verificationSummary\.verifierId: /.test((err as Error).message),
  );
});
