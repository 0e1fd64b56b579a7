/**
 * A target's keyless.sign: and the signing config it names: every mistake named with its field,
 * a file that is not a signing config refused at start, and the services chosen as sigstore's
 * clients choose them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { hasCode } from '../../src/errors';
import { parseKeyless, pinKeyless } from '../../src/sigstore/config';
import { parseKeylessSign } from '../../src/sigstore/sign-config';
import { DEFAULT_SIGNING_CONFIG_MAX_BYTES, loadSigningConfigFile, parseSigningConfig } from '../../src/sigstore/signing-config';

const VECTOR = path.join(__dirname, '..', 'vectors', 'sigstore-local', 'signing_config.json');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-keyless-sign-'));
fs.copyFileSync(VECTOR, path.join(dir, 'signing_config.json'));
fs.copyFileSync(path.join(__dirname, '..', 'vectors', 'sigstore-conformance', 'public-good-trusted-root.json'), path.join(dir, 'root.json'));
const good = JSON.parse(fs.readFileSync(VECTOR, 'utf8'));
const TOKEN = { clientCredentials: { tokenUrl: 'https://token.acme.internal/oauth/token', clientId: 'worker', clientSecretEnv: 'SIGSTORE_SECRET' } };

function problems(value: unknown): string[] {
  const out: string[] = [];
  parseKeylessSign(value, 'targets.prod.keyless.sign', dir, (f, p) => out.push(`${f}: ${p}`));
  return out;
}

test('a good keyless.sign reads, and a run pins the signing config text beside the trusted root', () => {
  const out: string[] = [];
  const keyless = parseKeyless(
    { trustedRoot: 'root.json', identities: [{ subject: 'a', issuer: 'b' }], sign: { signingConfig: 'signing_config.json', identityToken: { file: 'token' } } },
    'k',
    dir,
    (f, p) => out.push(`${f}: ${p}`),
  );
  assert.deepEqual(out, []);
  assert.deepEqual(keyless?.sign, { signingConfig: path.join(dir, 'signing_config.json'), identityToken: { file: path.join(dir, 'token') } });
  const pin = pinKeyless(keyless!);
  assert.equal(pin.sign?.signingConfig, fs.readFileSync(VECTOR, 'utf8'));
  assert.match(pin.sign?.signingConfigDigest ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(problems({ signingConfig: 'signing_config.json', identityToken: TOKEN }), []);
});

test('each mistake in keyless.sign is named with its field', () => {
  assert.deepEqual(problems('yes'), ['targets.prod.keyless.sign: must be a mapping { signingConfig, identityToken }']);
  assert.deepEqual(problems({ identityToken: TOKEN }), ['targets.prod.keyless.sign.signingConfig: is required: the path of a sigstore signing_config.json']);
  assert.match(problems({ signingConfig: 'missing.json', identityToken: TOKEN })[0], /^targets.prod.keyless.sign.signingConfig: signing config .*missing.json cannot be read \(ENOENT\)$/);
  assert.match(problems({ signingConfig: 'root.json', identityToken: TOKEN })[0], /^targets.prod.keyless.sign.signingConfig: .*mediaType "application\/vnd.dev.sigstore.trustedroot\+json;version=0.1" is not application\/vnd.dev.sigstore.signingconfig.v0.2\+json$/);
  const shape = 'targets.prod.keyless.sign.identityToken: must be { file } or { clientCredentials: { tokenUrl, clientId, clientSecretEnv } }';
  assert.deepEqual(problems({ signingConfig: 'signing_config.json' }), [shape]);
  assert.deepEqual(problems({ signingConfig: 'signing_config.json', identityToken: { file: 't', ...TOKEN } }), [shape]);
  assert.deepEqual(problems({ signingConfig: 'signing_config.json', identityToken: { clientCredentials: { tokenUrl: 'ftp://x', clientId: '', clientSecretEnv: 'not a name' } } }), [
    'targets.prod.keyless.sign.identityToken.clientCredentials.tokenUrl: must be an http(s) URL',
    'targets.prod.keyless.sign.identityToken.clientCredentials.clientId: is required',
    'targets.prod.keyless.sign.identityToken.clientCredentials.clientSecretEnv: must name the environment variable holding the client secret',
  ]);
});

test('the signing config: services chosen by API version and validity, refusals with SIGNING_CONFIG_INVALID', () => {
  assert.deepEqual(parseSigningConfig(JSON.stringify(good)).services, {
    fulcioUrl: 'https://fulcio.sigstore.acme.internal',
    rekor: { url: 'https://rekor.sigstore.acme.internal', majorApiVersion: 2 },
    tsaUrl: 'https://tsa.sigstore.acme.internal/api/v1/timestamp',
  });
  // The newest valid service wins; one that has ended, or speaks an API this client does not, is passed over.
  const rekorUrls = [
    { url: 'https://old.rekor', majorApiVersion: 1, validFor: { start: '2025-01-01T00:00:00Z' } },
    { url: 'https://ended.rekor', majorApiVersion: 2, validFor: { start: '2025-06-01T00:00:00Z', end: '2025-12-01T00:00:00Z' } },
    { url: 'https://v3.rekor', majorApiVersion: 3, validFor: { start: '2026-02-01T00:00:00Z' } },
  ];
  assert.deepEqual(parseSigningConfig(JSON.stringify({ ...good, rekorTlogUrls: rekorUrls })).services.rekor, { url: 'https://old.rekor', majorApiVersion: 1 });
  const refused = (value: unknown, why: RegExp) =>
    assert.throws(() => parseSigningConfig(typeof value === 'string' ? value : JSON.stringify(value)), (e) => hasCode(e, 'SIGNING_CONFIG_INVALID') && why.test((e as Error).message), String(why));
  refused('not json', /not JSON|Unexpected/i);
  refused({ ...good, caUrls: [] }, /lists no Fulcio \(caUrls, API v1\) valid now/);
  refused({ ...good, caUrls: [{ ...good.caUrls[0], validFor: { start: '2099-01-01T00:00:00Z' } }] }, /lists no Fulcio/);
  refused({ ...good, caUrls: [{ ...good.caUrls[0], url: 'file:///etc/passwd' }] }, /caUrls URL file:\/\/\/etc\/passwd is not http\(s\)/);
  refused({ ...good, rekorTlogConfig: { selector: 'EXACT', count: 2 } }, /selector other than ANY is not supported/);
  refused({ ...good, tsaUrls: [] }, /asks for a timestamp, and lists no timestamp authority/);
  refused({ ...good, rekorTlogConfig: undefined, tsaConfig: undefined }, /names neither a transparency log nor a timestamp authority/);
  refused({ ...good, caUrls: Array.from({ length: 17 }, () => good.caUrls[0]) }, /caUrls lists 17, more than the 16 read/);
  const big = path.join(dir, 'big.json');
  fs.writeFileSync(big, ' '.repeat(DEFAULT_SIGNING_CONFIG_MAX_BYTES + 1));
  assert.throws(() => loadSigningConfigFile(big), (e) => hasCode(e, 'INPUT_TOO_LARGE'));
});
