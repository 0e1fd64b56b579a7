/**
 * Keyless verification on evidence nobody here made: a real public-good GitHub Actions bundle
 * (npm provenance of sigstore@1.3.0) and sigstore-conformance bundles, each refusal with its own
 * code. Through `countersign verify-blob` where a user would run it, and stock cosign beside it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { verifyBlobAgainstRoot } from '../../src/cosign/blob';
import { hasCode } from '../../src/errors';
import { loadTrustedRootFile } from '../../src/sigstore/trusted-root';
import { locateTool } from '../../src/stack/tools';
import { runCli } from '../support/cli';

const GOOD = path.join(__dirname, '..', 'vectors', 'sigstore-public-good');
const CONF = path.join(__dirname, '..', 'vectors', 'sigstore-conformance');
const TGZ = path.join(GOOD, 'sigstore-1.3.0.tgz');
const BUNDLE = path.join(GOOD, 'sigstore-1.3.0.provenance.sigstore.json');
const ROOT = path.join(GOOD, 'trusted-root-2023-06.json');
const SIGSTORE_JS = 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main';
const GITHUB = 'https://token.actions.githubusercontent.com';
const BEACON = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const cosign = locateTool('cosign');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-keyless-'));

const who = (subject = SIGSTORE_JS, issuer = GITHUB) => ['--certificate-identity', subject, '--certificate-oidc-issuer', issuer];

async function verify(file: string, bundle: string, flags: string[], root = ROOT): Promise<{ code: number; problem?: string; out: Record<string, unknown> }> {
  const run = await runCli(['verify-blob', file, '--bundle', bundle, ...flags, '--trusted-root', root, '--json']);
  const out = JSON.parse(run.stdout || '{}');
  return { code: run.code, problem: out.problem ?? out.error?.code, out };
}

async function stock(file: string, bundle: string, flags: string[], root = ROOT): Promise<boolean> {
  return promisify(execFile)(cosign!, ['verify-blob', '--bundle', bundle, ...flags, '--trusted-root', root, file], { env: { PATH: process.env.PATH, HOME: tmp } }).then(
    () => true,
    () => false,
  );
}

/** Writes the bundle with one edit, for a test of its own. */
function edited(name: string, edit: (b: any) => void, from = BUNDLE): string {
  const bundle = JSON.parse(fs.readFileSync(from, 'utf8'));
  edit(bundle);
  const file = path.join(tmp, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(bundle));
  return file;
}

/** Flips the lowest bit of byte `at` of a base64 field's decoded bytes. */
function flipBase64(value: string, at: number): string {
  const bytes = Buffer.from(value, 'base64');
  bytes[at] ^= 1;
  return bytes.toString('base64');
}

describe('a real public-good keyless bundle (npm provenance of sigstore@1.3.0, 2023)', () => {
  test('verifies against the public-good trusted root of its date, naming the signer Fulcio recorded', async () => {
    const run = await verify(TGZ, BUNDLE, who());
    assert.equal(run.code, 0, JSON.stringify(run.out));
    const signer = run.out.signer as Record<string, unknown>;
    assert.equal(signer.sourceRepository, 'https://github.com/sigstore/sigstore-js');
    assert.equal(signer.sourceRepositoryRef, 'refs/heads/main');
    assert.equal(signer.sourceRepositoryDigest, 'dae8bd8eb433a4147b4655c00fe73e0f22bc0fb1');
    assert.deepEqual(signer.signedAt, ['2023-04-18T17:45:12.000Z']);
  });

  test('stock cosign v3 agrees', { skip: !cosign && 'cosign is not installed' }, async () => {
    assert.equal(await stock(TGZ, BUNDLE, who()), true);
  });

  const tgz = fs.readFileSync(TGZ);
  const changedTgz = path.join(tmp, 'sigstore-1.3.0-changed.tgz');
  fs.writeFileSync(changedTgz, Buffer.concat([tgz.subarray(0, 100), Buffer.from([tgz[100] ^ 1]), tgz.subarray(101)]));
  const oneByte: Array<[string, () => [string, string], string]> = [
    ['a byte of the package', () => [changedTgz, BUNDLE], 'WRONG_DIGEST'],
    ['a byte of the signed statement', () => [TGZ, edited('payload', (b) => (b.dsseEnvelope.payload = flipBase64(b.dsseEnvelope.payload, 40)))], 'TLOG_ENTRY_MISMATCH'],
    ['a byte of the signature', () => [TGZ, edited('sig', (b) => (b.dsseEnvelope.signatures[0].sig = flipBase64(b.dsseEnvelope.signatures[0].sig, 20)))], 'TLOG_ENTRY_MISMATCH'],
    ['a byte of the signed entry timestamp', () => [TGZ, edited('set', (b) => (b.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp = flipBase64(b.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp, 30)))], 'TLOG_PROOF_INVALID'],
    ['a byte of the log entry body', () => [TGZ, edited('body', (b) => (b.verificationMaterial.tlogEntries[0].canonicalizedBody = flipBase64(b.verificationMaterial.tlogEntries[0].canonicalizedBody, 200)))], 'TLOG_PROOF_INVALID'],
    ['a byte of the signing certificate (its signature)', () => {
      const certs = JSON.parse(fs.readFileSync(BUNDLE, 'utf8')).verificationMaterial.x509CertificateChain.certificates;
      const der = Buffer.from(certs[0].rawBytes, 'base64');
      return [TGZ, edited('cert', (b) => (b.verificationMaterial.x509CertificateChain.certificates[0].rawBytes = flipBase64(certs[0].rawBytes, der.length - 10)))];
    }, 'WRONG_TRUSTED_ROOT'],
  ];
  for (const [what, files, code] of oneByte) {
    test(`is refused after a one-byte change to ${what}: ${code}`, async () => {
      const [file, bundle] = files();
      const run = await verify(file, bundle, who());
      assert.equal(run.code, 4, JSON.stringify(run.out));
      assert.equal(run.problem, code, JSON.stringify(run.out));
      if (cosign) assert.equal(await stock(file, bundle, who()), false, 'stock cosign accepts it');
    });
  }
});

