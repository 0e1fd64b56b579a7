/**
 * Governance as a team runs it, on a real dev server: what a replayed rotation says and what
 * `keys status` exits with; custodians told at a real webhook receiver; schedules a person reads.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { keyWorkflowStatus, rotationScheduleId, signCeremonyRequest, startRotation, trustConfig } from '../../src/client/trust';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { parseKmsRef } from '../../src/keys/kms-ref';
import { readIndex } from '../../src/trust/index-file';
import { TrustStore } from '../../src/trust/store';
import type { Notification } from '../../src/notify/webhook';
import { runCli } from '../support/cli';
import { TEST_PASSWORD, useTestEnv } from '../support/env';
import { startMoto } from '../support/moto';
import { startWebhookReceiver } from '../support/webhook-receiver';
import { join, requestSigner, rotationStartTime, runCeremony, startCeremony, trustTestConfig, until } from '../trust/support';

describe('key governance', () => {
  const env = useTestEnv();
  const cliEnv = (config: string) => ({ TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_CONFIG: path.join(env.dir, `countersign-${config}.yaml`), COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD });

  it('a rotation replayed under the id of one that published a key makes nothing, and says so instead of "published"', async () => {
    const config = trustTestConfig(env, {}, 'replay');
    // A schedule's request is not spent by a run: whoever holds it can start a rotation under an id used before.
    const { request } = await signCeremonyRequest(config, trustConfig(config, 'replay'), 'erin', { signer: await requestSigner(env, 'erin'), scope: `schedule:${rotationScheduleId('replay')}` });
    const at = rotationStartTime();
    const { rotationId, ceremonyId } = await startRotation(env.client, { trust: 'replay', request, retirePollMs: 300 }, at);
    await until(() => keyWorkflowStatus(env.client, ceremonyId), (s) => s.type === 'ceremony' && s.status.approval.state === 'OPEN');
    await join(env, ceremonyId, 'bob');
    await join(env, ceremonyId, 'carol');
    const first = await until(() => keyWorkflowStatus(env.client, rotationId), (s) => s.type === 'rotation' && s.status.state === 'DONE', 60_000);
    const key = first.type === 'rotation' ? first.status.newKey! : undefined!;
    const entry = (await readIndex(trustConfig(config, 'replay').publishDir)).keys.find((k) => k.id === key.id)!;
    assert.deepEqual([entry.issuance?.requester, entry.issuance?.custodians, entry.issuance?.workflowId], ['erin', ['bob', 'carol'], ceremonyId], 'the index names who asked and who joined');

    const shown = await runCli(['keys', 'status', rotationId], cliEnv('replay'));
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^${rotationId}  DONE  ceremony ${ceremonyId}, new key ${key.id}\n`));

    // The same rotation id again: refused before any custodian is asked, nothing made.
    await startRotation(env.client, { trust: 'replay', request, retirePollMs: 300 }, at);
    const replayed = await until(() => keyWorkflowStatus(env.client, rotationId), (s) => s.type === 'rotation' && s.status.state !== 'CEREMONY');
    assert.equal(replayed.status.state, 'REFUSED');
    const text = await runCli(['keys', 'status', rotationId], cliEnv('replay'));
    assert.equal(text.code, 7, 'a refused rotation exits 7, as the README table says');
    assert.match(text.stdout, new RegExp(`^${rotationId}  REFUSED  ceremony ${ceremonyId}, no key made\n`));
    assert.match(text.stdout, new RegExp(`error: REQUEST_REPLAYED: ${ceremonyId} already published key ${key.id} at .* \\(active now\\): a ceremony makes one key, nothing was made`));
    assert.doesNotMatch(text.stdout, /new key|published:/);
    const ceremony = await runCli(['keys', 'status', ceremonyId], cliEnv('replay'));
    assert.equal(ceremony.code, 7);
    assert.doesNotMatch(ceremony.stdout, /published:/);
    assert.equal((await readIndex(trustConfig(config, 'replay').publishDir)).keys.length, 1);
  });

  it('keys history lists the ceremony, the rotation and the revocation with who asked, who joined, when and the result; list --kind ceremony and status <ceremony-id> work', async () => {
    const config = trustTestConfig(env, {}, 'audit');
    const { rotationId, ceremonyId, ceremony } = await runCeremony(env, config, 'audit');
    assert.equal(ceremony.state, 'PUBLISHED', ceremony.error);
    const key = ceremony.key!;
    await until(() => keyWorkflowStatus(env.client, rotationId), (s) => s.type === 'rotation' && s.status.state === 'DONE');
    const revoked = await runCli(['keys', 'revoke', key.id, '--trust', 'audit', '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), '--reason', 'test: audit drill'], cliEnv('audit'));
    assert.equal(revoked.code, 0, revoked.stderr);
    const revocationId = `key-revocation-audit-${key.id}`;

    type Entry = { kind: string; id: string; state: string; requestedBy?: string; joined: Array<{ who: string }>; result: string; startedAt?: string; closedAt?: string; source: string };
    const history = async () => JSON.parse((await runCli(['keys', 'history', '--trust', 'audit', '--json'], cliEnv('audit'))).stdout) as Entry[];
    // Visibility lists a closed run a moment after it closes.
    const entries = await until(history, (e) => e.length === 3 && e.every((x) => x.closedAt));
    assert.deepEqual(
      entries.map((e) => [e.kind, e.id, e.state, e.requestedBy, e.joined.map((j) => j.who), e.source]),
      [
        ['revocation', revocationId, 'REVOKED', 'erin', [], 'temporal'],
        ['rotation', rotationId, 'DONE', 'erin', ['bob', 'carol'], 'temporal'],
        ['ceremony', ceremonyId, 'PUBLISHED', 'erin', ['bob', 'carol'], 'temporal'],
      ],
    );
    assert.equal(entries[0].result, `revoked ${key.id}: test: audit drill (signed by erin)`);
    assert.equal(entries[2].result, `published ${key.id} (${key.file})`);
    assert.ok(entries.every((e) => e.startedAt && Date.parse(e.closedAt!) >= Date.parse(e.startedAt)));

    const text = await runCli(['keys', 'history', '--trust', 'audit'], cliEnv('audit'));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}(:\\d{2})? UTC  revocation +REVOKED +${revocationId}\n    requested by erin\n    revoked ${key.id}: test: audit drill \\(signed by erin\\)\n`));
    assert.match(text.stdout, new RegExp(`ceremony +PUBLISHED +${ceremonyId}\n    requested by erin; joined by bob, carol\n    published ${key.id}`));
    const onlyRevocations = JSON.parse((await runCli(['keys', 'history', '--trust', 'audit', '--kind', 'revocation', '--json'], cliEnv('audit'))).stdout) as Entry[];
    assert.deepEqual(onlyRevocations.map((e) => e.id), [revocationId]);

    const listed = await runCli(['list', '--kind', 'ceremony', '--target', 'audit', '--json'], cliEnv('audit'));
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as Entry[]).map((e) => [e.id, e.state, e.requestedBy]), [[ceremonyId, 'PUBLISHED', 'erin']]);
    const listedText = await runCli(['list', '--kind', 'ceremony', '--target', 'audit'], cliEnv('audit'));
    assert.match(listedText.stdout, new RegExp(`^${ceremonyId} +PUBLISHED +audit +\\S+  by erin\n$`));
    const status = await runCli(['status', ceremonyId], cliEnv('audit'));
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^${ceremonyId}  PUBLISHED  \\(cosign for trust audit, requested by erin\\)\ncustodians: approved by bob, carol\n`));
    const revocationStatus = await runCli(['status', revocationId], cliEnv('audit'));
    assert.equal(revocationStatus.code, 0, revocationStatus.stderr);
    assert.match(revocationStatus.stdout, /REVOKED/);
    assert.equal((await runCli(['status', 'key-ceremony-audit-1999-01-01T00:00:00Z'], cliEnv('audit'))).code, 3);
  });

  it('a revocation of a KMS key disables it in KMS when the store says revocation.disableKmsKey (moto), and says so', async () => {
    const moto = await startMoto();
    try {
      Object.assign(env.workerEnv, moto.env);
      const config = trustTestConfig(env, { kms: { endpoint: moto.address, aliasPrefix: 'countersign-disable' }, revocation: { disableKmsKey: true } }, 'disable');
      const { ceremony } = await runCeremony(env, config, 'disable');
      assert.equal(ceremony.state, 'PUBLISHED', ceremony.error);
      const key = ceremony.key!;
      const ref = (await new TrustStore(trustConfig(config, 'disable')).privateRef(key.id)).ref;
      const keyState = async () => (await moto.client.send(new DescribeKeyCommand({ KeyId: parseKmsRef(ref).keyId }))).KeyMetadata?.KeyState;
      assert.equal(await keyState(), 'Enabled');
      const revoked = await runCli(['keys', 'revoke', key.id, '--trust', 'disable', '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), '--reason', 'test: KMS key leaked'], cliEnv('disable'));
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, new RegExp(`disabled in KMS: ${ref.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
      assert.equal(await keyState(), 'Disabled');
    } finally {
      await moto.close();
    }
  });

  it('custodians hear about a ceremony at its webhook: when it opens, reminders, the escalation, each with the ceremony id and the command to join', async () => {
    const hook = await startWebhookReceiver<Notification>({ path: 'ceremonies' });
    const { received } = hook;
    try {
      const webhook = hook.url;
      const config = trustTestConfig(env, { custodians: { members: ['alice', 'bob', 'carol'], required: 2, deadline: '1h', webhook, reminderEvery: '1m', escalateAfter: 2, escalation: { name: 'governance', members: ['dave'] } } }, 'told');
      // The configuration's floor is a minute between reminders; the test shortens it on the parsed configuration the worker holds.
      config.trust.told.custodians.reminderEveryMs = 1000;
      env.config.trust.told.custodians.reminderEveryMs = 1000;
      const { ceremonyId } = await startCeremony(env, config, 'told', 'erin');
      await until(async () => received.length, (n) => n >= 4);
      const join_ = `countersign approve ${ceremonyId} --as NAME --key FILE`;
      assert.deepEqual(
        received.slice(0, 4).map((n) => [n.kind, n.subject, n.about, n.to, n.command]),
        [
          ['requested', ceremonyId, 'key ceremony', ['alice', 'bob', 'carol'], join_],
          ['reminder', ceremonyId, 'key ceremony', ['alice', 'bob', 'carol'], join_],
          ['reminder', ceremonyId, 'key ceremony', ['alice', 'bob', 'carol'], join_],
          ['escalation', ceremonyId, 'key ceremony', ['dave'], join_],
        ],
      );
      assert.match(received[0].summary, /waiting for 2 more of custodians/);
      assert.ok(received[0].deadline && Date.parse(received[0].deadline) > Date.now());

      // Whoever joins drops out of the next reminder; the end is announced without a command.
      await join(env, ceremonyId, 'bob');
      const afterBob = await until(async () => received.filter((n) => n.kind === 'reminder' && !n.to.includes('bob')), (r) => r.length > 0);
      assert.deepEqual(afterBob[0].to, ['alice', 'carol']);
      await join(env, ceremonyId, 'carol');
      const approved = await until(async () => received.find((n) => n.kind === 'approved'), (n) => n !== undefined);
      assert.equal(approved?.command, undefined);
      assert.equal(approved?.subject, ceremonyId);
    } finally {
      await hook.close();
    }
  });

  it('keys schedule-rotation --start puts the first run there and the next ones every interval after it; a past start is refused', async () => {
    trustTestConfig(env, {}, 'started');
    const args = ['keys', 'schedule-rotation', '--trust', 'started', '--every', '90d', '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key')];
    const past = await runCli([...args, '--start', '2020-01-01T00:00:00Z'], cliEnv('started'));
    assert.equal(past.code, 2);
    assert.match(past.stderr, /BAD_INPUT: --start 2020-01-01T00:00:00.000Z is not in the future/);
    const noZone = await runCli([...args, '--start', '2099-01-01T09:00'], cliEnv('started'));
    assert.equal(noZone.code, 2);
    assert.match(noZone.stderr, /a zone is required/);

    const start = new Date(Math.ceil((Date.now() + 3 * 86_400_000) / 60_000) * 60_000);
    const made = await runCli([...args, '--start', start.toISOString()], cliEnv('started'));
    assert.equal(made.code, 0, made.stderr);
    const day = start.toISOString().slice(0, 10);
    const hm = start.toISOString().slice(11, 16);
    assert.match(made.stdout, new RegExp(`^schedule key-rotation-started: a key rotation every 90d, first ${day} ${hm} UTC \\(in (2|3)d\\)\n`));
    // Visibility lists a new schedule a moment after it is made.
    const listed = async () => JSON.parse((await runCli(['keys', 'schedules', '--json'], cliEnv('started'))).stdout) as Array<{ scheduleId: string; nextRuns: string[] }>;
    const row = (await until(listed, (rows) => rows.some((r) => r.scheduleId === 'key-rotation-started'))).find((r) => r.scheduleId === 'key-rotation-started')!;
    assert.deepEqual(row.nextRuns.slice(0, 2), [start.toISOString(), new Date(start.getTime() + 90 * 86_400_000).toISOString()]);
    await env.client.schedule.getHandle('key-rotation-started').delete();
  });
});
