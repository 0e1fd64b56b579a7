/** The charts: section: what parseConfig resolves for a chart target, and every refusal with its field path. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config';
import { CountersignError, hasCode } from '../../src/errors';
import { configDir } from '../support/full-config';
import { VECTORS } from './helpers';

function base(): Record<string, any> {
  return {
    registry: '127.0.0.1:5000',
    approvers: { alice: { publicKey: 'keys/alice.pub' }, bob: { publicKey: 'keys/bob.pub' }, carol: { publicKey: 'keys/carol.pub' } },
    initiators: { ci: { publicKey: 'keys/ci.pub', targets: ['production', 'charts'] } },
    trust: {
      helm: { kind: 'openpgp', publishDir: 'trust/public', userId: { name: 'Acme Charts' }, governance: ['alice'], custodians: { members: ['alice', 'bob'], required: 2 } },
      platform: { publishDir: 'trust/public-cosign', governance: ['alice'], custodians: { members: ['alice', 'bob'], required: 2 } },
    },
    targets: {
      production: {
        repository: 'apps/hello',
        policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'] },
        approval: { approvers: ['alice'] },
        keys: { developer: { publicKey: 'keys/developer.pub' }, platform: { key: 'keys/platform.key', publicKey: 'keys/platform.pub' } },
      },
    },
    charts: {
      charts: {
        sources: ['charts'],
        signing: { key: path.join(VECTORS, 'test-key.asc'), keyring: path.join(VECTORS, 'keyring.gpg') },
        cosign: { key: 'keys/platform.key', publicKey: 'keys/platform.pub' },
        publish: { repositoryDir: 'published', repositoryUrl: 'https://charts.acme.com', oci: 'charts' },
        approval: { approvers: ['alice', 'bob'], required: 1, reopen: ['carol'] },
      },
      ceremony: { sources: ['charts'], signing: { trust: 'helm' }, publish: { oci: 'registry.example.com/acme' }, approval: { approvers: ['bob'] } },
    },
  };
}

function problems(dir: string, raw: Record<string, any>): string[] {
  try {
    parseConfig(raw, path.join(dir, 'countersign.yaml'), {});
    return [];
  } catch (err) {
    assert.ok(hasCode(err, 'BAD_CONFIG'), String(err));
    return (err as CountersignError).details!.problems as string[];
  }
}

function dirWithCharts(t: { after(fn: () => void): void }): string {
  const dir = configDir(t);
  mkdirSync(path.join(dir, 'charts'));
  writeFileSync(path.join(dir, 'keys', 'platform.key'), 'not read when parsing\n');
  return dir;
}

test('a chart target resolves its paths, defaults and approvers; initiators may name it', (t) => {
  const dir = dirWithCharts(t);
  const config = parseConfig(base(), path.join(dir, 'countersign.yaml'), {});
  const charts = config.charts.charts!;
  assert.deepEqual(charts.sources, [path.join(dir, 'charts')]);
  assert.deepEqual(charts.signing, { key: path.join(VECTORS, 'test-key.asc'), keyring: path.join(VECTORS, 'keyring.gpg'), passphraseEnv: 'COUNTERSIGN_PGP_PASSPHRASE' });
  assert.deepEqual(charts.cosign, { key: path.join(dir, 'keys/platform.key'), publicKey: path.join(dir, 'keys/platform.pub'), passwordEnv: 'COSIGN_PASSWORD' });
  assert.deepEqual(charts.publish, { repositoryDir: path.join(dir, 'published'), repositoryUrl: 'https://charts.acme.com', oci: '127.0.0.1:5000/charts' });
  assert.deepEqual(Object.keys(charts.approvers).sort(), ['alice', 'bob', 'carol'], 'the re-opener is pinned with the approvers');
  assert.deepEqual(charts.approval.reopen, ['carol']);
  const ceremony = config.charts.ceremony!;
  assert.ok('trust' in ceremony.signing && ceremony.signing.trust.name === 'helm');
  assert.equal(ceremony.publish.oci, 'registry.example.com/acme');
  assert.deepEqual(config.initiators.ci!.targets, ['production', 'charts']);
});

test('every refusal names its field', (t) => {
  const dir = dirWithCharts(t);
  const cases: Array<[string, (c: Record<string, any>) => void, string]> = [
    ['a name a target already has', (c) => (c.charts.production = c.charts.charts), 'charts.production: "production" is already a target under targets:; chart targets and targets need different names'],
    ['no sources', (c) => delete c.charts.charts.sources, 'charts.charts.sources: is required: the directories the worker may package charts from'],
    ['an empty sources list', (c) => (c.charts.charts.sources = []), 'charts.charts.sources: must list at least one directory the worker may package charts from'],
    ['a source that is not there', (c) => (c.charts.charts.sources = ['nowhere']), `charts.charts.sources: directory ${path.join(dir, 'nowhere')} does not exist`],
    ['no signing', (c) => delete c.charts.charts.signing, 'charts.charts.signing: is required: { trust: NAME } or { key, keyring, passphraseEnv } (the OpenPGP key that signs the .prov)'],
    ['a key without its keyring', (c) => delete c.charts.charts.signing.keyring, 'charts.charts.signing.keyring: is required: the published binary keyring holding the key, which the .prov must verify against'],
    ['a keyring that is not there', (c) => (c.charts.charts.signing.keyring = 'keyring.gpg'), `charts.charts.signing.keyring: file ${path.join(dir, 'keyring.gpg')} does not exist`],
    ['a cosign trust store', (c) => (c.charts.ceremony.signing.trust = 'platform'), 'charts.ceremony.signing.trust: trust store platform holds cosign keys, not OpenPGP keys'],
    ['an unknown trust store', (c) => (c.charts.ceremony.signing.trust = 'nope'), 'charts.ceremony.signing.trust: no trust store "nope" under the top-level trust:'],
    ['trust and a key file', (c) => (c.charts.ceremony.signing.key = 'keys/charts.asc'), 'charts.ceremony.signing.key: cannot be used together with trust:'],
    ['a cosign key without its public key', (c) => delete c.charts.charts.cosign.publicKey, 'charts.charts.cosign.publicKey: is required: its public key, which the bundle must verify against'],
    ['nowhere to publish', (c) => (c.charts.charts.publish = { repositoryUrl: 'https://x.example' }), 'charts.charts.publish: needs repositoryDir, oci, or both'],
    ['a URL without a directory', (c) => (c.charts.charts.publish = { oci: 'charts', repositoryUrl: 'https://x.example' }), 'charts.charts.publish.repositoryUrl: is the public URL of repositoryDir, which is not set'],
    ['an OCI namespace without a registry', (c) => delete c.registry, 'charts.charts.publish.oci: "charts" names no registry host; add one, set top-level registry:, or COUNTERSIGN_REGISTRY'],
    ['an approver not in the roster', (c) => (c.charts.charts.approval.approvers = ['mallory']), 'charts.charts.approval.groups.approvers.members: mallory is not in the approvers roster (top-level approvers:, with a publicKey each)'],
    ['a pack re-read on a gate that shows none', (c) => (c.charts.charts.approval.evidenceCheckEvery = '1h'), "charts.charts.approval.evidenceCheckEvery: this gate shows no evidence pack to read again (only a promotion's does)"],
    ['an initiator naming neither', (c) => (c.initiators.ci.targets = ['chartz']), 'initiators.ci.targets[0]: no target "chartz" under targets: or charts:'],
  ];
  for (const [what, mutate, expected] of cases) {
    const raw = base();
    mutate(raw);
    assert.ok(problems(dir, raw).includes(expected), `${what}: ${JSON.stringify(problems(dir, raw))}`);
  }
  assert.deepEqual(problems(dir, base()), [], 'the base is valid: each case above is a real refusal');
});

test('a worker that only releases charts may leave targets: out; one of targets: and charts: must name something', (t) => {
  const dir = dirWithCharts(t);
  const chartsOnly = base();
  delete chartsOnly.targets;
  chartsOnly.initiators.ci.targets = ['charts'];
  const config = parseConfig(chartsOnly, path.join(dir, 'countersign.yaml'), {});
  assert.deepEqual(config.targets, {});
  assert.deepEqual(Object.keys(config.charts).sort(), ['ceremony', 'charts']);

  // Without targets:, an initiator naming something that is not a chart target is still refused.
  const stray = base();
  delete stray.targets;
  stray.initiators.ci.targets = ['production'];
  assert.deepEqual(problems(dir, stray), ['initiators.ci.targets[0]: no target "production" under targets: or charts:']);

  const expected = 'targets: must be a mapping with at least one target (or leave targets: out and give charts: at least one chart target)';
  for (const [what, mutate] of [
    ['neither', (c: Record<string, any>) => (delete c.targets, delete c.charts, (c.initiators.ci.targets = ['*']))],
    ['no targets and an empty charts:', (c: Record<string, any>) => (delete c.targets, (c.charts = {}), (c.initiators.ci.targets = ['*']))],
    ['an empty targets: beside charts', (c: Record<string, any>) => ((c.targets = {}), (c.initiators.ci.targets = ['charts']))],
  ] as const) {
    const raw = base();
    mutate(raw);
    assert.deepEqual(problems(dir, raw), [expected], what);
  }
});
