import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { loadConfig, parseConfig } from '../src/config';
import { editDistance, schemaProblems, withoutDoubles } from '../src/config-schema';
import { CountersignError, hasCode } from '../src/errors';
import { configDir, full, FULL_YAML } from './support/full-config';

const ROOT = path.resolve(__dirname, '..');

/** parseConfig's problems with `raw` (BAD_CONFIG expected). */
function problemsOf(raw: unknown, file: string): string[] {
  try {
    parseConfig(raw, file, {});
  } catch (err) {
    assert.ok(hasCode(err, 'BAD_CONFIG'), String(err));
    return (err as CountersignError).details?.problems as string[];
  }
  assert.fail('expected BAD_CONFIG');
}

test('countersign.example.yaml and every other countersign config committed in the repo validate', () => {
  const configs: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (['node_modules', '.git'].includes(entry.name)) continue;
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      // A countersign config has a top-level targets: (compose files and Helm charts do not).
      else if (/\.ya?ml$/.test(entry.name) && /^targets:/m.test(readFileSync(file, 'utf8'))) configs.push(file);
    }
  };
  walk(ROOT);
  assert.ok(configs.includes(path.join(ROOT, 'countersign.example.yaml')), `found: ${configs.join(', ')}`);
  for (const file of configs) assert.deepEqual(schemaProblems(YAML.parse(readFileSync(file, 'utf8'))), [], path.relative(ROOT, file));

  const example = readFileSync(path.join(ROOT, 'countersign.example.yaml'), 'utf8');
  assert.equal(example.split('\n')[0], '# yaml-language-server: $schema=./schema/countersign.schema.json');
});

test('config snippets in the docs use only keys and values the schema knows (snippets may leave out required fields)', () => {
  const docs = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) => f.endsWith('.md'));
  let snippets = 0;
  for (const doc of docs) {
    for (const m of readFileSync(path.join(ROOT, doc), 'utf8').matchAll(/```ya?ml\n([\s\S]*?)```/g)) {
      const raw = YAML.parse(m[1]);
      if (!raw || typeof raw !== 'object' || !['targets', 'approvers', 'keys', 'trust', 'initiators', 'temporal', 'charts'].some((k) => k in raw)) continue;
      snippets++;
      assert.deepEqual(schemaProblems(raw).filter((p) => !p.endsWith(': is required')), [], `${doc}: ${m[1].slice(0, 60)}`);
    }
  }
  assert.ok(snippets >= 4, `only ${snippets} config snippets found`);
});

test('a config using every key, the new ones included, validates', () => {
  assert.deepEqual(schemaProblems(full()), []);
});

test('a typo under policy (buildComand) is BAD_CONFIG naming its path and the key it meant, never a silently dropped check', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  writeFileSync(file, FULL_YAML.replace('buildCommand: countersign build', 'buildComand: countersign build'));
  assert.throws(
    () => loadConfig(file, {}),
    (e: unknown) => {
      assert.ok(hasCode(e, 'BAD_CONFIG'), String(e));
      const problems = (e as CountersignError).details?.problems as string[];
      assert.deepEqual(
        problems.filter((p) => p.startsWith('targets.production.policy.')),
        ['targets.production.policy.buildComand: unknown key (did you mean buildCommand?)'],
      );
      assert.match((e as Error).message, /targets\.production\.policy\.buildComand: unknown key \(did you mean buildCommand\?\)/);
      return true;
    },
  );
});

