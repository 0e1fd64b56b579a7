/**
 * TLS settings for Temporal: environment over the config file's temporal: section, the PEM checks
 * and their errors, on certificates made by openssl. The connections themselves are in tls.test.ts.
 *
 *   node --import tsx --test test/temporal/connection.test.ts
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import { parseConfig } from '../../src/config';
import { CountersignError, hasCode } from '../../src/errors';
import {
  describeTls,
  loadTemporalSection,
  parseTemporalSection,
  plainTemporalEnv,
  temporalConnectionSettings,
  temporalTls,
  type TemporalSection,
} from '../../src/temporal/connection';
import { issue, makeCa, requireOpenssl, type Issued } from '../support/pki';

let dir: string;
let ca: Issued;
let client: Issued;
let other: Issued;

before(() => {
  requireOpenssl();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-tls-settings-'));
  ca = makeCa(dir, 'ca');
  client = issue(ca, dir, 'client');
  other = issue(ca, dir, 'other-client');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const read = (file: string) => fs.readFileSync(file);

/** Asserts BAD_CONFIG whose message names every fragment, and returns the message. */
function badConfig(fn: () => unknown, ...fragments: string[]): string {
  let message = '';
  assert.throws(fn, (err) => {
    assert.ok(hasCode(err, 'BAD_CONFIG'), `expected BAD_CONFIG, got ${String(err)}`);
    message = (err as CountersignError).message;
    for (const fragment of fragments) assert.ok(message.includes(fragment), `"${message}" should name ${fragment}`);
    return true;
  });
  return message;
}

function problemsOf(raw: unknown, base = dir): { section?: TemporalSection; problems: string[] } {
  const problems: string[] = [];
  const section = parseTemporalSection(raw, base, (field, problem) => problems.push(`${field}: ${problem}`));
  return { section, problems };
}

