import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { parse } from 'yaml';
import { verifyBlob } from '../../src/cosign/blob';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { sha256Hex } from '../../src/oci/digest';
import { pullChart } from '../../src/helm/oci';
import { startChartRelease, waitForChartRelease, type ChartReleaseRequest } from '../../src/helm/release-client';
import { pinRoster } from '../../src/approval/roster';
import type { ApprovalPolicy } from '../../workflows/approval-messages';
import { verifyChart } from '../../src/helm/verify';
import { hasCode } from '../../src/errors';
import { generateSigningKey, publicKeyring, publishKeyring, readSigningKey } from '../../src/helm/pgp-key';
import { DEMO_FILE, demoReleaseRequest, PGP_PASSWORD_ENV, TEST_KEY_PASSPHRASE, VECTORS, writeChart } from '../helm/helpers';
import { useTestEnv, TEST_PASSWORD } from '../support/env';
import { runCli } from '../support/cli';

describe('chart release workflow on a real Temporal dev server and registry', () => {
  const env = useTestEnv({ setup: (e) => void (e.workerEnv[PGP_PASSWORD_ENV] = TEST_KEY_PASSPHRASE) });
  let approval: ApprovalPolicy;
  const request = (overrides: Partial<ChartReleaseRequest> = {}): ChartReleaseRequest => demoReleaseRequest(env, approval, overrides);

  before(async () => {
    approval = { ...env.target.approval, roster: await pinRoster(env.target.approvers) };
  });

  it('packages, signs, verifies, waits for approval, then publishes to the repository and the registry', async () => {
    const started = await startChartRelease(env.client, request());
    const waiting = await waitForChartRelease(env.client, started.releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(waiting.state, 'AWAITING_APPROVAL', waiting.error);
    assert.deepEqual(waiting.checks.map((c) => [c.name, c.ok]), [['archive', true], ['file-name', true], ['signature', true], ['digest', true], ['metadata', true], ['bundle', true]]);
    assert.equal(await fs.stat(path.join(env.dir, 'repo', DEMO_FILE)).then(() => true, () => false), false, 'nothing is published before approval');

    // The shared approval gate: signed statements, checked against the pinned roster and groups.
    await assert.rejects(env.decideAs(started.releaseId, 'carol', 'approve'), (e) => hasCode(e, 'APPROVAL_REFUSED'));
    const cliEnv = { TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD };
    const approved = await runCli(['approve', started.releaseId, '--as', 'alice', '--key', path.join(env.keysDir, 'alice.key')], cliEnv);
    assert.equal(approved.code, 0, approved.stderr);
    const done = await waitForChartRelease(env.client, started.releaseId);
    assert.equal(done.state, 'RELEASED', done.error);
    const shown = await runCli(['status', started.releaseId], cliEnv);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /chart release .*\n\s+state:\s+RELEASED/);
    assert.match(shown.stdout, /approved by alice/);
    const listed = JSON.parse((await runCli(['list', '--kind', 'chart', '--state', 'RELEASED', '--json'], cliEnv)).stdout);
    assert.deepEqual(
      listed.filter((r: { promotionId: string }) => r.promotionId === started.releaseId).map((r: { kind: string; target: string }) => [r.kind, r.target]),
      [['chart', 'chart:demo']],
    );
    assert.deepEqual(done.timeline.map((t) => [t.step, t.status]), [['package', 'succeeded'], ['sign', 'succeeded'], ['verify', 'succeeded'], ['approval', 'succeeded'], ['publish', 'succeeded']]);

    const repo = path.join(env.dir, 'repo');
    const archive = await fs.readFile(path.join(repo, DEMO_FILE));
    const report = await verifyChart({ archive, fileName: DEMO_FILE, provenance: await fs.readFile(path.join(repo, `${DEMO_FILE}.prov`)), keyring: await fs.readFile(path.join(VECTORS, 'keyring.gpg')) });
    assert.equal(report.ok, true, JSON.stringify(report.checks));
    const index = parse(await fs.readFile(path.join(repo, 'index.yaml'), 'utf8'));
    assert.equal(index.apiVersion, 'v1');
    assert.deepEqual(index.entries.demo.map((e: Record<string, unknown>) => [e.version, e.urls, e.digest]), [['1.2.3', [DEMO_FILE], sha256Hex(archive)]]);
    // The published bundle is the one customers check with `cosign verify-blob --bundle`: it must
    // verify for this archive under the platform key, and for nothing else.
    const bundle = await fs.readFile(path.join(repo, `${DEMO_FILE}.sigstore.json`));
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    verifyBlob(archive, bundle, platformPem);
    assert.throws(() => verifyBlob(Buffer.concat([archive, Buffer.from([0])]), bundle, platformPem), (e) => hasCode(e, 'SIGNATURE_INVALID'));
    const devPem = await fs.readFile(path.join(env.keysDir, 'dev.pub'), 'utf8');
    assert.throws(() => verifyBlob(archive, bundle, devPem), (e) => hasCode(e, 'SIGNATURE_INVALID'));

    const pulled = await pullChart(env.store, 'charts/demo', '1.2.3');
    assert.equal(pulled.digest, done.published?.ociDigest);
    assert.ok(pulled.archive.equals(archive));
    assert.equal((await verifyImageSignatures(env.store, 'charts/demo', pulled.digest, platformPem)).valid, 1);

    // A second trigger for the same chart finds the finished release's id; nothing is published twice.
    const again = await startChartRelease(env.client, request());
    assert.equal(again.releaseId, started.releaseId);
  });

  it('rejects with the approver reason and publishes nothing', async () => {
    const chartDir = await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: rejected\nversion: 0.0.1\n' });
    const started = await startChartRelease(env.client, request({ chartDir }));
    await waitForChartRelease(env.client, started.releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(started.releaseId, 'bob', 'reject', 'not this week');
    const done = await waitForChartRelease(env.client, started.releaseId);
    assert.equal(done.state, 'REJECTED');
    assert.match(done.error ?? '', /^REJECTED: .*bob.*not this week/);
    assert.equal(await env.store.getManifest('charts/rejected', '0.0.1'), undefined);
  });

  it('ends REJECTED at verify, every failed check listed, no approval asked, nothing published', async () => {
    // The pinned fingerprint comes from the keyring, so a keyring of another key stops the release
    // at sign (next test). The verify step fails when the keyring holds the signing key revoked
    // (the key was revoked after the release started) and the cosign public key is not the one
    // the bundle was signed with.
    const key = await readSigningKey(await fs.readFile(path.join(VECTORS, 'test-key.asc')), TEST_KEY_PASSPHRASE);
    const { publicKey: revoked } = await openpgp.revokeKey({ key, reasonForRevocation: { flag: openpgp.enums.reasonForRevocation.keyCompromised }, format: 'object' });
    const keyringPath = path.join(env.dir, 'revoked', 'keyring.gpg');
    await fs.mkdir(path.dirname(keyringPath), { recursive: true });
    await fs.writeFile(keyringPath, publicKeyring([revoked]));
    const chartDir = await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: unverified\nversion: 0.0.1\n' });
    const repositoryDir = path.join(env.dir, 'repo-unverified');
    const base = request();
    const started = await startChartRelease(
      env.client,
      request({ chartDir, keyringPath, publish: { ...base.publish, repositoryDir, cosign: { ...base.publish.cosign!, publicKeyPath: path.join(env.keysDir, 'dev.pub') } } }),
    );
    const done = await waitForChartRelease(env.client, started.releaseId);
    assert.equal(done.state, 'REJECTED', done.error);
    assert.deepEqual(done.checks.map((c) => [c.name, c.ok, c.code]), [
      ['archive', true, undefined],
      ['file-name', true, undefined],
      ['signature', false, 'PROVENANCE_SIGNATURE_INVALID'],
      ['digest', true, undefined],
      ['metadata', true, undefined],
      ['bundle', false, 'SIGNATURE_INVALID'],
    ]);
    assert.match(done.error ?? '', /^VERIFICATION_FAILED: .*revoked.*; unverified-0\.0\.1\.tgz\.sigstore\.json: /);
    assert.deepEqual(done.timeline.map((t) => [t.step, t.status]), [['package', 'succeeded'], ['sign', 'succeeded'], ['verify', 'rejected']]);
    assert.equal(done.timeline[2]!.detail, '2 check(s) failed');
    assert.equal(done.approval.state, 'WAITING', 'the approval gate never opened');
    assert.deepEqual(done.approval.votes, []);
    assert.equal(done.published, undefined);
    assert.equal(await fs.stat(repositoryDir).then(() => true, () => false), false, 'nothing in the chart repository');
    assert.equal(await env.store.getManifest('charts/unverified', '0.0.1'), undefined);
  });

  it('fails at sign when the key does not match the published keyring, naming both', async () => {
    const other = await generateSigningKey({ name: 'Other', passphrase: TEST_KEY_PASSPHRASE, rsaBits: 2048 });
    const keyringPath = await publishKeyring(path.join(env.dir, 'trust'), await readSigningKey(Buffer.from(other.privateKeyArmored), TEST_KEY_PASSPHRASE));
    const chartDir = await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: mismatch\nversion: 0.0.1\n' });
    const started = await startChartRelease(env.client, request({ chartDir, keyringPath }));
    const done = await waitForChartRelease(env.client, started.releaseId);
    assert.equal(done.state, 'FAILED');
    assert.match(done.error ?? '', new RegExp(`KEY_INVALID: .*but the release pinned ${other.info.fingerprint}`));
    assert.deepEqual(done.timeline.map((t) => [t.step, t.status]), [['package', 'succeeded'], ['sign', 'failed']]);
  });
});
