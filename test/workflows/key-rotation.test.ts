/**
 * Rotation on a real dev server, with intervals of seconds: a schedule triggered now runs the
 * ceremony; both keys verify through the overlap; a promotion pinned before the rotation signs with
 * the old key; the old key retires only once no promotion is pinned to it; a revocation refuses
 * the production signature mid-flight and lists what the key signed; stock cosign verifies with
 * the published pem. Then, each with its own trust store: verify --trust against an index whose
 * window excludes the signing time; what keys revoke lists (a release failure after prod-sign
 * included) and its cap; the rotation schedule driven through the CLI.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main';
import { waitForPromotion } from '../../src/client/promotions';
import { CountersignError, hasCode, type ErrorCode } from '../../src/errors';
import { requireTool } from '../../src/stack/tools';
import { signCeremonyRequest, controlSchedule, keyWorkflowStatus, listRotationSchedules, rotationScheduleId, scheduleRotation, trustConfig } from '../../src/client/trust';
import { readIndex, type TrustKey } from '../../src/trust/index-file';
import { verifyAgainstTrust } from '../../src/trust/verify';
import { ceremonyIdFor } from '../../workflows/key-ceremony-messages';
import { buildFacts, copyDir, startTestEnv, TEST_PASSWORD, type TestEnv } from '../support/env';
import { join, requestSigner, runCeremony, trustTestConfig, until } from '../trust/support';
import { runCosign } from '../vectors/cosign-bundle/produce';

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

  async function promote(name: string, cfg = config) {
    const dir = await copyDir(HELLO, path.join(env.dir, name));
    await fs.writeFile(path.join(dir, 'VERSION'), `${name}\n`);
    // The worker's configuration gets this trust store's target (one per store, so runs of different stores never share an id).
    const target = `rot-${Object.keys(cfg.trust)[0]}`;
    env.config.targets[target] = { ...cfg.targets.prod, name: target, sources: [env.dir] };
    const run = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
    const status = await waitForPromotion(env.client, run.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    if (status.state === 'REFUSED') throw new CountersignError(status.error!.split(':')[0] as ErrorCode, status.error!);
    return run;
  }
  const keyById = async (id: string): Promise<TrustKey> => (await readIndex(publishDir)).keys.find((k) => k.id === id)!;
  const trustVerdict = (digest: string) => verifyAgainstTrust(env.store, 'apps/hello', digest, publishDir);

  async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const sink = new Writable({ write: (chunk, _enc, cb) => ((out += String(chunk)), cb()) });
    const errSink = new Writable({ write: (chunk, _enc, cb) => ((err += String(chunk)), cb()) });
    const code = await main(args, { stdout: sink, stderr: errSink, env: { ...process.env, COUNTERSIGN_INSECURE_REGISTRIES: env.stack.registry.address, COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD } });
    return { code, out, err };
  }
  /** --config and --address for the CLI, for a trust store made by trustTestConfig(env, …, name). */
  const cliConfig = (name: string) => ['--config', path.join(env.dir, `countersign-${name}.yaml`), '--address', env.stack.temporal.address];
  /** A governance member's own key, as `keys revoke` signs its request with it. */
  const asErin = () => ['--as', 'erin', '--key', path.join(env.keysDir, 'erin.key')];

  it('rotates on a schedule, keeps pinned promotions on their key, retires only when nothing is pinned, and revocation stops signing', async () => {
    // The first key, by hand.
    const first = await runCeremony(env, config);
    assert.equal(first.ceremony.state, 'PUBLISHED', first.ceremony.error);
    const k1 = first.ceremony.key!;

    // A promotion pinned to k1 waits at approval across the rotation.
    const p1 = await promote('p1');

    // The schedule: every 3 s, left to fire by itself, then paused so it fires once (a run still
    // going when the next is due is skipped, the schedule's default overlap policy).
    const { request } = await signCeremonyRequest(config, trustConfig(config, 'platform'), 'erin', { signer: await requestSigner(env, 'erin'), scope: `schedule:${rotationScheduleId('platform')}` });
    const input = { trust: 'platform', request, retirePollMs: 300 };
    const scheduleId = await scheduleRotation(env.client, input, 3_000);
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

    // The overlap (2 s) passes; the rotation finds p1 pinned to k1, so k1 stays retiring.
    const waiting = await until(() => keyWorkflowStatus(env.client, rotationId), (s) => s.type === 'rotation' && s.status.retiring.find((r) => r.id === k1.id)?.inFlight === 1);
    assert.ok(waiting.type === 'rotation' && waiting.status.state === 'RETIRING');
    assert.ok(waiting.type === 'rotation' && Date.parse(waiting.status.retiring.find((r) => r.id === k1.id)!.retireAfter!) <= Date.now(), 'the overlap is over');
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
    // This store does not sign its index: reading it takes --unsigned-index, said out loud.
    const ok = await cli(['verify', `${env.stack.registry.address}/apps/hello@${p2.digest}`, '--trust', publishDir, '--unsigned-index', '--json']);
    assert.equal(ok.code, 0, ok.out);
    const report = JSON.parse(ok.out) as { cosign: string[]; checks: Array<{ name: string; code: string }> };
    assert.deepEqual(report.checks.map((c) => [c.name, c.code]), [['signature', 'OK'], ['index', 'OK'], ['trust', 'OK']]);
    assert.ok(report.cosign[0].includes(path.join(publishDir, k2.file)), report.cosign[0]);
    // npm test installs cosign first: a missing one fails here with TOOL_MISSING instead of passing unchecked.
    const cosign = requireTool('cosign');
    const stock = await runCosign(cosign, ['verify', '--key', path.join(publishDir, k2.file), '--insecure-ignore-tlog=true', '--allow-http-registry', `${env.stack.registry.address}/apps/hello@${p2.digest}`], env.dir);
    assert.equal(stock.code, 0, stock.stderr);

    // Revocation mid-flight: p3 is pinned to k2 and waiting; after the revocation its production signature is refused.
    const p3 = await promote('p3');
    const cliArgs = [...cliConfig('platform'), '--json'];
    const revokedOut = await cli(['keys', 'revoke', k2.id, '--trust', 'platform', ...asErin(), '--reason', 'test: key material leaked', ...cliArgs]);
    assert.equal(revokedOut.code, 0, revokedOut.out);
    const revoked = JSON.parse(revokedOut.out) as { state: string; key: TrustKey; signers: string[]; signed: Array<{ promotionId: string }>; inFlight: Array<{ promotionId: string }> };
    assert.equal(revoked.state, 'REVOKED');
    assert.equal((await keyById(k2.id)).status, 'revoked');
    assert.deepEqual((await keyById(k2.id)).revocation?.signers, ['erin'], 'the index names who revoked it');
    assert.deepEqual(revoked.signed.map((p) => p.promotionId), [p2.promotionId]);
    assert.deepEqual(revoked.inFlight.map((p) => p.promotionId), [p3.promotionId]);
    await env.decideAs(p3.promotionId, 'alice', 'approve');
    const d3 = await waitForPromotion(env.client, p3.promotionId);
    assert.equal(d3.state, 'FAILED');
    assert.match(d3.error ?? '', /KEY_REVOKED/);
    assert.equal(d3.timeline.find((t) => t.step === 'prod-sign')?.status, 'failed');

    assert.equal((await trustVerdict(p2.digest)).verdict.code, 'KEY_REVOKED');
    const refused = await cli(['verify', `${env.stack.registry.address}/apps/hello@${p2.digest}`, '--trust', publishDir, '--unsigned-index']);
    assert.equal(refused.code, 14, 'a revoked key has its own exit code');
    assert.match(refused.out, /KEY_REVOKED/);
    assert.doesNotMatch(refused.out, /cosign verify /, 'no stock command that would pass for a revoked key');

    // No active key is left: a new promotion refuses to start until the next ceremony.
    await assert.rejects(promote('p4'), (e) => hasCode(e, 'TRUST_NO_ACTIVE_KEY'));
  });

  it('verify --trust judges the signing time against the index window: outside it KEY_NOT_VALID_AT_SIGNING_TIME; a retired key still vouches for what it signed while valid', async () => {
    const cfg = trustTestConfig(env, {}, 'window');
    const made = await runCeremony(env, cfg, 'window');
    assert.equal(made.ceremony.state, 'PUBLISHED', made.ceremony.error);
    const key = made.ceremony.key!;
    const run = await promote('window-a', cfg);
    await env.decideAs(run.promotionId, 'alice', 'approve');
    const done = await waitForPromotion(env.client, run.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    const published = trustConfig(cfg, 'window').publishDir;
    // The signing time is the approval record's signedAt, which the platform key signed.
    const { signedAt } = await verifyAgainstTrust(env.store, 'apps/hello', run.digest, published);
    assert.ok(signedAt, 'the approval record carries the signing time');
    const t = Date.parse(signedAt);
    const prodSign = done.timeline.find((e) => e.step === 'prod-sign')!;
    assert.ok(Date.parse(prodSign.startedAt) <= t && t <= Date.parse(prodSign.finishedAt!), `${signedAt} is within the prod-sign step`);

    // A customer's copy of the CDN directory, with the index edited as a later state would have it.
    const cdn = path.join(env.dir, 'window-cdn');
    await fs.cp(published, cdn, { recursive: true });
    const withKey = async (change: Partial<TrustKey>) => {
      const index = JSON.parse(await fs.readFile(path.join(published, 'index.json'), 'utf8')) as { keys: TrustKey[] };
      index.keys = index.keys.map((k) => (k.id === key.id ? { ...k, ...change } : k));
      await fs.writeFile(path.join(cdn, 'index.json'), JSON.stringify(index));
    };
    const verify = async () => {
      const r = await cli(['verify', `${env.stack.registry.address}/apps/hello@${run.digest}`, '--trust', cdn, '--unsigned-index', '--json']);
      const report = JSON.parse(r.out) as { ok: boolean; checks: Array<{ name: string; ok: boolean; code: string; message: string }> };
      return { code: r.code, ok: report.ok, signature: report.checks.find((c) => c.name === 'signature')!, trust: report.checks.find((c) => c.name === 'trust')! };
    };
    const iso = (ms: number) => new Date(ms).toISOString();

    const asPublished = await verify();
    assert.deepEqual([asPublished.code, asPublished.ok, asPublished.trust.code], [0, true, 'OK'], asPublished.trust.message);

    // Published after it signed: the signature predates the key's window.
    await withKey({ validFrom: iso(t + 1000) });
    const early = await verify();
    assert.deepEqual([early.code, early.ok, early.signature.code, early.trust.code], [4, false, 'OK', 'KEY_NOT_VALID_AT_SIGNING_TIME']);
    assert.match(early.trust.message, new RegExp(`signed at ${signedAt}, outside key ${key.id}'s validity ${iso(t + 1000)} \\.\\. now`));

    // Retired after it signed: what it signed while valid still verifies.
    await withKey({ status: 'retired', validUntil: iso(t + 1000), statusChangedAt: iso(t + 1000), reason: 'superseded' });
    const retired = await verify();
    assert.deepEqual([retired.code, retired.ok, retired.trust.code], [0, true, 'OK'], retired.trust.message);
    assert.match(retired.trust.message, new RegExp(`key ${key.id} \\(retired\\) was valid at ${signedAt}`));

    // Retired before the signing time: refused.
    await withKey({ status: 'retired', validUntil: iso(t - 1), statusChangedAt: iso(t - 1), reason: 'superseded' });
    const late = await verify();
    assert.deepEqual([late.code, late.ok, late.trust.code], [4, false, 'KEY_NOT_VALID_AT_SIGNING_TIME']);
    assert.match(late.trust.message, new RegExp(`signed at ${signedAt}, outside key ${key.id}'s validity .* \\.\\. ${iso(t - 1)}`));
    const text = await cli(['verify', `${env.stack.registry.address}/apps/hello@${run.digest}`, '--trust', cdn, '--unsigned-index']);
    assert.equal(text.code, 4);
    assert.match(text.out, /\[NO\] trust: KEY_NOT_VALID_AT_SIGNING_TIME /);
  });

  it('keys revoke lists every promotion the key signed, a release failure included, not one refused before signing; says when the list is capped; needs a reason', async () => {
    const cfg = trustTestConfig(env, {}, 'revoke');
    const made = await runCeremony(env, cfg, 'revoke');
    assert.equal(made.ceremony.state, 'PUBLISHED', made.ceremony.error);
    const key = made.ceremony.key!;
    const published = trustConfig(cfg, 'revoke').publishDir;

    const a = await promote('revoke-a', cfg);
    await env.decideAs(a.promotionId, 'alice', 'approve');
    assert.equal((await waitForPromotion(env.client, a.promotionId)).state, 'PROMOTED');

    // b gets its production signature, then fails at release: the image manifest is deleted from
    // the registry while b waits for approval, and the signature lives under its own tag.
    const b = await promote('revoke-b', cfg);
    const deleted = await fetch(`http://${env.stack.registry.address}/v2/apps/hello/manifests/${b.digest}`, { method: 'DELETE' });
    assert.equal(deleted.status, 202, await deleted.text());
    await env.decideAs(b.promotionId, 'alice', 'approve');
    const failedB = await waitForPromotion(env.client, b.promotionId);
    assert.equal(failedB.state, 'FAILED');
    assert.deepEqual(failedB.timeline.filter((e) => e.step === 'prod-sign' || e.step === 'release').map((e) => [e.step, e.status]), [['prod-sign', 'succeeded'], ['release', 'failed']]);
    assert.match(failedB.error ?? '', /MANIFEST_UNKNOWN/);

    const c = await promote('revoke-c', cfg);

    // No reason, or a blank one: refused, and the key stays as it was.
    const noReason = await cli(['keys', 'revoke', key.id, ...asErin(), ...cliConfig('revoke')]);
    assert.equal(noReason.code, 2, noReason.err);
    assert.match(noReason.err, /BAD_INPUT: --reason is required: say why the key is revoked/);
    const blank = await cli(['keys', 'revoke', key.id, ...asErin(), '--reason', '   ', ...cliConfig('revoke')]);
    assert.equal(blank.code, 2, blank.err);
    assert.match(blank.err, /--reason is required/);
    assert.equal((await readIndex(published)).keys.find((k) => k.id === key.id)?.status, 'active');

    const revokeJson = async (...extra: string[]) => {
      const r = await cli(['keys', 'revoke', key.id, ...asErin(), '--reason', 'test: leaked', ...cliConfig('revoke'), '--json', ...extra]);
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out) as { signed: Array<{ promotionId: string; state: string; signature: string }>; inFlight: Array<{ promotionId: string }>; limit: number; capped: { signed: boolean; inFlight: boolean } };
    };
    const bySignedId = (x: { promotionId: string }, y: { promotionId: string }) => x.promotionId.localeCompare(y.promotionId);
    const first = await revokeJson();
    assert.equal((await readIndex(published)).keys.find((k) => k.id === key.id)?.status, 'revoked');
    assert.deepEqual(
      first.signed.sort(bySignedId).map((p) => [p.promotionId, p.state, p.signature]),
      [[a.promotionId, 'PROMOTED', 'written'], [b.promotionId, 'FAILED', 'written']].sort((x, y) => x[0].localeCompare(y[0])),
    );
    assert.deepEqual(first.inFlight.map((p) => p.promotionId), [c.promotionId]);
    assert.deepEqual([first.limit, first.capped], [1000, { signed: false, inFlight: false }]);

    // A cap of 1: two signed promotions do not fit and the output says so; one in flight does.
    const capped = await cli(['keys', 'revoke', key.id, ...asErin(), '--reason', 'test: leaked', ...cliConfig('revoke'), '--limit', '1']);
    assert.equal(capped.code, 0, capped.err);
    assert.match(capped.out, new RegExp(`signed with it \\(re-sign or quarantine\\): 1 \\(the first 1; more exist: --limit, or temporal workflow list --query "CountersignPlatformKey='${key.fingerprint}'"\\)\n`));
    assert.match(capped.out, /in flight, their production signature will be refused: 1\n/);
    assert.deepEqual((await revokeJson('--limit', '1')).capped, { signed: true, inFlight: false });
    const badLimit = await cli(['keys', 'revoke', key.id, ...asErin(), '--reason', 'x', ...cliConfig('revoke'), '--limit', '0']);
    assert.equal(badLimit.code, 2);
    assert.match(badLimit.err, /--limit must be a whole number from 1 to 10000/);

    // c is refused before anything is written: it never shows up as signed.
    await env.decideAs(c.promotionId, 'alice', 'approve');
    const failedC = await waitForPromotion(env.client, c.promotionId);
    assert.match(failedC.error ?? '', /KEY_REVOKED/);
    const again = await revokeJson();
    assert.deepEqual(again.signed.map((p) => p.promotionId).sort(), [a.promotionId, b.promotionId].sort());
    assert.deepEqual(again.inFlight, []);
  });

  it('keys schedule-rotation, schedules --pause / --unpause / --trigger through the CLI, each reflected in the listing', async () => {
    trustTestConfig(env, {}, 'sched');
    const conf = cliConfig('sched');
    type Row = { scheduleId: string; every: string; everyMs: number; paused: boolean; note?: string; recentRuns: string[]; nextRuns: string[] };
    const row = async (): Promise<Row | undefined> => {
      const listed = await cli(['keys', 'schedules', ...conf, '--json']);
      assert.equal(listed.code, 0, listed.err);
      return (JSON.parse(listed.out) as Row[]).find((r) => r.scheduleId === 'key-rotation-sched');
    };
    assert.equal(await row(), undefined);

    const noEvery = await cli(['keys', 'schedule-rotation', '--trust', 'sched', '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), ...conf]);
    assert.equal(noEvery.code, 2);
    assert.match(noEvery.err, /--every is required/);
    const notGovernance = await cli(['keys', 'schedule-rotation', '--trust', 'sched', '--every', '90d', '--as', 'bob', '--key', path.join(env.keysDir, 'bob.key'), ...conf]);
    assert.equal(notGovernance.code, 2);
    assert.match(notGovernance.err, /bob is not in trust\.sched\.governance/);

    // 90 days: the interval never comes round during the test, so only the trigger runs it.
    const before = Date.now();
    const created = await cli(['keys', 'schedule-rotation', '--trust', 'sched', '--every', '90d', '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), '--retire-poll', '1s', ...conf, '--json']);
    const after = Date.now();
    assert.equal(created.code, 0, created.err);
    const createdJson = JSON.parse(created.out) as { scheduleId: string; everyMs: number; every: string; firstRunAt: string; planDigest: string };
    assert.deepEqual([createdJson.scheduleId, createdJson.everyMs, createdJson.every], ['key-rotation-sched', 90 * 86_400_000, '90d']);
    assert.match(createdJson.planDigest, /^sha256:[0-9a-f]{64}$/);
    const fresh = await row();
    assert.deepEqual([fresh?.every, fresh?.everyMs, fresh?.paused, fresh?.recentRuns], ['90d', 90 * 86_400_000, false, []]);
    // The first run is 90 days after the schedule was made (to the second), not where the epoch's 90-day grid falls.
    const next = Date.parse(fresh!.nextRuns[0]);
    assert.equal(fresh!.nextRuns[0], createdJson.firstRunAt);
    assert.ok(next >= before + 90 * 86_400_000 - 1000 && next <= after + 90 * 86_400_000 + 1000, `next run ${fresh!.nextRuns[0]} is 90 days out`);
    assert.equal(Date.parse(fresh!.nextRuns[1]) - next, 90 * 86_400_000, 'and every 90 days after it');

    // Run again: the same schedule, updated.
    const updated = await cli(['keys', 'schedule-rotation', '--trust', 'sched', '--every', '30d', '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), ...conf]);
    assert.equal(updated.code, 0, updated.err);
    assert.match(updated.out, /schedule key-rotation-sched: a key rotation every 30d, first \d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? UTC \(in 30d\)\n/);
    assert.equal((await row())?.every, '30d');

    const paused = await cli(['keys', 'schedules', '--pause', 'sched', '--note', 'freeze', ...conf]);
    assert.equal(paused.code, 0, paused.err);
    assert.match(paused.out, /pause: key-rotation-sched/);
    assert.deepEqual([(await row())?.paused, (await row())?.note], [true, 'freeze']);
    const text = await cli(['keys', 'schedules', ...conf]);
    assert.match(text.out, /key-rotation-sched +every 30d +PAUSED +next \(paused\)/);

    const unpaused = await cli(['keys', 'schedules', '--unpause', 'key-rotation-sched', '--note', 'thaw', ...conf, '--json']);
    assert.equal(unpaused.code, 0, unpaused.err);
    assert.deepEqual(JSON.parse(unpaused.out), { scheduleId: 'key-rotation-sched', action: 'unpause' });
    assert.deepEqual([(await row())?.paused, (await row())?.note], [false, 'thaw']);

    const unknown = await cli(['keys', 'schedules', '--pause', 'nope', ...conf]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /no rotation schedule key-rotation-nope/);
    const two = await cli(['keys', 'schedules', '--pause', 'sched', '--trigger', 'sched', ...conf]);
    assert.equal(two.code, 2);
    assert.match(two.err, /give one of --pause, --unpause, --trigger/);

    // Trigger: a rotation runs now, the command names its ceremony, which publishes a key once custodians join.
    const triggered = await cli(['keys', 'schedules', '--trigger', 'sched', ...conf]);
    assert.equal(triggered.code, 0, triggered.err);
    const ran = await row();
    assert.equal(ran?.recentRuns.length, 1);
    const rotationId = ran!.recentRuns[0];
    assert.match(rotationId, /^key-rotation-sched-/);
    const ceremonyId = ceremonyIdFor(rotationId);
    // It answered once the worker had checked the schedule's request: the gate is open when it returns.
    assert.equal(
      triggered.out,
      `trigger: key-rotation-sched\nrotation ${rotationId}\nceremony ${ceremonyId}: AWAITING_CUSTODIANS, waiting for 2 of alice, bob, carol\ncustodians join with: countersign approve ${ceremonyId} --as NAME --key FILE\nfollow it with: countersign keys status ${ceremonyId}\n`,
    );
    const opened = await keyWorkflowStatus(env.client, ceremonyId);
    assert.ok(opened.type === 'ceremony' && opened.status.approval.state === 'OPEN');
    await join(env, ceremonyId, 'bob');
    await join(env, ceremonyId, 'carol');
    const rotated = await until(() => keyWorkflowStatus(env.client, rotationId), (st) => st.type === 'rotation' && st.status.state === 'DONE');
    const newKey = rotated.type === 'rotation' ? rotated.status.newKey : undefined;
    assert.equal((await readIndex(trustConfig(trustTestConfig(env, {}, 'sched'), 'sched').publishDir)).keys.find((k) => k.id === newKey?.id)?.status, 'active');
    const last = await cli(['keys', 'schedules', ...conf]);
    assert.match(last.out, new RegExp(`key-rotation-sched +every 30d +active +next \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}(:\\d{2})? UTC \\(in (29|30)d\\) +last ${rotationId}`));

    // A schedule signed over a plan the worker's configuration does not give (the caller's copy names other custodians): each run is refused, and --trigger says so.
    trustTestConfig(env, {}, 'sched-copy');
    const edited = path.join(env.dir, 'countersign-sched-edited.yaml');
    await fs.writeFile(edited, (await fs.readFile(path.join(env.dir, 'countersign-sched-copy.yaml'), 'utf8')).replace(/- carol$/m, '- dave'));
    const editedConf = ['--config', edited, '--address', env.stack.temporal.address];
    const signedOver = await cli(['keys', 'schedule-rotation', '--trust', 'sched-copy', '--every', '90d', '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), ...editedConf]);
    assert.equal(signedOver.code, 0, signedOver.err);
    const refused = await cli(['keys', 'schedules', '--trigger', 'sched-copy', ...editedConf, '--json']);
    assert.equal(refused.code, 7, refused.err);
    const answer = JSON.parse(refused.out) as { scheduleId: string; action: string; rotationId: string; ceremonyId: string; state: string; error: string };
    assert.deepEqual([answer.scheduleId, answer.action, answer.state], ['key-rotation-sched-copy', 'trigger', 'REFUSED']);
    assert.match(answer.error, /^REQUEST_INVALID: the request is for plan sha256:[0-9a-f]{64}, but the worker's configuration of trust store sched-copy gives plan /);
    assert.equal(answer.ceremonyId, ceremonyIdFor(answer.rotationId));
    assert.deepEqual((await readIndex(trustConfig(env.config, 'sched-copy').publishDir)).keys, [], 'no key made');
  });
});
