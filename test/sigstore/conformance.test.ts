/**
 * sigstore's own conformance cases for bundle verification, each through `countersign
 * verify-blob` exactly as a user runs it (flags from the case's files), and through stock cosign
 * v3 with the same flags: the same verdict on every case, each `_fail` refused with its own code.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { locateTool } from '../../src/stack/tools';
import { runCli } from '../support/cli';

const VECTORS = path.join(__dirname, '..', 'vectors', 'sigstore-conformance');
const CASES = path.join(VECTORS, 'bundle-verify');
const PUBLIC_GOOD = path.join(VECTORS, 'public-good-trusted-root.json');
const DEFAULT_IDENTITY = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';
const cosign = locateTool('cosign');

/** Why countersign refuses each `_fail` case: one stable code per reason. */
const REFUSALS: Record<string, string> = {
  'bundle-empty-certificate-chain_fail': 'MALFORMED',
  'bundle-from-wrong-instance_fail': 'WRONG_TRUSTED_ROOT',
  'bundle-invalid-base64-signature_fail': 'BAD_SIGNATURE_ENCODING',
  'bundle-malformed-json_fail': 'MALFORMED',
  'bundle-negative-log-index_fail': 'MALFORMED',
  'bundle-unknown-version_fail': 'MALFORMED',
  'bundle-with-root-cert_fail': 'MALFORMED',
  'checkpoint-bad-keyhint_fail': 'TLOG_PROOF_INVALID',
  'checkpoint-wrong-roothash_fail': 'TLOG_PROOF_INVALID',
  'dsse-invalid-sig_fail': 'TLOG_ENTRY_MISMATCH',
  'dsse-mismatch-envelope_fail': 'TLOG_ENTRY_MISMATCH',
  'dsse-mismatch-sig_fail': 'TLOG_ENTRY_MISMATCH',
  'inclusion-proof-corrupted-hash_fail': 'TLOG_PROOF_INVALID',
  'incorrect-public-key_fail': 'TLOG_PROOF_INVALID',
  'integrated-time-in-future_fail': 'CERTIFICATE_EXPIRED',
  'intoto-expired-certificate_fail': 'CERTIFICATE_EXPIRED',
  'intoto-log-entry-mismatch_fail': 'TLOG_ENTRY_MISMATCH',
  'intoto-missing-inclusion-proof_fail': 'MALFORMED',
  'intoto-set-outside-signing-cert-validity_fail': 'CERTIFICATE_EXPIRED',
  'intoto-tsa-timestamp-outside-cert-validity_fail': 'CERTIFICATE_EXPIRED',
  'invalid-checkpoint-signature_fail': 'TLOG_PROOF_INVALID',
  'invalid-ct-key_fail': 'SCT_INVALID',
  'invalid-inclusion-proof_fail': 'MALFORMED',
  'managed-key-no-key_fail': 'WRONG_KEY',
  'managed-key-wrong-key_fail': 'KEY_INVALID',
  'message-digest-mismatch_fail': 'WRONG_DIGEST',
  'rekor2-checkpoint-missing-log-signature_fail': 'TLOG_PROOF_INVALID',
  'rekor2-checkpoint-missing-origin_fail': 'TLOG_PROOF_INVALID',
  'rekor2-checkpoint-missing-root-hash_fail': 'TLOG_PROOF_INVALID',
  'rekor2-checkpoint-missing-size_fail': 'TLOG_PROOF_INVALID',
  'rekor2-checkpoint-no-matching-signature_fail': 'TLOG_PROOF_INVALID',
  'rekor2-dsse-invalid-sig_fail': 'TLOG_ENTRY_MISMATCH',
  'rekor2-dsse-mismatch-envelope_fail': 'TLOG_ENTRY_MISMATCH',
  'rekor2-dsse-mismatch-sig_fail': 'TLOG_ENTRY_MISMATCH',
  'rekor2-no-inclusion-proof_fail': 'MALFORMED',
  'rekor2-no-timestamp_fail': 'CERTIFICATE_EXPIRED_NO_TIMESTAMP',
  'rekor2-timestamp-outside-trust-root-tsa-validity_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-outside-tsa-cert-validity_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-payload-mismatch_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-with-incorrect-time_fail': 'CERTIFICATE_EXPIRED',
  'set-invalid-signature_fail': 'TLOG_PROOF_INVALID',
  'signature-mismatch_fail': 'TLOG_ENTRY_MISMATCH',
  'trust-root-tlog-missing-validity-start_fail': 'TRUSTED_ROOT_INVALID',
  'wrong-hashedrekord-artifact_fail': 'TLOG_ENTRY_MISMATCH',
  'wrong-hashedrekord-cert-and-sig_fail': 'TLOG_ENTRY_MISMATCH',
  'wrong-hashedrekord-entry_fail': 'TLOG_ENTRY_MISMATCH',
  'wrong-material_fail': 'WRONG_DIGEST',
};