describe('each reason to refuse keyless evidence has its own code', () => {
  test('another identity: IDENTITY_MISMATCH, as cosign refuses it', async () => {
    const flags = who('https://github.com/evil/sigstore-js/.github/workflows/release.yml@refs/heads/main');
    assert.equal((await verify(TGZ, BUNDLE, flags)).problem, 'IDENTITY_MISMATCH');
    if (cosign) assert.equal(await stock(TGZ, BUNDLE, flags), false);
  });

  test('the right identity from another issuer: ISSUER_MISMATCH', async () => {
    const flags = who(SIGSTORE_JS, 'https://accounts.google.com');
    assert.equal((await verify(TGZ, BUNDLE, flags)).problem, 'ISSUER_MISMATCH');
    if (cosign) assert.equal(await stock(TGZ, BUNDLE, flags), false);
  });

  test('a regular expression must match the whole identity, unlike cosign\'s', async () => {
    assert.equal((await verify(TGZ, BUNDLE, ['--certificate-identity-regexp', 'sigstore/sigstore-js', '--certificate-oidc-issuer', GITHUB])).problem, 'IDENTITY_MISMATCH');
    assert.equal((await verify(TGZ, BUNDLE, ['--certificate-identity-regexp', 'https://github\\.com/sigstore/sigstore-js/.*', '--certificate-oidc-issuer', GITHUB])).code, 0);
  });

  test('another trusted root (a private Sigstore\'s): WRONG_TRUSTED_ROOT', async () => {
    const other = path.join(CONF, 'bundle-verify', 'intoto-with-custom-trust-root', 'trusted_root.json');
    assert.equal((await verify(TGZ, BUNDLE, who(), other)).problem, 'WRONG_TRUSTED_ROOT');
    if (cosign) assert.equal(await stock(TGZ, BUNDLE, who(), other), false);
  });

  test('a valid log proof for another entry: TLOG_ENTRY_MISMATCH', async () => {
    // Two real bundles by one signer, one log: the first carries the second's entry and proof.
    const a = path.join(CONF, 'bundle-verify', 'happy-path-v0.3', 'bundle.sigstore.json');
    const other = JSON.parse(fs.readFileSync(path.join(CONF, 'bundle-verify', 'happy-path-v0.2', 'bundle.sigstore.json'), 'utf8'));
    const swapped = edited('swapped', (b) => (b.verificationMaterial.tlogEntries = other.verificationMaterial.tlogEntries), a);
    const artifact = path.join(CONF, 'bundle-verify', 'a.txt');
    const root = path.join(CONF, 'public-good-trusted-root.json');
    assert.equal((await verify(artifact, a, who(BEACON), root)).code, 0);
    assert.equal((await verify(artifact, swapped, who(BEACON), root)).problem, 'TLOG_ENTRY_MISMATCH');
    if (cosign) assert.equal(await stock(artifact, swapped, who(BEACON), root), false);
  });

  test('an expired certificate with no timestamp (the log entry removed, logs not required): CERTIFICATE_EXPIRED_NO_TIMESTAMP', () => {
    const bundle = fs.readFileSync(edited('no-tlog', (b) => (b.verificationMaterial.tlogEntries = [])));
    const root = loadTrustedRootFile(ROOT);
    assert.throws(
      () => verifyBlobAgainstRoot(fs.readFileSync(TGZ), bundle, { root, identities: [{ subject: SIGSTORE_JS, issuer: GITHUB }], require: { tlog: 0 } }),
      (err: unknown) => hasCode(err, 'SIGNATURE_INVALID') && (err as { details: { problem: string } }).details.problem === 'CERTIFICATE_EXPIRED_NO_TIMESTAMP',
    );
  });

  test('with the default requirements the same bundle is refused for its missing log entry: TLOG_MISSING', async () => {
    const run = await verify(TGZ, edited('no-tlog-default', (b) => (b.verificationMaterial.tlogEntries = [])), who());
    assert.equal(run.problem, 'TLOG_MISSING');
  });

  test('a keyless bundle checked by key alone is UNSUPPORTED, never verified', async () => {
    const pub = path.join(CONF, 'bundle-verify', 'managed-key-happy-path', 'key.pub');
    const run = await runCli(['verify-blob', TGZ, '--bundle', BUNDLE, '--key', pub, '--json']);
    assert.equal(run.code, 4);
    assert.equal(JSON.parse(run.stdout).problem, 'UNSUPPORTED');
  });

  test('an identity with no trusted root is bad input: nothing is fetched', async () => {
    const run = await runCli(['verify-blob', TGZ, '--bundle', BUNDLE, ...who(), '--json']);
    assert.equal(run.code, 2);
    assert.match(run.stdout + run.stderr, /--trusted-root/);
  });
});
