/**
 * What the console reads of the worker's configuration: console.origin and the roster's passkeys,
 * from the file alone (no key files beside it), and `countersign console` refusing to serve
 * without login anywhere but loopback, or with login but no origin.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { loadConsoleConfig } from '../src/config-console';
import { hasCode } from '../src/errors';
import { runCli } from './support/cli';

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'countersign-console-config-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
const pem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }) as string;

test('the console reads console.origin and inline passkeys from the configuration file alone; key files it does not need may be absent', (t) => {
  const d = dir(t);
  const key = pem();
  const file = path.join(d, 'countersign.yaml');
  writeFileSync(
    file,
    YAML.stringify({
      console: { origin: 'https://countersign.acme.com' },
      approvers: { alice: { publicKey: 'keys/alice.pub', passkeys: [{ id: 'YWxpY2Uta2V5', publicKey: key, name: 'laptop' }] }, bob: { publicKey: 'keys/bob.pub' } },
      targets: { prod: { repository: 'r/x', keys: { platform: { key: 'keys/platform.key' } } } },
    }),
  );
  const config = loadConsoleConfig(file);
  assert.deepEqual(config.console, { origin: 'https://countersign.acme.com', rpId: 'countersign.acme.com' });
  assert.deepEqual(Object.keys(config.passkeys), ['alice']);
  assert.equal(config.passkeys.alice[0].publicKeyPem, key);
  assert.equal(config.passkeys.alice[0].origin, 'https://countersign.acme.com');
});

test('a bad passkey or origin is a BAD_CONFIG naming the field', (t) => {
  const d = dir(t);
  const file = path.join(d, 'countersign.yaml');
  writeFileSync(file, YAML.stringify({ console: { origin: 'http://countersign.acme.com' }, approvers: { alice: { passkeys: [{ id: 'YQ', publicKey: 'nope.pem' }] } } }));
  assert.throws(
    () => loadConsoleConfig(file),
    (err) => hasCode(err, 'BAD_CONFIG') && /console\.origin: "http:\/\/countersign\.acme\.com" must be https:\/\//.test((err as Error).message) && /approvers\.alice\.passkeys: needs console\.origin/.test((err as Error).message),
  );
});

test('`countersign console` without login refuses a non-loopback address; with login it needs console.origin', async (t) => {
  const d = dir(t);
  const file = path.join(d, 'countersign.yaml');
  writeFileSync(file, YAML.stringify({ approvers: {} }));
  const open = await runCli(['console', '--dev-loopback', '--listen', '0.0.0.0:0', '--config', file, '--address', '127.0.0.1:1']);
  assert.notEqual(open.code, 0);
  assert.match(open.stderr, /--dev-loopback serves without login, so only on loopback; --listen 0\.0\.0\.0 is not/);
  const noOrigin = await runCli(['console', '--listen', '127.0.0.1:0', '--config', file, '--address', '127.0.0.1:1']);
  assert.notEqual(noOrigin.code, 0);
  assert.match(noOrigin.stderr, /console\.origin is required for passkey login \(or run with --dev-loopback, loopback only, no login\)/);
});
