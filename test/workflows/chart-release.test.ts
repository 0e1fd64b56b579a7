import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { sha256Hex } from '../../src/oci/digest';
import { pullChart } from '../../src/helm/oci';
import { startChartRelease, waitForChartRelease, type ChartReleaseRequest } from '../../src/helm/release-client';
import { pinRoster } from '../../src/approval/roster';
import type { ApprovalPolicy } from '../../workflows/approval-messages';
import { verifyChart } from '../../src/helm/verify';
import { hasCode } from '../../src/errors';
import { generateSigningKey, publishKeyring, readSigningKey } from '../../src/helm/pgp-key';
import { DEMO_DIR, DEMO_FILE, TEST_KEY_PASSPHRASE, VECTORS, writeChart } from '../helm/helpers';
import { PLATFORM_PASSWORD_ENV, useTestEnv, TEST_PASSWORD } from '../support/env';
import { runCli } from '../support/cli';

const PGP_PASSWORD_ENV = 'COUNTERSIGN_TEST_PGP_PASSWORD';

describe('chart release workflow on a real Temporal dev server and registry', () => {
  const env = useTestEnv({ setup: (e) => void (e.workerEnv[PGP_PASSWORD_ENV] = TEST_KEY_PASSPHRASE) });
  let approval: ApprovalPolicy;
  const request = (overrides: Partial<ChartReleaseRequest> = {}): ChartReleaseRequest => ({
    chartDir: DEMO_DIR,
    stagingDir: path.join(env.dir, 'staging'),
    pgpKey: { ref: path.join(VECTORS, 'test-key.asc'), passwordEnv: PGP_PASSWORD_ENV },
    keyringPath: path.join(VECTORS, 'keyring.gpg'),
    publish: {
      repositoryDir: path.join(env.dir, 'repo'),
      oci: `${env.stack.registry.address}/charts`,
      cosign: { ref: path.join(env.keysDir, 'platform.key'), passwordEnv: PLATFORM_PASSWORD_ENV, publicKeyPath: path.join(env.keysDir, 'platform.pub') },
      created: '2026-01-01T00:00:00Z',
    },
    approval,
    initiator: 'ci',
    ...overrides,
  });

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
    await fs.access(path.join(repo, `${DEMO_FILE}.sigstore.json`));

    const pulled = await pullChart(env.store, 'charts/demo', '1.2.3');
    assert.equal(pulled.digest, done.published?.ociDigest);
    assert.ok(pulled.archive.equals(archive));
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
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