describe('from the environment', () => {
  test('nothing set is plain TCP; empty variables (compose ${VAR:-}) count as unset', () => {
    assert.equal(temporalTls({}), undefined);
    assert.equal(temporalTls({ TEMPORAL_TLS: '', TEMPORAL_TLS_CA: '', TEMPORAL_TLS_CERT: '', TEMPORAL_TLS_KEY: ' ', TEMPORAL_TLS_SERVER_NAME: '' }), undefined);
    assert.deepEqual(temporalConnectionSettings({}), { address: '127.0.0.1:7233', namespace: 'default' });
  });

  test('TEMPORAL_TLS=true alone is TLS with the system roots', () => {
    const tls = temporalTls({ TEMPORAL_TLS: 'true' });
    assert.deepEqual(tls, { config: {}, info: {} });
    assert.equal(describeTls(tls), "TLS (the system's CA roots)");
  });

  test('CA, client pair and server name become the SDK option, with the files read as they are', () => {
    const tls = temporalTls({ TEMPORAL_TLS_CA: ca.cert, TEMPORAL_TLS_CERT: client.cert, TEMPORAL_TLS_KEY: client.key, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' });
    assert.ok(tls);
    assert.deepEqual(Buffer.from(tls.config.serverRootCACertificate!), read(ca.cert));
    assert.deepEqual(Buffer.from(tls.config.clientCertPair!.crt), read(client.cert));
    assert.deepEqual(Buffer.from(tls.config.clientCertPair!.key), read(client.key));
    assert.equal(tls.config.serverNameOverride, 'temporal.internal');
    assert.deepEqual(tls.info, { ca: ca.cert, cert: client.cert, serverName: 'temporal.internal' });
    const described = describeTls(tls);
    assert.equal(described, `mTLS (CA ${ca.cert}, client certificate ${client.cert}, server name temporal.internal)`);
    assert.ok(!described.includes('PRIVATE KEY'));
  });

  test('any one TLS variable turns TLS on', () => {
    assert.deepEqual(temporalTls({ TEMPORAL_TLS_SERVER_NAME: 'x.example' })?.config, { serverNameOverride: 'x.example' });
    assert.ok(temporalTls({ TEMPORAL_TLS_CA: ca.cert })?.config.serverRootCACertificate);
  });

  test('half a pair is BAD_CONFIG naming the missing variable', () => {
    badConfig(() => temporalTls({ TEMPORAL_TLS_CA: ca.cert, TEMPORAL_TLS_CERT: client.cert }), 'TEMPORAL_TLS_KEY', client.cert);
    badConfig(() => temporalTls({ TEMPORAL_TLS_KEY: client.key }), 'TEMPORAL_TLS_CERT');
  });

  test('a missing, unreadable or non-PEM file is BAD_CONFIG naming the variable and the path', () => {
    const missing = path.join(dir, 'nope.pem');
    badConfig(() => temporalTls({ TEMPORAL_TLS_CA: missing }), 'TEMPORAL_TLS_CA', missing, 'does not exist');
    badConfig(() => temporalTls({ TEMPORAL_TLS_CA: dir }), 'TEMPORAL_TLS_CA', dir, 'cannot be read');
    const der = path.join(dir, 'ca.der');
    fs.writeFileSync(der, new crypto.X509Certificate(read(ca.cert)).raw);
    badConfig(() => temporalTls({ TEMPORAL_TLS_CA: der }), 'TEMPORAL_TLS_CA', der, 'not a PEM');
    const broken = path.join(dir, 'broken.pem');
    fs.writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    badConfig(() => temporalTls({ TEMPORAL_TLS_CA: broken }), 'TEMPORAL_TLS_CA', 'no readable CA certificate');
    badConfig(() => temporalTls({ TEMPORAL_TLS_CERT: client.key, TEMPORAL_TLS_KEY: client.key }), 'TEMPORAL_TLS_CERT', 'not a PEM client certificate');
    badConfig(() => temporalTls({ TEMPORAL_TLS_CERT: client.cert, TEMPORAL_TLS_KEY: client.cert }), 'TEMPORAL_TLS_KEY', 'not a PEM private key');
    badConfig(() => temporalTls({ TEMPORAL_TLS_CERT: client.cert, TEMPORAL_TLS_KEY: path.join(dir, 'gone.key') }), 'TEMPORAL_TLS_KEY', 'does not exist');
  });

  test('a key that is not the certificate\'s, or is encrypted, is refused without showing the key', () => {
    const keyText = fs.readFileSync(other.key, 'utf8');
    const message = badConfig(() => temporalTls({ TEMPORAL_TLS_CERT: client.cert, TEMPORAL_TLS_KEY: other.key }), 'TEMPORAL_TLS_KEY', other.key, 'is not the key of the client certificate', client.cert);
    const body = keyText.split('\n')[1];
    assert.ok(!message.includes(body), 'the key never appears in the message');
    const encrypted = path.join(dir, 'encrypted.key');
    fs.writeFileSync(encrypted, crypto.createPrivateKey(keyText).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }));
    badConfig(() => temporalTls({ TEMPORAL_TLS_CERT: other.cert, TEMPORAL_TLS_KEY: encrypted }), 'TEMPORAL_TLS_KEY', 'encrypted');
  });

  test('TEMPORAL_TLS must be true or false, and false contradicts other TLS variables', () => {
    badConfig(() => temporalTls({ TEMPORAL_TLS: 'yes please' }), 'TEMPORAL_TLS');
    badConfig(() => temporalTls({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: ca.cert }), 'TEMPORAL_TLS=false', 'TEMPORAL_TLS_CA');
    assert.equal(temporalTls({ TEMPORAL_TLS: 'false' }), undefined);
  });

  test('plainTemporalEnv drops TLS variables and turns a config file\'s TLS off too', () => {
    const env = plainTemporalEnv({ PATH: '/bin', TEMPORAL_TLS_CA: ca.cert, TEMPORAL_TLS_CERT: client.cert, TEMPORAL_TLS_KEY: client.key, TEMPORAL_ADDRESS: 'a:1' });
    assert.deepEqual(env, { PATH: '/bin', TEMPORAL_ADDRESS: 'a:1', TEMPORAL_TLS: 'false' });
    assert.equal(temporalTls(env, { tls: { ca: ca.cert } }), undefined);
  });
});

