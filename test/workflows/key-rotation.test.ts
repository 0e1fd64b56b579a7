/**
 * Rotation on a real dev server, with intervals of seconds: a schedule triggered now runs the
 * ceremony; both keys verify through the overlap; a promotion pinned before the rotation signs with
 * the old key; the old key retires only once no promotion is pinned to it; a revocation refuses
 * the production signature mid-flight and lists what the key signed; stock cosign verifies with
 * the published pem.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main';
import { startPromotion, waitForPromotion } from '../../src/client/promotions';
import { hasCode } from '../../src/errors';
import { locateTool } from '../../src/stack/tools';
import { ceremonyInput, controlSchedule, keyWorkflowStatus, listRotationSchedules, scheduleRotation, trustConfig } from '../../src/trust/client';
import { readIndex, type TrustKey } from '../../src/trust/index-file';
import { verifyAgainstTrust } from '../../src/trust/verify';
import { ceremonyIdFor } from '../../workflows/key-ceremony-messages';
import { buildFacts, copyDir, startTestEnv, type TestEnv } from '../support/env';
import { join, runCeremony, trustTestConfig, until } from '../trust/support';

const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('key rotation', () => {
  let env: TestEnv;
  let stopWorker: () => Promise<void>;
  let config: ReturnType<typeof trustTestConfig>;
  let publishDir: string;

  before(async () => {
    env = await startTestEnv();
    stopWorker = await env.startWorker();
    config = trustTestConfig(env, {});
    publishDir = trustConfig(config, 'platform').publishDir;
  });
  after(async () => {
    await stopWorker?.();
    await env?.close();
  });

  async function promote(name: string) {
    const dir = await copyDir(HELLO, path.join(env.dir, name));
    await fs.writeFile(path.join(dir, 'VERSION'), `${name}\n`);
    const run = await startPromotion(env.client, { target: config.targets.prod, source: { directory: dir }, build: buildFacts(), initiator: 'ci' });
    await waitForPromotion(env.client, run.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    return run;
  }
  const keyById = async (id: string): Promise<TrustKey> => (await readIndex(publishDir)).keys.find((k) => k.id === id)!;
  const trustVerdict = (digest: string) => verifyAgainstTrust(env.store, 'apps/hello', digest, publishDir);

  async function cli(args: string[]): Promise<{ code: number; out: string }> {
    let out = '';
    const sink = new Writable({ write: (chunk, _enc, cb) => ((out += String(chunk)), cb()) });
    const code = await main(args, { stdout: sink, stderr: new Writable({ write: (_c, _e, cb) => cb() }), env: { ...process.env, COUNTERSIGN_INSECURE_REGISTRIES: env.stack.registry.address } });
    return { code, out };
  }

  it('rotates on a schedule, keeps pinned promotions on their key, retires only when nothing is pinned, and revocation stops signing', async () => {
    // The first key, by hand.
    const first = await runCeremony(env, config);
    assert.equal(first.ceremony.state, 'PUBLISHED', first.ceremony.error);
    const k1 = first.ceremony.key!;

    // A promotion pinned to k1 waits at approval across the rotation.
    const p1 = await promote('p1');

    // The schedule: every 30 s, triggered now, then paused so it fires once.
    const input = { ceremony: await ceremonyInput(config, trustConfig(config, 'platform'), 'erin'), retirePollMs: 300 };
    const scheduleId = await scheduleRotation(env.client, input, 30_000);
    await controlSchedule(env.client, 'platform', 'trigger');
    const schedule = await until(() => listRotationSchedules(env.client), (rows) => (rows.find((r) => r.scheduleId === scheduleId)?.recentRuns.length ?? 0) > 0);
    await controlSchedule(env.client, 'platform', 'pause', 'test: once is enough');
    const rotationId = schedule.find((r) => r.scheduleId === scheduleId)!.recentRuns[0];
    const ceremonyId = ceremonyIdFor(rotationId);
    await until(() => keyWorkflowStatus(env.client, ceremonyId), (s) => s.type === 'ceremony' && s.status.approval.state === 'OPEN');
    await join(env, ceremonyId, 'alice');
    await join(env, ceremonyId, 'carol');
    const rotating = await until(() => keyWorkflowStatus(env.client, rotationId), (s) => s.type === 'rotation' && s.status.state === 'RETIRING');
    const k2 = rotating.type === 'rotation' ? rotating.status.newKey! : undefined!;
    assert.notEqual(k2.fingerprint, k1.fingerprint);
    assert.equal((await keyById(k1.id)).status, 'retiring');
    const listed = await cli(['keys', 'schedules', '--address', env.stack.temporal.address, '--json']);
    assert.equal((JSON.parse(listed.out) as Array<{ scheduleId: string; paused: boolean }>).find((r) => r.scheduleId === scheduleId)?.paused, true);

    // A promotion started now pins k2.
    const p2 = await promote('p2');

    // The overlap (2 s) passes; k1 stays retiring while p1 is pinned to it.
    await new Promise((r) => setTimeout(r, 3000));
    const waiting = await keyWorkflowStatus(env.client, rotationId);
    assert.equal(waiting.type === 'rotation' && waiting.status.retiring.find((r) => r.id === k1.id)?.inFlight, 1);
    assert.equal((await keyById(k1.id)).status, 'retiring');

    // p1 signs with its pinned k1, p2 with k2: both verify against the index during the overlap.
    await env.decideAs(p1.promotionId, 'alice', 'approve');
    await env.decideAs(p2.promotionId, 'alice', 'approve');
    const [d1, d2] = await Promise.all([waitForPromotion(env.client, p1.promotionId), waitForPromotion(env.client, p2.promotionId)]);
    assert.equal(d1.state, 'PROMOTED', d1.error);
    assert.equal(d2.state, 'PROMOTED', d2.error);
    const v1 = await trustVerdict(p1.digest);
    const v2 = await trustVerdict(p2.digest);
    assert.deepEqual([v1.key?.id, v1.verdict.code], [k1.id, 'OK']);
    assert.deepEqual([v2.key?.id, v2.verdict.code], [k2.id, 'OK']);
    assert.ok(v2.signedAt, 'the approval record carries the signing time');

    // Nothing pinned any more: k1 retires; its earlier signature still verifies.
    const done = await until(() => keyWorkflowStatus(env.client, rotationId), (s) => s.type === 'rotation' && s.status.state === 'DONE');
    assert.ok(done.type === 'rotation' && done.status.retiring[0].retiredAt);
    assert.equal((await keyById(k1.id)).status, 'retired');
    assert.equal((await trustVerdict(p1.digest)).verdict.code, 'OK');

    // countersign verify --trust, and stock cosign with the published pem.
    const ok = await cli(['verify', `${env.stack.registry.address}/apps/hello@${p2.digest}`, '--trust', publishDir, '--json']);
    assert.equal(ok.code, 0, ok.out);
    const report = JSON.parse(ok.out) as { cosign: string[]; checks: Array<{ name: string; code: string }> };
    assert.deepEqual(report.checks.map((c) => [c.name, c.code]), [['signature', 'OK'], ['trust', 'OK']]);
    assert.ok(report.cosign[0].includes(path.join(publishDir, k2.file)), report.cosign[0]);
    const cosign = locateTool('cosign');
    if (cosign) {
      const ref = `${env.stack.registry.address}/apps/hello@${p2.digest}`;
      const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(cosign, ['verify', '--key', path.join(publishDir, k2.file), '--insecure-ignore-tlog=true', '--allow-http-registry', ref], { env: { ...process.env, HOME: env.dir }, timeout: 120_000 }, (err, _out, stderr) =>
          resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stderr: String(stderr) }),
        ),
      );
      assert.equal(result.code, 0, result.stderr);
    }

    // Revocation mid-flight: p3 is pinned to k2 and waiting; after the revocation its production signature is refused.
    const p3 = await promote('p3');
    const cliArgs = ['--config', path.join(env.dir, 'countersign-platform.yaml'), '--address', env.stack.temporal.address, '--json'];
    const revokedOut = await cli(['keys', 'revoke', k2.id, '--reason', 'test: key material leaked', ...cliArgs]);
    assert.equal(revokedOut.code, 0, revokedOut.out);
    const revoked = JSON.parse(revokedOut.out) as { key: TrustKey; signed: Array<{ promotionId: string }>; inFlight: Array<{ promotionId: string }> };
    assert.equal((await keyById(k2.id)).status, 'revoked');
    assert.deepEqual(revoked.signed.map((p) => p.promotionId), [p2.promotionId]);
    assert.deepEqual(revoked.inFlight.map((p) => p.promotionId), [p3.promotionId]);
    await env.decideAs(p3.promotionId, 'alice', 'approve');
    const d3 = await waitForPromotion(env.client, p3.promotionId);
    assert.equal(d3.state, 'FAILED');
    assert.match(d3.error ?? '', /KEY_REVOKED/);
    assert.equal(d3.timeline.find((t) => t.step === 'prod-sign')?.status, 'failed');

    assert.equal((await trustVerdict(p2.digest)).verdict.code, 'KEY_REVOKED');
    const refused = await cli(['verify', `${env.stack.registry.address}/apps/hello@${p2.digest}`, '--trust', publishDir]);
    assert.equal(refused.code, 4);
    assert.match(refused.out, /KEY_REVOKED/);

    // No active key is left: a new promotion refuses to start until the next ceremony.
    await assert.rejects(promote('p4'), (e) => hasCode(e, 'TRUST_NO_ACTIVE_KEY'));
  });
});
