/**
 * Chart releases hold against a caller who can reach Temporal or write what a request carries:
 * each attack on a real Temporal dev server and registry, ending with nothing a customer's
 * `helm verify` or `cosign verify-blob` could accept, checked with those tools when installed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { decide, getApproval } from '../../src/client/promotions';
import { signDecision } from '../../src/approval/sign';
import { writeKeyPair } from '../../src/keys/file-signer';
import { chartReleaseWorkflowId } from '../../src/helm/id';
import { packageChart } from '../../src/helm/package';
import { waitForChartRelease } from '../../src/client/chart-releases';
import { CHART_START_REQUEST_TYPE, type ChartStartRequest } from '../../src/requests/chart-start-request';
import { newNonce, signStatement } from '../../src/requests/sign';
import { START_REQUEST_TYPE } from '../../src/requests/start-request';
import type { SignedStatement } from '../../src/requests/statement';
import { CHART_RELEASE_WORKFLOW_TYPE, type ChartReleaseStatus } from '../../workflows/chart-release-messages';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import { COSIGN, cosignVerifyBlob, GPG, gpgVerify, HELMS, helmVerify } from '../support/chart-tools';
import { runCli } from '../support/cli';
import { PLATFORM_PASSWORD_ENV, TEST_PASSWORD, useTestEnv } from '../support/env';
import { DEMO_DIR, demoChartTarget, filesUnder, PGP_PASSWORD_ENV, releaseChart, TEST_KEY_PASSPHRASE, VECTORS, writeChart } from '../helm/helpers';

const KEYRING = path.join(VECTORS, 'keyring.gpg');
const timeline = (s: ChartReleaseStatus) => s.timeline.map((t) => `${t.step}:${t.status}`);

describe('attacks on chart releases', () => {
  const env = useTestEnv({ setup: (e) => void (e.workerEnv[PGP_PASSWORD_ENV] = TEST_KEY_PASSPHRASE) });
  const repoDir = () => path.join(env.dir, 'attack-repo');
  let seq = 0;

  before(() => {
    // Two of alice, bob and carol approve; dave alone may re-open a rejected release.
    env.chartWith(
      demoChartTarget(env, {
        publish: { repositoryDir: repoDir(), oci: `${env.stack.registry.address}/attack-charts` },
        approval: { approvers: ['alice', 'bob', 'carol'], required: 2, deadline: '1h', reopen: ['dave'] },
      }),
      'attack',
    );
  });

  /** A fresh chart under the chart target's sources (the test directory). */
  async function chart(name: string): Promise<{ dir: string; name: string; version: string; fileName: string; sha256: string }> {
    const version = `0.0.${++seq}`;
    const dir = await writeChart({ 'Chart.yaml': `apiVersion: v2\nname: ${name}\nversion: ${version}\n` }, env.dir);
    const pkg = await packageChart(dir);
    return { dir, name, version, fileName: pkg.fileName, sha256: pkg.sha256 };
  }

  /** A chart start request for `c`, signed by `signer` (default: the initiator it names). */
  async function signedRequest(c: { dir: string; name: string; version: string; sha256: string }, fields: Partial<ChartStartRequest> & Record<string, unknown> = {}, signer?: string) {
    const statement = {
      _type: CHART_START_REQUEST_TYPE,
      target: 'attack',
      chartDir: c.dir,
      name: c.name,
      version: c.version,
      sha256: c.sha256,
      initiator: 'ci',
      issuedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
      nonce: newNonce(),
      ...fields,
    };
    return signStatement(statement, await env.signer(signer ?? String(statement.initiator)));
  }

  /** Starts the chart release workflow directly, as anyone with access to Temporal can. */
  async function startRaw(workflowId: string, input: unknown): Promise<string> {
    await env.client.workflow.start(CHART_RELEASE_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId, args: [input] });
    return workflowId;
  }

  async function refusal(id: string, code: string): Promise<ChartReleaseStatus> {
    const done = await waitForChartRelease(env.client, id);
    assert.equal(done.state, 'REFUSED', `${id}: ${done.state} ${done.error}`);
    assert.match(done.error ?? '', new RegExp(`^${code}: `));
    assert.deepEqual(timeline(done), ['authorize:failed'], 'nothing ran after the refusal: not even packaging');
    return done;
  }

  /**
   * Nothing of `c` a customer could verify: no archive, .prov or bundle published, staged or left
   * anywhere under the test directory (the worker's staging root included), no chart in the
   * registry; and stock helm, gpg and cosign, given the chart as anyone can package it, find no
   * signature for it.
   */
  async function assertNothingVerifiable(c: { dir: string; name: string; version: string; fileName: string }): Promise<void> {
    const leftovers = (await filesUnder(env.dir)).filter((f) => path.basename(f).startsWith(c.fileName) && !f.startsWith('data'));
    assert.deepEqual(leftovers, [], `nothing of ${c.fileName} outside the chart directory`);
    assert.equal(await env.store.getManifest(`attack-charts/${c.name}`, c.version), undefined, 'no chart in the registry');
    const unsigned = path.join(env.dir, `unsigned-${c.name}-${c.version}`);
    await fs.mkdir(unsigned, { recursive: true });
    const tgz = path.join(unsigned, c.fileName);
    await fs.writeFile(tgz, (await packageChart(c.dir)).data);
    try {
      for (const helm of HELMS) {
        if (!helm.bin) continue;
        for (const where of [tgz, path.join(repoDir(), c.fileName)]) {
          const verified = await helmVerify(helm.bin, KEYRING, where, path.join(env.dir, `helm-home-${HELMS.indexOf(helm)}`));
          assert.notEqual(verified.code, 0, `${helm.label} verified ${where}: ${verified.out}`);
        }
      }
      if (COSIGN) {
        const verified = await cosignVerifyBlob(COSIGN, path.join(env.keysDir, 'platform.pub'), path.join(repoDir(), `${c.fileName}.sigstore.json`), tgz, env.dir);
        assert.notEqual(verified.code, 0, `cosign found a bundle: ${verified.out}`);
      }
      if (GPG) assert.notEqual((await gpgVerify(GPG, KEYRING, path.join(repoDir(), `${c.fileName}.prov`))).code, 0);
    } finally {
      await fs.rm(unsigned, { recursive: true, force: true });
    }
  }

  it('a chart rejected at the gate leaves nothing verifiable behind: it was never signed, and what was staged is gone', async () => {
    const c = await chart('vetoed');
    const started = await releaseChart(env, 'attack', { chartDir: c.dir });
    const waiting = await waitForChartRelease(env.client, started.releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(waiting.state, 'AWAITING_APPROVAL', waiting.error);
    // At the gate the worker holds the unsigned archive only, in a directory only it can read.
    const runDir = path.join(env.stagingDir, waiting.approval.subject.runId!);
    assert.deepEqual(await fs.readdir(runDir), [c.fileName]);
    assert.equal((await fs.stat(runDir)).mode & 0o777, 0o700);
    assert.equal((await fs.stat(path.join(runDir, c.fileName))).mode & 0o777, 0o600);
    await env.decideAs(started.releaseId, 'alice', 'approve');
    await env.decideAs(started.releaseId, 'carol', 'reject', 'not this chart');
    const done = await waitForChartRelease(env.client, started.releaseId);
    assert.equal(done.state, 'REJECTED', done.error);
    assert.deepEqual(timeline(done), ['authorize:succeeded', 'package:succeeded', 'approval:rejected', 'cleanup:succeeded']);
    assert.equal(done.timeline[3]!.detail, `removed ${c.fileName}`);
    await assert.rejects(fs.stat(runDir), /ENOENT/);
    await assertNothingVerifiable(c);
  });

  it('an expired release leaves nothing behind either', async () => {
    const c = await chart('expiring');
    const started = await releaseChart(env, 'attack', { chartDir: c.dir, deadlineMs: 1000 });
    const done = await waitForChartRelease(env.client, started.releaseId);
    assert.equal(done.state, 'EXPIRED', done.error);
    assert.deepEqual(timeline(done), ['authorize:succeeded', 'package:succeeded', 'approval:expired', 'cleanup:succeeded']);
    await assertNothingVerifiable(c);
  });

  it('a workflow started with the old input (its own key, keyring, roster, staging and publish directories; no signed request) is refused before packaging, and writes nowhere', async () => {
    const c = await chart('unsigned');
    const mine = path.join(env.dir, 'mallory');
    const forged = {
      chartDir: c.dir,
      stagingDir: path.join(mine, 'staging'),
      name: c.name,
      version: c.version,
      fileName: c.fileName,
      sha256: c.sha256,
      pgpKey: { ref: path.join(VECTORS, 'test-key.asc'), passwordEnv: PGP_PASSWORD_ENV, fingerprint: '' },
      keyringPath: KEYRING,
      publish: {
        repositoryDir: path.join(mine, 'repo'),
        oci: `${env.stack.registry.address}/attack-charts`,
        cosign: { ref: path.join(env.keysDir, 'platform.key'), passwordEnv: PLATFORM_PASSWORD_ENV, publicKeyPem: '' },
        created: '2026-01-01T00:00:00Z',
      },
      approval: { groups: [{ name: 'me', members: ['mallory'], required: 1 }], vetoOnReject: false, deadlineMs: 3_600_000, roster: {} },
      initiator: 'mallory',
    };
    const id = await startRaw(chartReleaseWorkflowId('attack', c.name, c.version, c.sha256), forged);
    const done = await refusal(id, 'REQUEST_UNSIGNED');
    assert.match(done.error!, /the chart release has no signed start request/);
    await assert.rejects(fs.stat(mine), /ENOENT/, 'neither the staging nor the publish directory the input named was created');
    await assertNothingVerifiable(c);
  });

  it('a forged start request is refused before packaging: signed by someone else, by a stranger, altered after signing, or of another kind', async () => {
    await writeKeyPair(env.keysDir, 'mallory', TEST_PASSWORD, { force: true });
    const c = await chart('forged');
    const id = chartReleaseWorkflowId('attack', c.name, c.version, c.sha256);

    const impostor = await refusal(await startRaw(id, { request: await signedRequest(c, {}, 'mallory') }), 'REQUEST_BAD_SIGNATURE');
    assert.match(impostor.error!, /does not verify with ci's key in the worker's configuration/);
    const stranger = await refusal(await startRaw(id, { request: await signedRequest(c, { initiator: 'mallory' }) }), 'REQUEST_UNKNOWN_SIGNER');
    assert.match(stranger.error!, /mallory is not an initiator in the worker's configuration/);

    // ci's genuine signature, over a request that then had its chart directory swapped.
    const genuine = await signedRequest(c);
    const swapped: SignedStatement = { statement: genuine.statement.replace(JSON.stringify(c.dir), JSON.stringify(DEMO_DIR)), signature: genuine.signature };
    assert.notEqual(swapped.statement, genuine.statement);
    await refusal(await startRaw(id, { request: swapped }), 'REQUEST_BAD_SIGNATURE');

    // A promotion's start request, genuinely signed by ci, does not start a chart release.
    const promotionRequest = await signStatement(
      {
        _type: START_REQUEST_TYPE,
        target: 'attack',
        digest: `sha256:${c.sha256}`,
        artifact: { kind: 'directory', path: c.dir },
        initiator: 'ci',
        issuedAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
        nonce: newNonce(),
      },
      await env.signer('ci'),
    );
    const wrongKind = await refusal(await startRaw(id, { request: promotionRequest }), 'REQUEST_INVALID');
    assert.match(wrongKind.error!, /has type "https:\/\/countersign.dev\/start-request\/v1", expected https:\/\/countersign.dev\/chart-start-request\/v1/);

    // Signed, for the right chart, but for another chart target than the workflow id names.
    env.chartWith(demoChartTarget(env), 'attack-other');
    const elsewhere = await refusal(await startRaw(id, { request: await signedRequest(c, { target: 'attack-other' }) }), 'REQUEST_INVALID');
    assert.match(elsewhere.error!, /the start request is for chart-attack-other\/forged-.*, but this run is chart-attack\/forged-/);
    await assertNothingVerifiable(c);
  });

  it('the signed request cannot carry a staging or publish directory, a key or a keyring either', async () => {
    const c = await chart('extra-fields');
    const id = chartReleaseWorkflowId('attack', c.name, c.version, c.sha256);
    const done = await refusal(
      await startRaw(id, { request: await signedRequest(c, { stagingDir: path.join(env.dir, 'mine'), publish: { repositoryDir: path.join(env.dir, 'mine') }, keyring: KEYRING }) }),
      'REQUEST_INVALID',
    );
    assert.match(done.error!, /the chart start request has unknown fields: keyring, publish, stagingDir/);
  });

  it('directories the caller adds to the input have no effect: the chart goes where the worker publishes, under its approval policy', async () => {
    const c = await chart('caller-dirs');
    const mine = path.join(env.dir, 'caller-chosen');
    const id = await startRaw(chartReleaseWorkflowId('attack', c.name, c.version, c.sha256), {
      request: await signedRequest(c),
      stagingDir: path.join(mine, 'staging'),
      publish: { repositoryDir: path.join(mine, 'repo'), oci: `${env.stack.registry.address}/caller-charts` },
      keyringPath: path.join(mine, 'keyring.gpg'),
      approval: { groups: [{ name: 'me', members: ['alice'], required: 1 }], vetoOnReject: false, deadlineMs: 3_600_000, roster: {} },
    });
    await waitForChartRelease(env.client, id, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(id, 'alice', 'approve');
    assert.equal((await getApproval(env.client, id)).summary, 'waiting for 1 more of approvers', "the worker's 2-of-3, not the input's one-person group");
    await env.decideAs(id, 'bob', 'approve');
    const done = await waitForChartRelease(env.client, id);
    assert.equal(done.state, 'RELEASED', done.error);
    assert.deepEqual((await filesUnder(repoDir())).filter((f) => f.startsWith(c.fileName)), [c.fileName, `${c.fileName}.prov`, `${c.fileName}.sigstore.json`]);
    assert.ok(await env.store.getManifest(`attack-charts/${c.name}`, c.version), 'in the configured registry namespace');
    assert.equal(await env.store.getManifest(`caller-charts/${c.name}`, c.version), undefined);
    await assert.rejects(fs.stat(mine), /ENOENT/, 'nothing was written where the input pointed');
  });

  it('the waitForGate update reads no input: a roster, a policy and directories a caller passes to it change nothing', async () => {
    const c = await chart('gate-args');
    const mine = path.join(env.dir, 'gate-args-chosen');
    const started = await releaseChart(env, 'attack', { chartDir: c.dir });
    const forged = {
      approval: { groups: [{ name: 'me', members: ['mallory'], required: 1 }], vetoOnReject: false, deadlineMs: 1, roster: { mallory: { publicKey: 'x' } } },
      publish: { repositoryDir: path.join(mine, 'repo') },
      stagingDir: path.join(mine, 'staging'),
    };
    const answer = (await env.client.workflow.getHandle(started.releaseId).executeUpdate('waitForGate', { args: [forged] })) as ChartReleaseStatus;
    assert.equal(answer.state, 'AWAITING_APPROVAL', answer.error);
    assert.deepEqual(answer.approval.groups.map((g) => [g.eligible, g.required]), [[['alice', 'bob', 'carol'], 2]], "the worker's 2 of 3, not the caller's");
    await env.decideAs(started.releaseId, 'alice', 'approve');
    assert.equal((await getApproval(env.client, started.releaseId)).summary, 'waiting for 1 more of approvers');
    await env.decideAs(started.releaseId, 'bob', 'approve');
    assert.equal((await waitForChartRelease(env.client, started.releaseId)).state, 'RELEASED');
    assert.ok((await filesUnder(repoDir())).includes(`${c.fileName}.prov`), 'published where the worker publishes');
    await assert.rejects(fs.stat(mine), /ENOENT/, 'nothing was written where the arguments pointed');
  });

  it("a chart directory outside the chart target's sources is refused, even through a symlink or ..", async () => {
    const sources = path.join(env.dir, 'narrow-sources');
    await fs.mkdir(sources, { recursive: true });
    env.chartWith(demoChartTarget(env, { sources: [sources] }), 'narrow');
    const outside = await releaseChart(env, 'narrow', { chartDir: DEMO_DIR });
    const refused = await refusal(outside.releaseId, 'SOURCE_NOT_ALLOWED');
    assert.match(refused.error!, new RegExp(`${DEMO_DIR.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not under a source directory of chart target narrow`));
    await fs.symlink(path.dirname(DEMO_DIR), path.join(sources, 'vectors-link'));
    const linked = await releaseChart(env, 'narrow', { chartDir: path.join(sources, 'vectors-link', 'demo') });
    await refusal(linked.releaseId, 'SOURCE_NOT_ALLOWED');
    // The raw request names a path that climbs out with "..".
    const pkg = await packageChart(DEMO_DIR);
    const climbing = `${sources}${`${path.sep}..`.repeat(sources.split(path.sep).length - 1)}${DEMO_DIR}`;
    assert.ok(climbing.startsWith(`${sources}${path.sep}..`), climbing);
    const id = chartReleaseWorkflowId('narrow', 'demo', '1.2.3', pkg.sha256);
    await waitForChartRelease(env.client, id); // the earlier refusals of this id are closed
    const request = await signedRequest({ dir: climbing, name: 'demo', version: '1.2.3', sha256: pkg.sha256 }, { target: 'narrow' });
    await refusal(await startRaw(id, { request }), 'SOURCE_NOT_ALLOWED');
  });

  it('a chart target the initiator may not start, or an image target named as a chart target, is refused', async () => {
    await writeKeyPair(env.keysDir, 'scoped', TEST_PASSWORD, { force: true });
    env.config.initiators.scoped = { publicKey: path.join(env.keysDir, 'scoped.pub'), targets: ['prod'] };
    const c = await chart('scoped');
    const scoped = await releaseChart(env, 'attack', { chartDir: c.dir, initiator: 'scoped' });
    const done = await refusal(scoped.releaseId, 'REQUEST_OUT_OF_SCOPE');
    assert.match(done.error!, /scoped may start prod, not attack/);
    const image = await releaseChart(env, 'prod', { chartDir: c.dir });
    const unknown = await refusal(image.releaseId, 'UNKNOWN_TARGET');
    assert.match(unknown.error!, /no chart target "prod" in the worker's configuration \(charts: /);
  });

  it('the initiator may not approve their own release', async () => {
    const c = await chart('own');
    const started = await releaseChart(env, 'attack', { chartDir: c.dir, initiator: 'alice' });
    await waitForChartRelease(env.client, started.releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await assert.rejects(env.decideAs(started.releaseId, 'alice', 'approve'), (e) => /alice may not approve .*: started this chart release/.test((e as Error).message));
    await env.decideAs(started.releaseId, 'bob', 'reject', 'cleanup');
    // The run removes its staging on the way out: look once it has ended, not when the vote lands.
    assert.equal((await waitForChartRelease(env.client, started.releaseId)).state, 'REJECTED');
    await assertNothingVerifiable(c);
  });

  it('a rejection stands: a new run needs a re-open by someone allowed; a vote and a start request from an earlier run are refused in the next', async () => {
    const c = await chart('reopened');
    const cliEnv = { TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD };
    const release = (...extra: string[]) => runCli(['helm', 'release', c.dir, '--target', 'attack', '--as', 'ci', '--key', path.join(env.keysDir, 'ci.key'), '--json', ...extra], cliEnv);

    const first = await release();
    assert.equal(first.code, 0, first.stderr);
    const id = (JSON.parse(first.stdout) as { releaseId: string }).releaseId;
    await waitForChartRelease(env.client, id, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    const firstRun = (await getApproval(env.client, id)).subject.runId!;
    const aliceInRun1 = await signDecision({ promotionId: id, runId: firstRun, digest: `sha256:${c.sha256}`, decision: 'approve', approver: 'alice' }, await env.signer('alice'));
    await decide(env.client, id, aliceInRun1);
    await env.decideAs(id, 'carol', 'reject', 'not this chart');
    assert.equal((await waitForChartRelease(env.client, id)).state, 'REJECTED');
    await assertNothingVerifiable(c);

    // Starting again is not enough, and the refusal is the CLI's answer (exit 7).
    const again = await release();
    assert.equal(again.code, 7, again.stderr);
    assert.equal(JSON.parse(again.stdout).state, 'REFUSED');
    assert.match(JSON.parse(again.stdout).error, /^REJECTED_BEFORE: .*a new run needs a signed re-open by one of dave \(countersign reopen chart-attack\/reopened-/);
    // Nor a re-open by someone the chart target does not allow.
    const byBob = path.join(env.dir, 'reopen-bob.json');
    assert.equal((await runCli(['reopen', id, '--as', 'bob', '--key', path.join(env.keysDir, 'bob.key'), '--reason', 'I say so', '--output', byBob], cliEnv)).code, 0);
    const bobs = await release('--reopen', byBob);
    assert.equal(bobs.code, 7);
    assert.match(JSON.parse(bobs.stdout).error, /^REQUEST_OUT_OF_SCOPE: bob may not re-open attack chart releases/);

    // dave re-opens (countersign reopen works for chart releases too); the next run opens a new gate.
    const byDave = path.join(env.dir, 'reopen-dave.json');
    const signed = await runCli(['reopen', id, '--as', 'dave', '--key', path.join(env.keysDir, 'dave.key'), '--reason', 'fixed the values', '--output', byDave], cliEnv);
    assert.equal(signed.code, 0, signed.stderr);
    assert.deepEqual(
      (({ rejectedRunId, digest }) => [rejectedRunId, digest])(JSON.parse(JSON.parse(await fs.readFile(byDave, 'utf8')).statement)),
      [firstRun, `sha256:${c.sha256}`],
      'the re-open names the rejected run and the chart package',
    );
    const reopened = await release('--reopen', byDave);
    assert.equal(reopened.code, 0, reopened.stderr);
    const third = await waitForChartRelease(env.client, id, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(third.reopenedBy?.reopener, 'dave');
    // alice's signed approval from the rejected run does not count in this one.
    await assert.rejects(decide(env.client, id, aliceInRun1), (e) => /not this run .*a vote counts in one run only/.test((e as Error).message));
    assert.deepEqual((await getApproval(env.client, id)).votes, [], 'the replayed approval was not recorded');

    // The first run's signed start request, replayed as-is, starts nothing once this run has ended.
    await env.decideAs(id, 'bob', 'reject', 'cleanup');
    assert.equal((await waitForChartRelease(env.client, id)).state, 'REJECTED');
    const history = await env.client.workflow.getHandle(id, firstRun).fetchHistory();
    const firstInput = JSON.parse(Buffer.from(history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!.data!).toString('utf8'));
    const replayed = await refusal(await startRaw(id, firstInput), 'REQUEST_REPLAYED');
    assert.match(replayed.error!, /this start request already started run/);
    await assertNothingVerifiable(c);
  });
});
