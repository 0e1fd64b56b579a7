/**
 * Passkeys in the worker's roster: parsed from the configuration only, ES256 only, tied to the
 * console origin the configuration states, one credential per person, and pinned into a run.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { pinRoster } from '../../src/approval/roster';
import { parseConfig } from '../../src/config';
import { hasCode, type CountersignError } from '../../src/errors';

const p256Pem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }) as string;

function configDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-passkeys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'keys'));
  for (const name of ['dev', 'platform', 'bob']) writeFileSync(path.join(dir, 'keys', `${name}.pub`), p256Pem());
  writeFileSync(path.join(dir, 'keys', 'frank-passkey.pem'), p256Pem());
  return dir;
}

/** A config whose target frank (passkeys only) and bob (a file key) approve. */
function full(): Record<string, any> {
  return {
    registry: '127.0.0.1:5000',
    console: { origin: 'https://countersign.acme.com' },
    approvers: {
      bob: { publicKey: 'keys/bob.pub' },
      frank: { passkeys: [{ id: 'cHJldGVuZC1jcmVkZW50aWFs', publicKey: 'keys/frank-passkey.pem', name: 'YubiKey 5C' }] },
    },
    targets: {
      prod: {
        repository: '127.0.0.1:5000/apps/hello',
        policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'] },
        approval: { approvers: ['frank', 'bob'] },
        keys: { developer: { publicKey: 'keys/dev.pub' }, platform: { key: 'awskms://localhost:4566/alias/platform', publicKey: 'keys/platform.pub' } },
      },
    },
  };
}

function problemsOf(raw: unknown, file: string): string[] {
  try {
    parseConfig(raw, file, {});
  } catch (err) {
    assert.ok(hasCode(err, 'BAD_CONFIG'), String(err));
    return (err as CountersignError).details?.problems as string[];
  }
  return [];
}


test('a passkey-only approver is read with its credential, key and the configured relying party, and pinned into a run', async (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  const inline = p256Pem();
  const raw = full();
  raw.approvers.frank.passkeys.push({ id: 'c2Vjb25kLWtleQ', publicKey: inline });
  const config = parseConfig(raw, file, {});
  assert.deepEqual(config.console, { origin: 'https://countersign.acme.com', rpId: 'countersign.acme.com' });
  const frank = config.roster.frank;
  assert.equal(frank.publicKey, undefined);
  assert.deepEqual(
    frank.passkeys?.map((p) => [p.id, p.name, p.rpId, p.origin, p.source]),
    [
      ['cHJldGVuZC1jcmVkZW50aWFs', 'YubiKey 5C', 'countersign.acme.com', 'https://countersign.acme.com', path.join(dir, 'keys', 'frank-passkey.pem')],
      ['c2Vjb25kLWtleQ', undefined, 'countersign.acme.com', 'https://countersign.acme.com', 'inline'],
    ],
  );
  const pinned = (await pinRoster({ frank }))!.frank;
  assert.equal(pinned.publicKeyHex, undefined);
  assert.equal(pinned.passkeys?.length, 2);
  assert.equal(pinned.passkeys![0].publicKeyPem, readFileSync(path.join(dir, 'keys', 'frank-passkey.pem'), 'utf8'));
  assert.match(pinned.passkeys![1].publicKeyHex, /^04[0-9a-f]{128}$/);
  assert.equal(pinned.passkeys![1].origin, 'https://countersign.acme.com');
});

test('an approver without passkeys pins no passkeys field (plans without any keep their policy digest)', async (t) => {
  const dir = configDir(t);
  const config = parseConfig(full(), path.join(dir, 'countersign.yaml'), {});
  assert.equal(Object.hasOwn(config.roster.bob, 'passkeys'), false);
});

test('bad passkeys are refused with their path: not ES256, bad id, twice, one credential for two people, no console origin', (t) => {
  const dir = configDir(t);
  const file = path.join(dir, 'countersign.yaml');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const same = p256Pem();
  const cases: Array<[string, (c: Record<string, any>) => void, string]> = [
    ['RSA key', (c) => (c.approvers.frank.passkeys[0].publicKey = rsa), 'approvers.frank.passkeys[0].publicKey: the inline key is not an ES256 (P-256) SPKI public key: only ES256 passkeys are accepted'],
    ['Ed25519 key', (c) => (c.approvers.frank.passkeys[0].publicKey = ed), 'approvers.frank.passkeys[0].publicKey: the inline key is not an ES256 (P-256) SPKI public key: only ES256 passkeys are accepted'],
    ['key file missing', (c) => (c.approvers.frank.passkeys[0].publicKey = 'keys/none.pem'), `approvers.frank.passkeys[0].publicKey: file ${path.join(dir, 'keys', 'none.pem')} does not exist`],
    ['id not base64url', (c) => (c.approvers.frank.passkeys[0].id = 'ab+/=='), 'approvers.frank.passkeys[0].id: must be the credential id in base64url (letters, digits, - and _, at most 1364 characters)'],
    ['same id twice', (c) => c.approvers.frank.passkeys.push({ id: 'cHJldGVuZC1jcmVkZW50aWFs', publicKey: p256Pem() }), 'approvers.frank.passkeys[1].id: credential cHJldGVuZC1jcmVk is listed twice'],
    [
      'one credential, two people',
      (c) => (c.approvers.grace = { passkeys: [{ id: 'cHJldGVuZC1jcmVkZW50aWFs', publicKey: p256Pem() }] }),
      "approvers.grace.passkeys[0].id: credential cHJldGVuZC1jcmVk is already frank's: one passkey may stand for one person only",
    ],
    [
      'one key, two people',
      (c) => {
        c.approvers.frank.passkeys[0].publicKey = same;
        c.approvers.grace = { passkeys: [{ id: 'b3RoZXI', publicKey: same }] };
      },
      'already frank',
    ],
    ['no console origin', (c) => delete c.console, 'approvers.frank.passkeys: needs console.origin: a passkey belongs to the console origin it was created at (its relying party)'],
    ['neither key nor passkeys', (c) => (c.approvers.frank = { passkeys: [] }), 'approvers.frank.publicKey: is required: the key this approver signs statements with (or passkeys:, for the console)'],
    ['origin with a path', (c) => (c.console.origin = 'https://countersign.acme.com/console'), 'console.origin: "https://countersign.acme.com/console" must be an origin only: scheme://host[:port], no path, query or user'],
    ['plain http off loopback', (c) => (c.console.origin = 'http://countersign.acme.com'), 'console.origin: "http://countersign.acme.com" must be https:// (browsers offer passkeys over http only on localhost)'],
    ['an IP address', (c) => (c.console.origin = 'https://10.0.0.1'), 'console.origin: "https://10.0.0.1" names an IP address: WebAuthn needs a host name (its relying party id)'],
  ];
  for (const [what, mutate, expected] of cases) {
    const raw = full();
    mutate(raw);
    const problems = problemsOf(raw, file);
    assert.ok(problems.some((p) => p === expected || (expected === 'already frank' && p.includes(expected))), `${what}: ${JSON.stringify(problems)}`);
  }
});

test('http on localhost is a console origin (browsers allow WebAuthn there)', (t) => {
  const dir = configDir(t);
  const raw = full();
  raw.console.origin = 'http://localhost:8090';
  assert.deepEqual(parseConfig(raw, path.join(dir, 'countersign.yaml'), {}).console, { origin: 'http://localhost:8090', rpId: 'localhost' });
});