describe('the temporal: section of the config file', () => {
  test('paths are relative to the config file; tls: true is the system roots', () => {
    const sub = path.basename(dir);
    const base = path.dirname(dir);
    const { section, problems } = problemsOf(
      { address: 'temporal.internal:7233', namespace: 'countersign', tls: { ca: `${sub}/ca.pem`, cert: `${sub}/client.pem`, key: `${sub}/client.key`, serverName: 'temporal.internal' } },
      base,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(section, { address: 'temporal.internal:7233', namespace: 'countersign', tls: { ca: ca.cert, cert: client.cert, key: client.key, serverName: 'temporal.internal' } });
    assert.deepEqual(problemsOf({ tls: true }).section, { tls: {} });
    assert.deepEqual(problemsOf({ tls: false }).section, {});
    assert.deepEqual(problemsOf(undefined), { section: undefined, problems: [] });
  });

  test('every problem is reported with its field (unknown keys are the schema\'s: test/config-schema.test.ts)', () => {
    const { problems } = problemsOf({ address: 'no port', namespace: 7, tls: { ca: 'missing-ca.pem', cert: 'client.pem', certificate: 'x' }, tsl: {} });
    assert.deepEqual(problems.sort(), [
      'temporal.address: "no port" is not HOST:PORT',
      'temporal.namespace: must be a non-empty string',
      `temporal.tls.ca: file ${path.join(dir, 'missing-ca.pem')} does not exist`,
      'temporal.tls.key: is required with temporal.tls.cert (a client certificate goes with its key)',
    ]);
    assert.deepEqual(problemsOf('127.0.0.1:7233').problems, ['temporal: must be a mapping { address, namespace, tls }']);
    assert.deepEqual(problemsOf({ tls: 'on' }).problems, ['temporal.tls: must be true or a mapping { ca, cert, key, serverName }']);
  });

  test('the environment wins over the file, field by field, the client pair as one', () => {
    const file: TemporalSection = { address: 'file.example:7233', namespace: 'from-file', tls: { ca: ca.cert, cert: client.cert, key: client.key, serverName: 'file.example' } };
    const fromFile = temporalConnectionSettings({}, file);
    assert.equal(fromFile.address, 'file.example:7233');
    assert.equal(fromFile.namespace, 'from-file');
    assert.deepEqual(fromFile.tls?.info, { ca: ca.cert, cert: client.cert, serverName: 'file.example' });

    const env = { TEMPORAL_ADDRESS: 'env.example:7233', TEMPORAL_TLS_SERVER_NAME: 'env.example', TEMPORAL_TLS_CERT: other.cert, TEMPORAL_TLS_KEY: other.key };
    const mixed = temporalConnectionSettings(env, file);
    assert.equal(mixed.address, 'env.example:7233');
    assert.equal(mixed.namespace, 'from-file');
    assert.deepEqual(mixed.tls?.info, { ca: ca.cert, cert: other.cert, serverName: 'env.example' });
    assert.deepEqual(Buffer.from(mixed.tls!.config.clientCertPair!.key), read(other.key));
    // Half a pair in the environment is an error even when the file has a whole one.
    badConfig(() => temporalConnectionSettings({ TEMPORAL_TLS_CERT: other.cert }, file), 'TEMPORAL_TLS_KEY');
    assert.equal(temporalConnectionSettings({ TEMPORAL_TLS: 'false' }, file).tls, undefined);
  });

  test('a file that went bad after parsing names the config field', () => {
    const gone = path.join(dir, 'removed-ca.pem');
    badConfig(() => temporalTls({}, { tls: { ca: gone } }), 'temporal.tls.ca in the config file', gone);
  });

  test('parseConfig keeps the section as config.temporal and lists its problems with the rest', () => {
    const base = {
      approvers: { alice: { publicKey: 'alice.pub' } },
      keys: { developer: { key: 'dev.key', publicKey: 'alice.pub' }, platform: { key: 'platform.key', publicKey: 'alice.pub' } },
      targets: { prod: { repository: '127.0.0.1:5000/apps/hello', policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'] }, approval: { approvers: ['alice'] } } },
    };
    fs.writeFileSync(path.join(dir, 'alice.pub'), '-----BEGIN PUBLIC KEY-----\n');
    const file = path.join(dir, 'countersign.yaml');
    assert.equal(parseConfig(base, file, {}).temporal, undefined);
    const config = parseConfig({ ...base, temporal: { address: 'temporal.internal:7233', tls: { ca: 'ca.pem', cert: 'client.pem', key: 'client.key' } } }, file, {});
    assert.deepEqual(config.temporal, { address: 'temporal.internal:7233', tls: { ca: ca.cert, cert: client.cert, key: client.key } });
    assert.throws(
      () => parseConfig({ ...base, temporal: { tls: { cert: 'client.pem' } } }, file, {}),
      (err) => hasCode(err, 'BAD_CONFIG') && /temporal\.tls\.key: is required/.test((err as Error).message),
    );
  });

  test('loadTemporalSection reads only the temporal: section of a file', () => {
    const file = path.join(dir, 'worker.yaml');
    fs.writeFileSync(file, YAML.stringify({ targets: 'not checked here', temporal: { namespace: 'ns', tls: { ca: 'ca.pem' } } }));
    assert.deepEqual(loadTemporalSection(file), { namespace: 'ns', tls: { ca: ca.cert } });
    badConfig(() => loadTemporalSection(path.join(dir, 'absent.yaml')), 'absent.yaml', 'does not exist');
    fs.writeFileSync(file, YAML.stringify({ temporal: { tls: { key: 'client.key' } } }));
    badConfig(() => loadTemporalSection(file), 'temporal.tls.cert: is required');
  });
});
