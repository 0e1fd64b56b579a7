/**
 * cosign v2's default blob bundle (test/vectors/cosign-v2-blob, made by the real cosign v2.6.1):
 * countersign verify-blob accepts it by key, and refuses each way it can be wrong with its code.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { verifyBlob, verifyBlobAgainstRoot } from '../../src/cosign/blob';
import { DEFAULT_V2_BLOB_BUNDLE_MAX_BYTES } from '../../src/cosign/v2-blob-bundle';
import { CountersignError } from '../../src/errors';
import { loadTrustedRootFile } from '../../src/sigstore/trusted-root';
import { runCli } from '../support/cli';
import { throwawaySigner } from '../support/throwaway-signer';

const VECTORS = path.join(__dirname, '..', 'vectors');
const BUNDLE_FILE = path.join(VECTORS, 'cosign-v2-blob', 'blob.bundle.json');
const BLOB_FILE = path.join(VECTORS, 'cosign-keys', 'blob.txt');
const PUB_FILE = path.join(VECTORS, 'cosign-keys', 'cosign.pub');
const BUNDLE = fs.readFileSync(BUNDLE_FILE);
const BLOB = fs.readFileSync(BLOB_FILE);
const PUB = fs.readFileSync(PUB_FILE, 'utf8');
const RAW = JSON.parse(BUNDLE.toString('utf8')) as Record<string, unknown>;

function problemOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof CountersignError && err.code === 'SIGNATURE_INVALID') return String(err.details?.problem);
    throw err;
  }
  return 'OK';
}

const edited = (patch: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...RAW, ...patch }));

test("cosign v2's bundle verifies by key; another key, another file and edits are refused with their codes", () => {
  assert.deepEqual(verifyBlob(BLOB, BUNDLE, PUB), { format: 'cosign-v2', logged: false });
  assert.equal(problemOf(() => verifyBlob(Buffer.concat([BLOB, Buffer.from('x')]), BUNDLE, PUB)), 'WRONG_KEY');
  assert.equal(problemOf(() => verifyBlob(BLOB, BUNDLE, throwawaySigner('other').publicKey)), 'WRONG_KEY');
  assert.equal(problemOf(() => verifyBlob(BLOB, edited({ base64Signature: '' }), PUB)), 'UNSIGNED');
  assert.equal(problemOf(() => verifyBlob(BLOB, edited({ base64Signature: String(RAW.base64Signature).slice(0, 40) }), PUB)), 'BAD_SIGNATURE_ENCODING');
  assert.equal(problemOf(() => verifyBlob(BLOB, edited({ base64Signature: 'not base64!' }), PUB)), 'BAD_SIGNATURE_ENCODING');
  assert.equal(problemOf(() => verifyBlob(BLOB, edited({ payload: 'x' }), PUB)), 'MALFORMED', 'an unknown field');
});

test('a keyless cosign v2 bundle (a cert) is UNSUPPORTED by key; a logged one verifies by key with its log entry unread', () => {
  // Hand-made from the real bundle: cosign v2 adds `cert` when keyless and `rekorBundle` when it logged.
  const cert = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
  assert.equal(problemOf(() => verifyBlob(BLOB, edited({ cert }), PUB)), 'UNSUPPORTED');
  const logged = edited({ rekorBundle: { SignedEntryTimestamp: 'AAAA', Payload: { body: 'e30=', integratedTime: 1, logIndex: 2, logID: 'ab' } } });
  assert.deepEqual(verifyBlob(BLOB, logged, PUB), { format: 'cosign-v2', logged: true });
  assert.equal(problemOf(() => verifyBlob(BLOB, edited({ rekorBundle: { Payload: { body: 'e30=', extra: 1 } } }), PUB)), 'MALFORMED');
});

test('past its size limit the bundle is INPUT_TOO_LARGE, naming the limit', () => {
  const big = edited({ cert: 'A'.repeat(DEFAULT_V2_BLOB_BUNDLE_MAX_BYTES) });
  assert.throws(() => verifyBlob(BLOB, big, PUB), (e) => e instanceof CountersignError && e.code === 'INPUT_TOO_LARGE' && e.details?.limit === DEFAULT_V2_BLOB_BUNDLE_MAX_BYTES);
});

test('with a trusted root a cosign v2 bundle is UNSUPPORTED (it carries nothing a root can check)', () => {
  const root = loadTrustedRootFile(path.join(VECTORS, 'sigstore-public-good', 'trusted-root-2023-06.json'));
  assert.equal(problemOf(() => verifyBlobAgainstRoot(BLOB, BUNDLE, { root, publicKey: PUB })), 'UNSUPPORTED');
});

test('countersign verify-blob takes the cosign v2 bundle as a user runs it, and says which bundle it read', async () => {
  const ok = await runCli(['verify-blob', BLOB_FILE, '--key', PUB_FILE, '--bundle', BUNDLE_FILE, '--json']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.equal(JSON.parse(ok.stdout).bundleFormat, 'cosign-v2');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'v2-blob-'));
  try {
    const other = path.join(dir, 'other.txt');
    fs.writeFileSync(other, 'other\n');
    const refused = await runCli(['verify-blob', other, '--key', PUB_FILE, '--bundle', BUNDLE_FILE]);
    assert.equal(refused.code, 4);
    assert.match(refused.stdout, /^\[NO\] WRONG_KEY: /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
