/**
 * The signed verification summary, on a real Temporal dev server and registry: after platform
 * verify passed and the gate approved, production signing attaches a SLSA VSA signed by the
 * platform key, in each publishing format. Stock cosign v3 (and v2 where it reads the format)
 * verify it with `verify-attestation --type https://slsa.dev/verification_summary/v1`; the customer
 * script in docs/cosign-interop.md (cosign, then `slsa-verifier verify-vsa`) runs exactly as
 * printed and refuses another key and another image; a second promotion of the same digest adds
 * no second VSA by the key. The worker names its own verifier id (verificationSummary.verifierId),
 * and the script is given it; another id is refused.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitForPromotion } from '../../src/client/promotions';
import type { SignatureFormat } from '../../src/cosign/formats';
import { collectImageEvidence } from '../../src/cosign/verify-image';
import { VSA_APPROVED_LEVEL, VSA_BUILD_LEVEL, VSA_PREDICATE_TYPE, VSA_VERIFIER_ID } from '../../src/provenance/vsa';

/** The deployment's own verifier id, set in the worker's configuration (not countersign's default). */
const VERIFIER_ID = 'https://verify.acme.example/countersign/platform/v1';
import { locateTool } from '../../src/stack/tools';
import { APPROVAL_PREDICATE_TYPE } from '../../workflows/approval-messages';
import { noServicesRootArgs } from '../support/cosign-v2';
import { buildFacts, copyDir, startTestEnv, type TestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const DOC = path.resolve(__dirname, '../../docs/cosign-interop.md');
const cosign = locateTool('cosign');
const cosignV2 = locateTool('cosign-v2');
const slsaVerifier = locateTool('slsa-verifier');

/** The customer script in docs/cosign-interop.md, exactly as printed there. */
async function vsaScript(): Promise<string> {
  const match = /<!-- vsa-script -->\n```bash\n([\s\S]*?)```/.exec(await fs.readFile(DOC, 'utf8'));
  assert.ok(match, 'docs/cosign-interop.md has the VSA script');
  return match[1];
}

describe('the SLSA verification summary production signing attaches', { skip: cosign ? false : 'cosign not installed (npm run toolchain)' }, () => {
  let env: TestEnv;
  before(async () => {
    env = await startTestEnv();
    // What verificationSummary.verifierId in the worker's countersign.yaml sets.
    env.config.verifierId = VERIFIER_ID;
    await env.startWorker();
  });
  after(async () => {
    await env?.close();
  });

  const key = (name: string) => path.join(env.keysDir, name);
  const run = (args: string[], bin = cosign!) => spawnSync(bin, [...args, '--insecure-ignore-tlog=true', '--allow-http-registry'], { encoding: 'utf8', env: { ...process.env, HOME: env.dir } });

  async function promote(format: SignatureFormat, dir?: string) {
    dir ??= await copyDir(HELLO, path.join(env.dir, `src-${format}`));
    await fs.writeFile(path.join(dir, 'VERSION'), `${format}\n`);
    const target = env.targetWith({ repository: `${env.stack.registry.address}/apps/vsa-${format}`, signatureFormat: format }, `vsa-${format}`);
    const started = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
    await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(started.promotionId, 'alice', 'approve', 'vsa');
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    return { ref: `${target.repository}@${started.digest}`, digest: started.digest, done, dir, repository: target.repository };
  }

  async function customerScript(image: string, pub: string, verifierId = VERIFIER_ID) {
    const work = await fs.mkdtemp(path.join(env.dir, 'customer-'));
    await fs.copyFile(pub, path.join(work, 'platform.pub'));
    const script = path.join(work, 'verify-vsa.sh');
    await fs.writeFile(script, await vsaScript(), { mode: 0o755 });
    const tools = [path.dirname(cosign!), path.dirname(slsaVerifier!)].join(':');
    return spawnSync('bash', ['-eo', 'pipefail', script], { cwd: work, encoding: 'utf8', env: { PATH: `${tools}:${process.env.PATH}`, HOME: env.dir, IMAGE: image, VERIFIER_ID: verifierId, COSIGN_FLAGS: '--allow-http-registry' } });
  }

  const vsaCounts = async (repository: string, digest: string) => {
    const evidence = await collectImageEvidence(env.store, repository.slice(repository.indexOf('/') + 1), digest, await fs.readFile(key('platform.pub'), 'utf8'));
    const of = (type: string, f: string) => evidence.attestations.filter((a) => a.predicateType === type && a.format === f).length;
    return { vsa: { legacy: of(VSA_PREDICATE_TYPE, 'legacy'), bundle: of(VSA_PREDICATE_TYPE, 'bundle') }, approval: of(APPROVAL_PREDICATE_TYPE, 'legacy') + of(APPROVAL_PREDICATE_TYPE, 'bundle') };
  };

  const promoted = new Map<SignatureFormat, Awaited<ReturnType<typeof promote>>>();

  for (const format of ['legacy', 'bundle', 'both'] as const) {
    it(`${format}: cosign verify-attestation accepts the VSA with the platform key only; it names the policy, the evidence and the approval record`, async () => {
      const p = await promote(format);
      promoted.set(format, p);
      const accepted = run(['verify-attestation', '--key', key('platform.pub'), '--type', VSA_PREDICATE_TYPE, p.ref]);
      assert.equal(accepted.status, 0, accepted.stderr);
      assert.notEqual(run(['verify-attestation', '--key', key('dev.pub'), '--type', VSA_PREDICATE_TYPE, p.ref]).status, 0, 'not by the developer key');
      if (cosignV2) {
        const v2 = run(['verify-attestation', '--key', key('platform.pub'), '--type', VSA_PREDICATE_TYPE, p.ref, ...noServicesRootArgs(env.dir)], cosignV2);
        assert.equal(v2.status, 0, v2.stderr);
      }
      const statement = JSON.parse(Buffer.from(JSON.parse(accepted.stdout.trim().split('\n')[0]).payload, 'base64').toString('utf8'));
      assert.equal(statement.predicateType, VSA_PREDICATE_TYPE);
      assert.deepEqual(statement.subject.map((s: { digest: object }) => s.digest), [{ sha256: p.digest.slice(7) }]);
      const vsa = statement.predicate;
      assert.equal(vsa.verifier.id, VERIFIER_ID, 'the id the worker\'s configuration names');
      assert.equal(vsa.verificationResult, 'PASSED');
      assert.deepEqual(vsa.verifiedLevels, [VSA_BUILD_LEVEL, VSA_APPROVED_LEVEL]);
      assert.equal(vsa.resourceUri, `oci://${p.repository}`);
      assert.equal(`sha256:${vsa.policy.digest.sha256}`, p.done.policyDigest, 'the policy digest the run pinned');
      const inputs = vsa.inputAttestations.map((i: { uri: string }) => i.uri.slice(i.uri.indexOf('#') + 1));
      assert.deepEqual(inputs, ['https://slsa.dev/provenance/v1', 'https://spdx.dev/Document', APPROVAL_PREDICATE_TYPE]);

      const approval = run(['verify-attestation', '--key', key('platform.pub'), '--type', APPROVAL_PREDICATE_TYPE, p.ref]);
      const record = JSON.parse(Buffer.from(JSON.parse(approval.stdout.trim().split('\n')[0]).payload, 'base64').toString('utf8')).predicate;
      assert.equal(record.outcome, 'approved', 'the approval predicate states its outcome');

      const counts = await vsaCounts(p.repository, p.digest);
      assert.deepEqual(counts.vsa, { legacy: format === 'bundle' ? 0 : 1, bundle: format === 'legacy' ? 0 : 1 }, 'exactly one VSA per format written');
    });
  }

  it('slsa-verifier verify-vsa accepts it through the documented script, and refuses another key or another image', { skip: slsaVerifier ? false : 'slsa-verifier not installed (bash scripts/toolchain.sh slsa-verifier)' }, async () => {
    assert.equal(promoted.size, 3, 'the promotions above ran');
    for (const [format, p] of promoted) {
      const ok = await customerScript(p.ref, key('platform.pub'));
      assert.equal(ok.status, 0, `${format}: ${ok.stdout}\n${ok.stderr}`);
      assert.match(ok.stderr, /Verifying VSA: PASSED/);
    }
    const legacy = promoted.get('legacy')!;
    const wrongKey = await customerScript(legacy.ref, key('dev.pub'));
    assert.notEqual(wrongKey.status, 0, 'the developer key is not the platform key');
    const defaultId = await customerScript(legacy.ref, key('platform.pub'), VSA_VERIFIER_ID);
    assert.notEqual(defaultId.status, 0, 'the summary names the configured verifier, not the default');
    assert.match(defaultId.stderr, /verifier/i);
    // Another promoted image's summary does not name this digest: slsa-verifier checks the subject.
    const other = promoted.get('both')!;
    const work = await fs.mkdtemp(path.join(env.dir, 'other-'));
    const got = run(['verify-attestation', '--key', key('platform.pub'), '--type', VSA_PREDICATE_TYPE, other.ref]);
    await fs.writeFile(path.join(work, 'vsa.json'), got.stdout.trim().split('\n')[0]);
    const mismatch = spawnSync(slsaVerifier!, ['verify-vsa', '--attestation-path', path.join(work, 'vsa.json'), '--public-key-path', key('platform.pub'), '--subject-digest', legacy.digest, '--resource-uri', `oci://${other.repository}`, '--verifier-id', VERIFIER_ID, '--verified-level', VSA_BUILD_LEVEL], { encoding: 'utf8' });
    assert.notEqual(mismatch.status, 0, mismatch.stderr);
    assert.match(mismatch.stderr, /expected digest not found/);
    const tooHigh = spawnSync(slsaVerifier!, ['verify-vsa', '--attestation-path', path.join(work, 'vsa.json'), '--public-key-path', key('platform.pub'), '--subject-digest', other.digest, '--resource-uri', `oci://${other.repository}`, '--verifier-id', VERIFIER_ID, '--verified-level', 'SLSA_BUILD_LEVEL_3'], { encoding: 'utf8' });
    assert.notEqual(tooHigh.status, 0, 'countersign never claims Build L3');
  });

  it('a second promotion of the same digest adds its approval record but no second VSA by the key', async () => {
    const first = promoted.get('legacy')!;
    const before = await vsaCounts(first.repository, first.digest);
    const again = await promote('legacy', first.dir);
    assert.equal(again.digest, first.digest);
    const now = await vsaCounts(first.repository, first.digest);
    assert.deepEqual(now.vsa, before.vsa);
    assert.equal(now.approval, before.approval + 1);
  });
});
