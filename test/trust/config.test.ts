/** The trust: section's custodians' notifications and revocation settings (src/trust/config.ts). */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config';
import { CountersignError, hasCode } from '../../src/errors';
import { writeKeyPair } from '../../src/keys/file-signer';
import { minimalTarget } from './support';

describe('trust.<name>.revocation', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-trust-config-'));
    for (const who of ['dev', 'erin', 'alice', 'bob', 'carol', 'index']) await writeKeyPair(path.join(dir, 'keys'), who, 'pw');
  });
  const parseStore = (over: Record<string, unknown>) =>
    parseConfig(
      {
        approvers: Object.fromEntries(['erin', 'alice', 'bob', 'carol'].map((n) => [n, { publicKey: `keys/${n}.pub` }])),
        trust: { platform: { publishDir: 'trust/public', governance: ['erin', 'alice'], custodians: { members: ['alice', 'bob', 'carol'], required: 2 }, ...over } },
        targets: minimalTarget(),
      },
      path.join(dir, 'countersign.yaml'),
    );
  const parse = (revocation?: unknown) => parseStore(revocation === undefined ? {} : { revocation });
  const problems = (revocation: unknown): string[] => {
    try {
      parse(revocation);
      return [];
    } catch (err) {
      assert.ok(hasCode(err, 'BAD_CONFIG'), String(err));
      return (err as CountersignError).details!.problems as string[];
    }
  };

  it("custodians are reminded and escalated on the gate's schedule, told at the store's webhook", () => {
    const custodians = { members: ['alice', 'bob', 'carol'], required: 2, webhook: 'https://hooks.example.com/c', reminderEvery: '8h', escalateAfter: 2, escalation: { name: 'governance', members: ['erin'] } };
    const parsed = parseStore({ custodians }).trust.platform.custodians;
    assert.deepEqual(
      [parsed.webhookUrl, parsed.reminderEveryMs, parsed.escalateAfterReminders, parsed.escalation],
      ['https://hooks.example.com/c', 8 * 3_600_000, 2, { group: 'governance', members: ['erin'] }],
    );
  });

  const storeProblems = (over: Record<string, unknown>, extra: Record<string, unknown> = {}): string[] => {
    try {
      parseConfig(
        {
          approvers: Object.fromEntries(['erin', 'alice', 'bob', 'carol'].map((n) => [n, { publicKey: `keys/${n}.pub` }])),
          trust: { platform: { publishDir: 'trust/public', governance: ['erin', 'alice'], custodians: { members: ['alice', 'bob', 'carol'], required: 2 }, ...over }, ...extra },
          targets: minimalTarget(),
        },
        path.join(dir, 'countersign.yaml'),
      );
      return [];
    } catch (err) {
      assert.ok(hasCode(err, 'BAD_CONFIG'), String(err));
      return (err as CountersignError).details!.problems as string[];
    }
  };

  it('index: the signing key, its public key, a passphrase variable and a lifetime, with defaults', () => {
    const index = parseStore({ index: { key: 'keys/index.key', publicKey: 'keys/index.pub' } }).trust.platform.index;
    assert.deepEqual(index, { key: path.join(dir, 'keys/index.key'), publicKey: path.join(dir, 'keys/index.pub'), passwordEnv: 'COUNTERSIGN_PLATFORM_INDEX_KEY_PASSWORD', expiresMs: 14 * 86_400_000 });
    const kms = parseStore({ index: { key: 'awskms:///alias/countersign-index', publicKey: 'keys/index.pub', expires: '2d' } }).trust.platform.index;
    assert.deepEqual(kms, { key: 'awskms:///alias/countersign-index', publicKey: path.join(dir, 'keys/index.pub'), expiresMs: 2 * 86_400_000 }, 'a KMS key reads no passphrase');
    assert.ok(storeProblems({ index: { key: 'keys/index.key', publicKey: 'keys/nope.pub' } }).some((p) => /^trust\.platform\.index\.publicKey: file .*nope\.pub does not exist/.test(p)));
    assert.ok(storeProblems({ index: { key: 'awskms:///nope', publicKey: 'keys/index.pub' } }).some((p) => p.startsWith('trust.platform.index.key')));
    assert.ok(storeProblems({ index: { key: 'keys/index.key', publicKey: 'keys/index.pub', expires: '10s' } }).some((p) => /index\.expires: must be at least 1m/.test(p)));
  });

  it('root: a threshold governance can reach and a lifetime (default 365d), only beside index:', () => {
    const index = { key: 'keys/index.key', publicKey: 'keys/index.pub' };
    assert.deepEqual(parseStore({ index, root: { threshold: 2 } }).trust.platform.root, { threshold: 2, expiresMs: 365 * 86_400_000 });
    assert.deepEqual(parseStore({ index, root: { threshold: 1, expires: '90d' } }).trust.platform.root, { threshold: 1, expiresMs: 90 * 86_400_000 });
    assert.ok(storeProblems({ index, root: { threshold: 3 } }).some((p) => /^trust\.platform\.root\.threshold: is 3, but governance lists 2: a root could never be signed/.test(p)));
    assert.ok(storeProblems({ index, root: { threshold: 0 } }).some((p) => p.startsWith('trust.platform.root.threshold')));
    assert.ok(storeProblems({ root: { threshold: 1 } }).some((p) => /^trust\.platform\.root: needs index:/.test(p)));
    assert.ok(storeProblems({ index, root: { threshold: 1, expires: '3000d' } }).some((p) => /root\.expires: is longer than 5 years/.test(p)));
  });

  it('stores sharing a published directory share its index key, or none', () => {
    const helm = { kind: 'openpgp', userId: { name: 'Charts' }, publishDir: 'trust/public', stateFile: 'trust/private/helm.json', governance: ['erin'], custodians: { members: ['alice', 'bob'], required: 2 } };
    const index = { key: 'keys/index.key', publicKey: 'keys/index.pub' };
    assert.deepEqual(storeProblems({ index }, { helm: { ...helm, index } }), []);
    assert.ok(storeProblems({ index }, { helm }).some((p) => /trust stores platform, helm publish to .*, which has one index\.json: give them the same index:/.test(p)));
  });

  it('revocation.disableKmsKey is for stores that make KMS keys', () => {
    assert.deepEqual(parseStore({ kms: { endpoint: '127.0.0.1:4566' }, revocation: { disableKmsKey: true } }).trust.platform.revocation, { required: 1, disableKmsKey: true });
    assert.ok(storeProblems({ revocation: { disableKmsKey: true } }).some((p) => /revocation\.disableKmsKey: the store makes no KMS keys/.test(p)));
  });

  it('one governance signature by default; required: N asks for N', () => {
    assert.deepEqual(parse().trust.platform.revocation, { required: 1 });
    assert.deepEqual(parse({ required: 2 }).trust.platform.revocation, { required: 2 });
  });

  it('refuses a count governance cannot reach, and one below 1', () => {
    assert.ok(problems({ required: 3 }).some((p) => /^trust\.platform\.revocation\.required: is 3, but governance lists 2: a revocation could never be signed/.test(p)), JSON.stringify(problems({ required: 3 })));
    assert.ok(problems({ required: 0 }).some((p) => p.startsWith('trust.platform.revocation.required')), JSON.stringify(problems({ required: 0 })));
    assert.ok(problems({ requierd: 2 }).some((p) => p.startsWith('trust.platform.revocation.requierd: unknown key')), JSON.stringify(problems({ requierd: 2 })));
  });
});