test('unknown keys anywhere are errors with their path', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  const cases: Array<[string, (c: Record<string, any>) => void, string]> = [
    ['top level', (c) => (c.regsitry = 'x'), 'regsitry: unknown key (did you mean registry?)'],
    ['top level, nothing close', (c) => (c.notifications = {}), 'notifications: unknown key (allowed: registry, keys, approvers, initiators, console, temporal, metrics, notify, seal, verificationSummary, trust, targets, charts)'],
    ['metrics', (c) => (c.metrics.port = 9464), 'metrics.port: unknown key (allowed: listen)'],
    ['roster entry', (c) => (c.approvers.bob.signingKey = ['keys/developer.pub']), 'approvers.bob.signingKey: unknown key (did you mean signingKeys?)'],
    ['target', (c) => (c.targets.staging.releasetag = 'x'), 'targets.staging.releasetag: unknown key (did you mean releaseTag?)'],
    ['approval', (c) => (c.targets.production.approval.deadLine = '1h'), 'targets.production.approval.deadLine: unknown key (did you mean deadline?)'],
    ['group', (c) => (c.targets.production.approval.groups.security.quorum = 1), 'targets.production.approval.groups.security.quorum: unknown key (allowed: members, required)'],
    ['key', (c) => (c.targets.staging.keys.platform.passwordenv = 'X'), 'targets.staging.keys.platform.passwordenv: unknown key (did you mean passwordEnv?)'],
    ['trust store', (c) => (c.trust.helm.userID = {}), 'trust.helm.userID: unknown key (did you mean userId?)'],
    ['custodians', (c) => (c.trust.platform.custodians.member = ['alice']), 'trust.platform.custodians.member: unknown key (did you mean members?)'],
    ['initiator', (c) => (c.initiators.ci.target = ['production']), 'initiators.ci.target: unknown key (did you mean targets?)'],
    ['temporal tls', (c) => (c.temporal.tls.servername = 'x'), 'temporal.tls.servername: unknown key (did you mean serverName?)'],
    ['chart target', (c) => (c.charts.charts.stagingDir = '/tmp/x'), 'charts.charts.stagingDir: unknown key (allowed: sources, signing, cosign, publish, approval)'],
    ['chart publish', (c) => (c.charts.charts.publish.repositoryDirs = 'x'), 'charts.charts.publish.repositoryDirs: unknown key (did you mean repositoryDir?)'],
    ['chart signing', (c) => (c.charts.charts.signing.passphrase = 'X'), 'charts.charts.signing.passphrase: unknown key (did you mean passphraseEnv?)'],
  ];
  for (const [what, mutate, expected] of cases) {
    const raw = full();
    mutate(raw);
    assert.ok(schemaProblems(raw).includes(expected), `${what}: ${JSON.stringify(schemaProblems(raw))}`);
    assert.ok(problemsOf(raw, file).includes(expected), `${what} through parseConfig: ${JSON.stringify(problemsOf(raw, file))}`);
  }
});

test('wrong types and values name their path', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  const at = 'targets.production.approval';
  const cases: Array<[string, (c: Record<string, any>) => void, string, string]> = [
    ['required count as a string', (c) => (c.targets.production.approval.groups.platform.required = '1'), `${at}.groups.platform.required`, 'must be a whole number, not "1"'],
    ['shorthand required as a string', (c) => (c.targets.staging.approval.required = '1'), 'targets.staging.approval.required', 'must be a whole number, not "1"'],
    ['deadline as a number', (c) => (c.targets.production.approval.deadline = 30), `${at}.deadline`, 'must be a string, not 30'],
    ['deadline not a duration', (c) => (c.targets.production.approval.deadline = 'soon'), `${at}.deadline`, '"soon" is not a duration like 90s, 30m, 72h or 7d (longer than zero)'],
    ['requireCommit as a string', (c) => (c.targets.production.policy.requireCommit = 'yes'), 'targets.production.policy.requireCommit', 'must be true or false, not "yes"'],
    ['builderIds a string', (c) => (c.targets.production.policy.builderIds = 'b1'), 'targets.production.policy.builderIds', 'must be a list, not "b1"'],
    ['an empty buildCommand', (c) => (c.targets.production.policy.buildCommand = null), 'targets.production.policy.buildCommand', 'must be a string, not empty'],
    ['signatureFormat', (c) => (c.targets.production.signatureFormat = 'sigstore'), 'targets.production.signatureFormat', 'must be one of legacy, bundle, both, not "sigstore"'],
    ['admission', (c) => (c.targets.production.admission = 'gatekeeper'), 'targets.production.admission', 'must be one of policy-controller, kyverno, none, not "gatekeeper"'],
    ['a verifier id that is no URI', (c) => (c.verificationSummary.verifierId = 'countersign platform'), 'verificationSummary.verifierId', '"countersign platform" is not a URI (scheme:...)'],
    ['a bad target name', (c) => (c.targets.Prod_1 = c.targets.staging), 'targets.Prod_1', '"Prod_1" is not a valid name: lowercase letters, digits and "-"'],
    ['a ceremony of one', (c) => (c.trust.platform.custodians.required = 1), 'trust.platform.custodians.required', 'must be at least 2, not 1'],
    ['revocation count zero', (c) => (c.trust.platform.revocation.required = 0), 'trust.platform.revocation.required', 'must be at least 1, not 0'],
    ['an initiator target that is no name', (c) => (c.initiators.ci.targets = ['production', 'all targets']), 'initiators.ci.targets[1]', '"all targets" is not a target name or "*"'],
    ['a temporal address without port', (c) => (c.temporal.address = 'temporal.internal'), 'temporal.address', '"temporal.internal" is not host:port'],
    ['commitPrefix as a string', (c) => (c.targets.production.policy.commitPrefix = 'no'), 'targets.production.policy.commitPrefix', 'must be true or false, not "no"'],
    ['refs not a list', (c) => (c.targets.production.policy.refs = 'main'), 'targets.production.policy.refs', 'must be a list, not "main"'],
    ['a trust key with a public key too', (c) => (c.targets.canary.keys.platform.publicKey = 'keys/platform.pub'), 'targets.canary.keys.platform.publicKey', 'cannot be used together with trust:'],
    ['a key with neither', (c) => (c.targets.canary.keys.platform = { passwordEnv: 'X' }), 'targets.canary.keys.platform.publicKey', 'is required'],
    ['a chart trust key with a key file too', (c) => (c.charts['charts-ceremony'].signing.key = 'keys/charts.asc'), 'charts.charts-ceremony.signing.key', 'cannot be used together with trust:'],
    ['a chart key without its keyring', (c) => delete c.charts.charts.signing.keyring, 'charts.charts.signing.keyring', 'is required'],
    ['a chart repository URL that is no URL', (c) => (c.charts.charts.publish.repositoryUrl = 'charts.acme.com'), 'charts.charts.publish.repositoryUrl', '"charts.acme.com" is not an http(s) URL'],
    ['a bad chart target name', (c) => (c.charts.Charts_1 = c.charts.charts), 'charts.Charts_1', '"Charts_1" is not a valid name: lowercase letters, digits and "-"'],
  ];
  for (const [what, mutate, field, message] of cases) {
    const raw = full();
    mutate(raw);
    assert.ok(schemaProblems(raw).includes(`${field}: ${message}`), `${what}: ${JSON.stringify(schemaProblems(raw))}`);
    // Through parseConfig the field is named in the parser's words, or else in the schema's: not both.
    const named = problemsOf(raw, file).filter((p) => p.startsWith(`${field}: `));
    assert.ok(named.length > 0, `${what} through parseConfig: ${JSON.stringify(problemsOf(raw, file))}`);
    if (named.includes(`${field}: ${message}`)) assert.equal(named.length, 1, `${what}: reported twice: ${JSON.stringify(named)}`);
  }
});

