/**
 * The chart release workflow on a real Temporal dev server and registry, started through the CLI
 * with a signed request and resolved from the worker's `charts:` configuration; the released chart
 * checked with the real helm, gpg and cosign (each skipped when the toolchain lacks it).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { parse, stringify } from 'yaml';
import { verifyBlob } from '../../src/cosign/blob';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { hasCode } from '../../src/errors';
import { pullChart } from '../../src/helm/oci';
import { generateSigningKey, publicKeyring, publishKeyring, readSigningKey } from '../../src/helm/pgp-key';
import { getChartReleaseStatus, waitForChartRelease, waitForChartReleaseEnd, waitForChartReleaseGate } from '../../src/client/chart-releases';
import { listPromotions } from '../../src/client/promotions';
import { verifyChart } from '../../src/helm/verify';
import { sha256Hex } from '../../src/oci/digest';
import { loadConfig } from '../../src/config';
import { COSIGN, cosignVerifyBlob, GPG, gpgVerify, HELMS, helmVerify } from '../support/chart-tools';
import { runCli } from '../support/cli';
import { countingClient } from '../support/counting-client';
import { TEST_PASSWORD, useTestEnv } from '../support/env';
import { DEMO_DIR, DEMO_FILE, demoChartTarget, filesUnder, PGP_PASSWORD_ENV, releaseChart, TEST_KEY_PASSPHRASE, VECTORS, writeChart } from '../helm/helpers';

const steps = (s: { timeline: Array<{ step: string; status: string }> }) => s.timeline.map((t) => [t.step, t.status]);

describe('chart release workflow on a real Temporal dev server and registry', () => {
  const env = useTestEnv({ setup: (e) => void (e.workerEnv[PGP_PASSWORD_ENV] = TEST_KEY_PASSPHRASE) });
  const cliEnv = () => ({ TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD });

  it('through the CLI: packages, waits for approval with nothing signed, then signs, verifies and publishes what helm, gpg and cosign accept', async () => {
    env.chartWith(demoChartTarget(env), 'charts');
    const cli = await runCli(['helm', 'release', DEMO_DIR, '--target', 'charts', '--as', 'ci', '--key', path.join(env.keysDir, 'ci.key'), '--json'], cliEnv());
    assert.equal(cli.code, 0, cli.stderr);
    const started = JSON.parse(cli.stdout) as { releaseId: string; sha256: string; fileName: string; state: string };
    assert.match(started.releaseId, /^chart-charts\/demo-1\.2\.3-[0-9a-f]{16}$/);
    // The CLI answers once the release is at the gate (the waitForGate update), not at the first state a poll saw.
    assert.equal(started.state, 'AWAITING_APPROVAL');
    // Asked again, as `helm release` asks: one update, no status query and no polling.
    const asking = await countingClient(env.stack.temporal.address);
    const waiting = await waitForChartReleaseGate(asking.client, started.releaseId).finally(() => asking.close());
    assert.deepEqual(asking.calls, ['UpdateWorkflowExecution']);
    assert.equal(waiting.state, 'AWAITING_APPROVAL', waiting.error);
    assert.equal(waiting.initiator, 'ci');
    assert.deepEqual(waiting.checks.map((c) => [c.name, c.ok]), [['chart-yaml', true], ['name-version', true], ['sha256', true]]);

    // Before approval: the archive alone, private to the worker; nothing signed, nothing published.
    const runDir = path.join(env.stagingDir, waiting.approval.subject.runId!);
    assert.deepEqual(await filesUnder(env.stagingDir), [path.join(waiting.approval.subject.runId!, DEMO_FILE)]);
    assert.equal((await fs.stat(env.stagingDir)).mode & 0o777, 0o700);
    assert.equal((await fs.stat(runDir)).mode & 0o777, 0o700);
    assert.equal((await fs.stat(path.join(runDir, DEMO_FILE))).mode & 0o777, 0o600);
    assert.deepEqual(await filesUnder(path.join(env.dir, 'repo')), [], 'nothing is published before approval');

    // A second trigger joins the running release.
    const again = await releaseChart(env, 'charts');
    assert.deepEqual([again.releaseId, again.attached], [started.releaseId, true]);

    // The shared approval gate: signed statements, checked against the pinned roster and groups.
    await assert.rejects(env.decideAs(started.releaseId, 'carol', 'approve'), (e) => hasCode(e, 'APPROVAL_REFUSED'));
    const approved = await runCli(['approve', started.releaseId, '--as', 'alice', '--key', path.join(env.keysDir, 'alice.key')], cliEnv());
    assert.equal(approved.code, 0, approved.stderr);
    const done = await waitForChartRelease(env.client, started.releaseId);
    assert.equal(done.state, 'RELEASED', done.error);
    assert.deepEqual(steps(done), [
      ['authorize', 'succeeded'],
      ['package', 'succeeded'],
      ['approval', 'succeeded'],
      ['sign', 'succeeded'],
      ['verify', 'succeeded'],
      ['publish', 'succeeded'],
      ['cleanup', 'succeeded'],
    ]);
    assert.equal(done.timeline[6]!.detail, `removed ${DEMO_FILE}, ${DEMO_FILE}.prov, ${DEMO_FILE}.sigstore.json`);
    assert.deepEqual(await filesUnder(env.stagingDir), [], 'the staged files are gone once published');
    const shown = await runCli(['status', started.releaseId], cliEnv());
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /chart release .*\n\s+state:\s+RELEASED/);
    assert.match(shown.stdout, /approved by alice/);
    const listed = JSON.parse((await runCli(['list', '--kind', 'chart', '--state', 'RELEASED', '--json'], cliEnv())).stdout);
    assert.deepEqual(
      listed.filter((r: { promotionId: string }) => r.promotionId === started.releaseId).map((r: { kind: string; target: string }) => [r.kind, r.target]),
      [['chart', 'chart:charts']],
    );

    const repo = path.join(env.dir, 'repo');
    const tgz = path.join(repo, DEMO_FILE);
    const archive = await fs.readFile(tgz);
    assert.equal(sha256Hex(archive), started.sha256, 'the published archive is the one the initiator signed for');
    const report = await verifyChart({ archive, fileName: DEMO_FILE, provenance: await fs.readFile(`${tgz}.prov`), keyring: await fs.readFile(path.join(VECTORS, 'keyring.gpg')) });
    assert.equal(report.ok, true, JSON.stringify(report.checks));
    const index = parse(await fs.readFile(path.join(repo, 'index.yaml'), 'utf8'));
    assert.deepEqual(index.entries.demo.map((e: Record<string, unknown>) => [e.version, e.urls, e.digest]), [['1.2.3', [DEMO_FILE], sha256Hex(archive)]]);
    // The published bundle verifies for this archive under the platform key, and for nothing else.
    const bundle = await fs.readFile(`${tgz}.sigstore.json`);
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    verifyBlob(archive, bundle, platformPem);
    assert.throws(() => verifyBlob(Buffer.concat([archive, Buffer.from([0])]), bundle, platformPem), (e) => hasCode(e, 'SIGNATURE_INVALID'));
    const devPem = await fs.readFile(path.join(env.keysDir, 'dev.pub'), 'utf8');
    assert.throws(() => verifyBlob(archive, bundle, devPem), (e) => hasCode(e, 'SIGNATURE_INVALID'));

    const pulled = await pullChart(env.store, 'charts/demo', '1.2.3');
    assert.equal(pulled.digest, done.published?.ociDigest);
    assert.ok(pulled.archive.equals(archive));
    assert.equal((await verifyImageSignatures(env.store, 'charts/demo', pulled.digest, platformPem)).valid, 1);

    // What customers run.
    for (const helm of HELMS) {
      if (!helm.bin) continue;
      const verified = await helmVerify(helm.bin, path.join(VECTORS, 'keyring.gpg'), tgz, path.join(env.dir, `helm-${HELMS.indexOf(helm)}`));
      assert.equal(verified.code, 0, `${helm.label}: ${verified.out}`);
      assert.match(verified.out, new RegExp(`Chart Hash Verified: sha256:${started.sha256}`));
    }
    if (GPG) {
      const verified = await gpgVerify(GPG, path.join(VECTORS, 'keyring.gpg'), `${tgz}.prov`);
      assert.equal(verified.code, 0, verified.out);
      assert.match(verified.out, /Good signature from "Countersign Helm Test/);
    }
    if (COSIGN) {
      const verified = await cosignVerifyBlob(COSIGN, path.join(env.keysDir, 'platform.pub'), `${tgz}.sigstore.json`, tgz, env.dir);
      assert.equal(verified.code, 0, verified.out);
    }
  });

  it('rejects with the approver reason, publishes nothing and removes what it staged', async () => {
    env.chartWith(demoChartTarget(env, { publish: { repositoryDir: path.join(env.dir, 'repo-rejected'), oci: `${env.stack.registry.address}/charts` } }), 'charts-rejected');
    const chartDir = await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: rejected\nversion: 0.0.1\n' }, env.dir);
    const started = await releaseChart(env, 'charts-rejected', { chartDir });
    await waitForChartReleaseGate(env.client, started.releaseId);
    // The end is waited for as `helm release --wait` does, on a client whose calls are counted:
    // while the gate waits, no status query and no describe, only the result's long poll.
    const waiter = await countingClient(env.stack.temporal.address);
    const ending = waitForChartReleaseEnd(waiter.client, started.releaseId).finally(() => waiter.close());
    await new Promise((r) => setTimeout(r, 1000));
    await env.decideAs(started.releaseId, 'bob', 'reject', 'not this week');
    const done = await ending;
    assert.deepEqual(waiter.calls.filter((c) => c === 'QueryWorkflow' || c === 'DescribeWorkflowExecution'), [], waiter.calls.join(' '));
    assert.equal(done.state, 'REJECTED');
    assert.match(done.error ?? '', /^REJECTED: .*bob.*not this week/);
    assert.deepEqual(steps(done), [['authorize', 'succeeded'], ['package', 'succeeded'], ['approval', 'rejected'], ['cleanup', 'succeeded']]);
    assert.equal(await env.store.getManifest('charts/rejected', '0.0.1'), undefined);
    assert.deepEqual(await filesUnder(path.join(env.dir, 'repo-rejected')), []);
    assert.deepEqual(await filesUnder(path.join(env.stagingDir, done.approval.subject.runId!)), []);
  });

  it('helm release --wait is answered at the gate, then waits for the run\'s end and exits 0 once released', async () => {
    env.chartWith(demoChartTarget(env, { publish: { repositoryDir: path.join(env.dir, 'repo-wait'), oci: `${env.stack.registry.address}/charts` } }), 'charts-wait');
    const chartDir = await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: waited\nversion: 0.0.1\n' }, env.dir);
    const cli = runCli(['helm', 'release', chartDir, '--target', 'charts-wait', '--as', 'ci', '--key', path.join(env.keysDir, 'ci.key'), '--wait'], cliEnv());
    let releaseId: string | undefined;
    for (const deadline = Date.now() + 60_000; !releaseId && Date.now() < deadline; ) {
      releaseId = (await listPromotions(env.client, { kind: 'chart', state: 'AWAITING_APPROVAL', target: 'chart:charts-wait' }))[0]?.promotionId;
      if (!releaseId) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(releaseId, 'the release reached the gate');
    await env.decideAs(releaseId, 'alice', 'approve');
    const done = await cli;
    assert.equal(done.code, 0, done.stderr);
    // Two answers, nothing polled between: the gate's (the waitForGate update), then the run's end.
    const seen = done.stderr.trim().split('\n');
    assert.equal(seen.length, 2, done.stderr);
    assert.match(seen[0]!, new RegExp(`^${releaseId}: AWAITING_APPROVAL \\(`));
    assert.equal(seen[1], `${releaseId}: RELEASED`);
    assert.match(done.stdout, /: RELEASED\n/);
    assert.match(done.stdout, /cleanup\s+succeeded/);
  });

  it('a release an operator terminated at the gate: waiting for its end says it ended without a result', async () => {
    env.chartWith(demoChartTarget(env, { publish: { repositoryDir: path.join(env.dir, 'repo-terminated'), oci: `${env.stack.registry.address}/charts` } }), 'charts-terminated');
    const chartDir = await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: terminated\nversion: 0.0.1\n' }, env.dir);
    const started = await releaseChart(env, 'charts-terminated', { chartDir });
    assert.equal((await waitForChartReleaseGate(env.client, started.releaseId)).state, 'AWAITING_APPROVAL');
    const ending = waitForChartReleaseEnd(env.client, started.releaseId);
    await env.client.workflow.getHandle(started.releaseId).terminate('operator stopped it');
    await assert.rejects(ending, (e) => hasCode(e, 'INTERNAL') && /ended as TERMINATED without a result/.test((e as Error).message));
  });

  it('a chart that is not the one the request names (changed since it was signed) is REJECTED at package, every failed check listed, no approval asked', async () => {
    env.chartWith(demoChartTarget(env), 'charts-changed');
    const chartDir = await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: changing\nversion: 0.0.1\n' }, env.dir);
    const started = await releaseChart(env, 'charts-changed', { chartDir });
    await fs.writeFile(path.join(chartDir, 'values.yaml'), 'a: 2\n');
    const done = await waitForChartRelease(env.client, started.releaseId);
    assert.equal(done.state, 'REJECTED', done.error);
    assert.deepEqual(done.checks.map((c) => [c.name, c.ok]), [['chart-yaml', true], ['name-version', true], ['sha256', false]]);
    assert.match(done.error ?? '', /^VERIFICATION_FAILED: .* packages to sha256:[0-9a-f]{64}, but the release was requested for sha256:/);
    assert.deepEqual(steps(done), [['authorize', 'succeeded'], ['package', 'rejected'], ['cleanup', 'succeeded']]);
    assert.equal(done.approval.state, 'WAITING', 'the approval gate never opened');
    assert.equal(done.timeline[2]!.detail, 'nothing staged');
  });

  it('ends REJECTED at verify after approval when the signatures do not verify, every failed check listed, nothing published', async () => {
    // The worker's keyring holds the signing key revoked, and its cosign public key is not the
    // signing key's: the .prov and the bundle are made after approval and fail their checks.
    const key = await readSigningKey(await fs.readFile(path.join(VECTORS, 'test-key.asc')), TEST_KEY_PASSPHRASE);
    const { publicKey: revoked } = await openpgp.revokeKey({ key, reasonForRevocation: { flag: openpgp.enums.reasonForRevocation.keyCompromised }, format: 'object' });
    const keyring = path.join(env.dir, 'revoked', 'keyring.gpg');
    await fs.mkdir(path.dirname(keyring), { recursive: true });
    await fs.writeFile(keyring, publicKeyring([revoked]));
    const repositoryDir = path.join(env.dir, 'repo-unverified');
    const base = demoChartTarget(env);
    env.chartWith(
      {
        ...base,
        signing: { ...(base.signing as object), keyring },
        cosign: { ...(base.cosign as object), publicKey: path.join(env.keysDir, 'dev.pub') },
        publish: { repositoryDir, oci: `${env.stack.registry.address}/charts` },
      },
      'charts-unverified',
    );
    const chartDir = await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: unverified\nversion: 0.0.1\n' }, env.dir);
    const started = await releaseChart(env, 'charts-unverified', { chartDir });
    await waitForChartRelease(env.client, started.releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(started.releaseId, 'alice', 'approve');
    const done = await waitForChartRelease(env.client, started.releaseId);
    assert.equal(done.state, 'REJECTED', done.error);
    assert.deepEqual(done.checks.map((c) => [c.name, c.ok, c.code]), [
      ['chart-yaml', true, undefined],
      ['name-version', true, undefined],
      ['sha256', true, undefined],
      ['archive', true, undefined],
      ['file-name', true, undefined],
      ['signature', false, 'PROVENANCE_SIGNATURE_INVALID'],
      ['digest', true, undefined],
      ['metadata', true, undefined],
      ['bundle', false, 'SIGNATURE_INVALID'],
    ]);
    assert.match(done.error ?? '', /^VERIFICATION_FAILED: .*revoked.*; unverified-0\.0\.1\.tgz\.sigstore\.json: /);
    assert.deepEqual(steps(done), [['authorize', 'succeeded'], ['package', 'succeeded'], ['approval', 'succeeded'], ['sign', 'succeeded'], ['verify', 'rejected'], ['cleanup', 'succeeded']]);
    assert.equal(done.timeline[4]!.detail, '2 check(s) failed');
    assert.equal(done.published, undefined);
    assert.deepEqual(await filesUnder(repositoryDir), [], 'nothing in the chart repository');
    assert.equal(await env.store.getManifest('charts/unverified', '0.0.1'), undefined);
    assert.deepEqual(await filesUnder(path.join(env.stagingDir, done.approval.subject.runId!)), [], 'the signed files did not outlive the run');
  });

  it('fails at sign when the key does not match the published keyring, naming both; the staged archive is removed', async () => {
    const other = await generateSigningKey({ name: 'Other', passphrase: TEST_KEY_PASSPHRASE, rsaBits: 2048 });
    const keyring = await publishKeyring(path.join(env.dir, 'trust'), await readSigningKey(Buffer.from(other.privateKeyArmored), TEST_KEY_PASSPHRASE));
    const base = demoChartTarget(env);
    env.chartWith({ ...base, signing: { ...(base.signing as object), keyring } }, 'charts-mismatch');
    const chartDir = await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: mismatch\nversion: 0.0.1\n' }, env.dir);
    const started = await releaseChart(env, 'charts-mismatch', { chartDir });
    await waitForChartRelease(env.client, started.releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(started.releaseId, 'alice', 'approve');
    const done = await waitForChartRelease(env.client, started.releaseId);
    assert.equal(done.state, 'FAILED');
    assert.match(done.error ?? '', new RegExp(`KEY_INVALID: .*but the release pinned ${other.info.fingerprint}`));
    assert.deepEqual(steps(done), [['authorize', 'succeeded'], ['package', 'succeeded'], ['approval', 'succeeded'], ['sign', 'failed'], ['cleanup', 'succeeded']]);
    assert.deepEqual(await filesUnder(path.join(env.stagingDir, done.approval.subject.runId!)), []);
    assert.equal((await getChartReleaseStatus(env.client, started.releaseId)).state, 'FAILED');
  });

  it('a worker configured with charts: and no targets: releases a chart', async () => {
    env.chartWith(demoChartTarget(env, { publish: { repositoryDir: path.join(env.dir, 'repo-charts-only') } }), 'charts-only');
    // The configuration file as an operator of a chart-only worker writes it: targets: left out.
    const raw = parse(await fs.readFile(await env.writeConfigFile(), 'utf8')) as Record<string, unknown>;
    delete raw.targets;
    const file = path.join(env.dir, 'charts-only.yaml');
    await fs.writeFile(file, stringify(raw));
    const config = loadConfig(file, {});
    assert.deepEqual(config.targets, {});
    await env.stopWorkers();
    const stop = await env.startWorker({ config });
    try {
      const chartDir = await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: charts-only\nversion: 1.0.0\n' }, env.dir);
      const started = await releaseChart(env, 'charts-only', { chartDir });
      await waitForChartRelease(env.client, started.releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      await env.decideAs(started.releaseId, 'alice', 'approve', 'chart-only worker');
      const done = await waitForChartRelease(env.client, started.releaseId);
      assert.equal(done.state, 'RELEASED', done.error);
      assert.ok((await filesUnder(path.join(env.dir, 'repo-charts-only'))).includes('charts-only-1.0.0.tgz'));
    } finally {
      await stop();
      await env.startWorker();
    }
  });
});