/**
 * Where stock cosign v3.1.2 and the conformance suite disagree. cosign accepts a bundle whose
 * RFC 3161 timestamp falls outside the certificate's validity when its log entry's time is
 * inside; the suite (and countersign) require every verified signing time to be inside.
 */
const COSIGN_ACCEPTS = new Set(['intoto-tsa-timestamp-outside-cert-validity_fail']);

const cases = fs.readdirSync(CASES).filter((d) => fs.statSync(path.join(CASES, d)).isDirectory()).sort();

/** The flags the conformance protocol gives a client for a case, as countersign and cosign both spell them. */
function flagsFor(name: string): { file: string; flags: string[] } {
  const at = (f: string) => path.join(CASES, name, f);
  const read = (f: string, fallback: string) => (fs.existsSync(at(f)) ? fs.readFileSync(at(f), 'utf8').trim() : fallback);
  const who = fs.existsSync(at('key.pub'))
    ? ['--key', at('key.pub')]
    : ['--certificate-identity', read('identity', DEFAULT_IDENTITY), '--certificate-oidc-issuer', read('issuer', DEFAULT_ISSUER)];
  const root = fs.existsSync(at('trusted_root.json')) ? at('trusted_root.json') : PUBLIC_GOOD;
  return { file: fs.existsSync(at('artifact')) ? at('artifact') : path.join(CASES, 'a.txt'), flags: ['--bundle', at('bundle.sigstore.json'), ...who, '--trusted-root', root] };
}

async function countersignVerdict(name: string): Promise<{ ok: boolean; code: string }> {
  const { file, flags } = flagsFor(name);
  const run = await runCli(['verify-blob', file, ...flags, '--json']);
  const out = JSON.parse(run.stdout || '{}');
  if (run.code === 0) {
    assert.equal(out.ok, true, run.stdout);
    return { ok: true, code: 'OK' };
  }
  return { ok: false, code: out.problem ?? out.error?.code ?? `exit ${run.code}` };
}

describe('sigstore-conformance bundle verification through countersign verify-blob', () => {
  test('all 70 cases are here, and every _fail case has its expected refusal code', () => {
    assert.equal(cases.length, 70);
    assert.deepEqual(cases.filter((c) => c.endsWith('_fail')).sort(), Object.keys(REFUSALS).sort());
  });

  for (const name of cases) {
    test(name, async () => {
      const verdict = await countersignVerdict(name);
      if (name.endsWith('_fail')) assert.deepEqual(verdict, { ok: false, code: REFUSALS[name] });
      else assert.deepEqual(verdict, { ok: true, code: 'OK' });
    });
  }
});

describe('stock cosign v3 gives the same verdicts', { skip: cosign ? false : 'cosign is not installed (bash scripts/toolchain.sh cosign)' }, () => {
  const run = promisify(execFile);
  const home = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'cs-conformance-'));
  for (const name of cases) {
    test(name, async () => {
      const { file, flags } = flagsFor(name);
      // HOME of its own: nothing cached from a TUF fetch elsewhere can be used.
      const stock = await run(cosign!, ['verify-blob', ...flags, file], { env: { PATH: process.env.PATH, HOME: home } }).then(
        () => true,
        () => false,
      );
      const ours = (await countersignVerdict(name)).ok;
      if (COSIGN_ACCEPTS.has(name)) {
        assert.equal(stock, true, `cosign now refuses ${name}: remove it from COSIGN_ACCEPTS`);
        assert.equal(ours, false);
      } else assert.equal(ours, stock, `countersign ${ours ? 'accepts' : 'refuses'} ${name}, cosign ${stock ? 'accepts' : 'refuses'}`);
    });
  }
});