test('a problem both the schema and the parser see is reported once', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  const raw = full();
  delete raw.targets.production.policy.sourceRepo;
  raw.targets.production.policy.builderIds = ['b1', 7];
  const problems = problemsOf(raw, file);
  assert.ok(schemaProblems(raw).includes('targets.production.policy.sourceRepo: is required'), 'the schema sees it');
  assert.ok(schemaProblems(raw).includes('targets.production.policy.builderIds[1]: must be a string, not 7'), 'the schema sees the item');
  assert.deepEqual(problems.filter((p) => p.startsWith('targets.production.policy.sourceRepo')), ['targets.production.policy.sourceRepo: is required']);
  assert.ok(problems.includes('targets.production.policy.builderIds: must be a list of non-empty strings'));
  assert.deepEqual(problems.filter((p) => p.startsWith('targets.production.policy.builderIds[')), [], 'the list is named, not its item as well');

  assert.deepEqual(withoutDoubles(['a.b: x', 'a.b[2]: y', 'a.c: z', 'a.bc: w'], ['a.b: q']), ['a.c: z', 'a.bc: w']);
  assert.equal(editDistance('buildComand', 'buildCommand'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('the admission: and verificationSummary: YAML in docs/cosign-interop.md is what the schema and the parser accept', (t) => {
  const dir = configDir(t);
  const doc = readFileSync(path.join(__dirname, '..', 'docs', 'cosign-interop.md'), 'utf8');
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => YAML.parse(m[1]!) as Record<string, any>);
  const summary = blocks.find((b) => b.verificationSummary)!;
  const admission = blocks.find((b) => b.targets?.production?.admission)!;
  const raw = full();
  raw.verificationSummary = summary.verificationSummary;
  Object.assign(raw.targets.production, admission.targets.production);
  delete raw.targets.production.signatureFormat;
  assert.deepEqual(schemaProblems(raw), []);
  // What they set is read as config.test.ts shows (admission's default format, the verifier id).
  assert.deepEqual(problemsOf(raw, path.join(dir, 'countersign.yaml')).filter((p) => /admission|verificationSummary|signatureFormat/.test(p)), []);
});
