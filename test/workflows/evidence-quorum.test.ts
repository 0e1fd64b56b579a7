/**
 * Evidence-bound quorum on a real Temporal dev server and registry: a vote counts only while the
 * evidence pack it was signed over is the one the gate shows. The attacks: a vote over a stale
 * pack, a new developer-signed attestation attached while the gate is open (earlier votes stop
 * counting, approvers are told why), in the target's legacy format or as a sigstore bundle (stock
 * cosign v3's default), a forged pack digest, a statement that names no pack, a vote over a pack
 * newer than the gate's last read (the gate reads first), and votes that would make it read at will.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { signDecision } from '../../src/approval/sign';
import { readPromotionRecord } from '../../src/client/promotion-record';
import { decide, getApproval, waitForPromotion } from '../../src/client/promotions';
import { attestImageBundle } from '../../src/cosign/bundle-images';
import { createConsole } from '../../src/console/server';
import { assembleEvidencePack, evidencePackDigest } from '../../src/evidence/pack';
import { hasCode } from '../../src/errors';
import { FileSigner } from '../../src/keys/file-signer';
import { createProvenance } from '../../src/provenance/slsa';
import { createAttestations, developerSign } from '../../src/promotion/steps';
import type { TargetConfig } from '../../src/config';
import type { ApprovalView } from '../../workflows/approval-messages';
import { runCli } from '../support/cli';
import { startHoldingProxy } from '../support/holding-proxy';
import { buildFacts, copyDir, TEST_PASSWORD, useTestEnv } from '../support/env';
import { startWebhookReceiver } from '../support/webhook-receiver';

const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('evidence-bound quorum: votes count over the pack they were signed over', () => {
  const env = useTestEnv();
  let seq = 0;

  async function variant(): Promise<string> {
    const dir = await copyDir(HELLO, path.join(env.dir, `evidence-${++seq}`));
    await fs.writeFile(path.join(dir, 'VERSION'), `evidence ${seq}\n`);
    return dir;
  }

  /**
   * A promotion parked at a gate needing alice and bob that reads its pack again every second: the
   * configuration keeps reminders a minute apart or more, but the gate runs on the pinned value.
   */
  async function parkWithPackReadEverySecond(webhook?: string) {
    const target = env.targetWith({ approval: { approvers: ['alice', 'bob'], required: 2, deadline: '1h', reminderEvery: '1m', ...(webhook ? { webhook } : {}) } });
    target.approval.reminderEveryMs = 1000;
    target.approval.deadlineMs = 600_000;
    return park(target);
  }

  /** A promotion of a fresh variant of the example parked at `target`'s gate, and the pack the gate opened with. */
  async function park(target: TargetConfig) {
    const dir = await variant();
    const { promotionId } = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
    const parked = await waitForPromotion(env.client, promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(parked.state, 'AWAITING_APPROVAL', parked.error);
    const opened = await getApproval(env.client, promotionId);
    return { promotionId, parked, dir, opened, first: opened.evidence?.digest ?? '' };
  }

  /** The pack's digest as an approver reads it now (`countersign evidence`, the console): the same code, live from the registry. */
  async function packNow(promotionId: string): Promise<string> {
    return evidencePackDigest(await assembleEvidencePack({ storeFor: () => env.store }, await readPromotionRecord(env.client, promotionId)));
  }

  async function until(check: () => Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 600; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`${what}: not within 60s`);
  }

  /** The developer's key signs one more provenance onto `digest` (as a second CI build would), in the legacy format. */
  async function signAnotherProvenance(dir: string, repository: string, digest: string, invocationId: string): Promise<void> {
    const deps = { storeFor: () => env.store, env: { CI_KEY_PASSWORD: TEST_PASSWORD } };
    const location = { repository, digest };
    const statements = await createAttestations(deps, dir, location, { ...buildFacts(), invocationId, startedOn: '2026-11-21T00:00:00Z', finishedOn: '2026-11-21T00:01:00Z' });
    await developerSign(deps, location, { ref: path.join(env.keysDir, 'dev.key'), passwordEnv: 'CI_KEY_PASSWORD' }, [statements.provenanceDigest]);
  }

  /** Signs a decision as `approver` over whatever evidence the caller names (or none). */
  async function voteOver(view: ApprovalView, approver: string, evidence: string | undefined) {
    const signed = await signDecision(
      { promotionId: view.subject.id, runId: view.subject.runId, digest: view.subject.digest, ...(evidence !== undefined ? { evidence } : {}), decision: 'approve', approver },
      await env.signer(approver),
    );
    return decide(env.client, view.subject.id, signed);
  }

  it('a new developer-signed attestation drops the votes over the old pack, says why, and refuses votes over it', async () => {
    const hook = await startWebhookReceiver<Record<string, any>>();
    const { received } = hook;
    try {
      const { promotionId, parked, dir, opened, first } = await parkWithPackReadEverySecond(hook.url);
      assert.match(first, /^sha256:[0-9a-f]{64}$/, 'the gate shows the pack it read when it opened');
      // The console and `countersign evidence` build the same pack: their digest is the gate's.
      assert.equal(await packNow(promotionId), first);

      // A statement naming no pack, and one naming a digest the gate never showed, are refused.
      await assert.rejects(voteOver(opened, 'alice', undefined), (e: unknown) => hasCode(e, 'EVIDENCE_STALE') && /names no evidence pack; the gate shows sha256:/.test((e as Error).message));
      const forged = `sha256:${'ab'.repeat(32)}`;
      await assert.rejects(voteOver(opened, 'alice', forged), (e: unknown) => hasCode(e, 'EVIDENCE_UNKNOWN') && (e as Error).message.includes(`signed over ${forged}, which is no pack this gate has shown; current ${first}`));

      const counted = await env.decideAs(promotionId, 'alice', 'approve', 'over the first pack');
      assert.deepEqual(counted.votes.map((v) => [v.approver, v.evidence]), [['alice', first]]);

      // The developer's key signs one more provenance onto the digest while the gate is open.
      await signAnotherProvenance(dir, env.target.repository, parked.digest, 'a-second-build');

      let changed!: ApprovalView;
      await until(async () => {
        changed = await getApproval(env.client, promotionId);
        return changed.evidence?.digest !== first;
      }, 'the gate sees the new pack');
      const second = changed.evidence!.digest;
      assert.deepEqual(changed.evidence!.earlier, [first]);
      assert.deepEqual(changed.votes, [], "alice's vote over the first pack no longer counts");
      assert.deepEqual(
        changed.dropped?.map((d) => [d.approver, d.evidence, d.why]),
        [['alice', first, `signed over evidence pack ${first}; the pack is now ${second}`]],
      );
      assert.equal(await packNow(promotionId), second, 'the console shows the new pack');
      // The console's page says which pack counts and whose vote stopped counting, and why.
      const app = createConsole({ client: env.client, storeFor: () => env.store, access: { login: false, passkeys: {} } });
      try {
        const pageHtml = (await app.inject({ url: `/promotions/${promotionId}` })).body;
        assert.match(pageHtml, new RegExp(`<code id="pack-digest">${second}</code>`));
        assert.match(pageHtml, new RegExp(`id="gate-evidence">The gate counts votes signed over evidence pack <code>${second}</code>`));
        assert.match(pageHtml, new RegExp(`<ul id="dropped"><li>alice \\(approve\\): signed over evidence pack ${first}; the pack is now ${second}</li></ul>`));
        assert.doesNotMatch(pageHtml, /id="pack-ahead"/, 'the console and the gate read the same pack');
        assert.equal(JSON.parse((await app.inject({ url: `/promotions/${promotionId}/evidence.json` })).body).digest, second);
      } finally {
        await app.close();
      }

      // The approvers are told why, by name: alice (her vote dropped) and bob (still needed).
      await until(async () => received.some((n) => n.kind === 'evidence-changed'), 'the evidence-changed notification');
      const told = received.find((n) => n.kind === 'evidence-changed')!;
      assert.deepEqual([...told.to].sort(), ['alice', 'bob']);
      assert.equal(told.evidence, second);
      assert.equal(told.why, `the evidence pack changed (${first} -> ${second}): votes signed over the earlier pack no longer count; read it again and sign over the new one`);

      // A vote over the stale pack is refused with both digests.
      await assert.rejects(voteOver(changed, 'bob', first), (e: unknown) => hasCode(e, 'EVIDENCE_STALE') && (e as Error).message.startsWith(`EVIDENCE_STALE: signed over ${first}, current ${second}`));

      // The CLI: --evidence names the pack the approver read; the one read before the change is refused (exit 7).
      const cliEnv = { TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD };
      const approve = (as: string, ...more: string[]) => runCli(['approve', promotionId, '--as', as, '--key', path.join(env.keysDir, `${as}.key`), ...more], cliEnv);
      const staleCli = await approve('bob', '--evidence', first!);
      assert.equal(staleCli.code, 7, staleCli.stderr);
      assert.match(staleCli.stderr, new RegExp(`EVIDENCE_STALE: signed over ${first}, current ${second}`));
      const malformed = await approve('bob', '--evidence', 'abc');
      assert.equal(malformed.code, 2, malformed.stderr);
      assert.match(malformed.stderr, /--evidence must be an evidence pack digest, sha256:<64 hex digits>/);

      // Signed over the pack shown now (`countersign approve` with the digest read, or without, the gate's), both count and it promotes.
      const current = await approve('alice', '--evidence', second, '--reason', 'over the second pack');
      assert.equal(current.code, 0, current.stderr);
      await env.decideAs(promotionId, 'bob', 'approve', 'over the second pack');
      const done = await waitForPromotion(env.client, promotionId);
      assert.equal(done.state, 'PROMOTED', done.error);
      assert.deepEqual(done.approval.votes.map((v) => [v.approver, v.evidence]), [['alice', second], ['bob', second]]);
    } finally {
      await hook.close();
    }
  });

  it('a vote over a pack newer than the gate last read makes it read the pack first, at most once a minute', async () => {
    // No reminders, and the pack read again on its own only every hour (the default): between
    // reads, only a vote can make the gate see the new pack.
    const target = env.targetWith({ approval: { approvers: ['alice', 'bob'], required: 2, deadline: '1h' } });
    assert.equal(target.approval.evidenceCheckEveryMs, 3_600_000, 'the default: an hour');
    const { promotionId, parked, dir, first } = await park(target);

    await signAnotherProvenance(dir, env.target.repository, parked.digest, 'a-build-the-gate-has-not-read');
    // What the approver reads (`countersign evidence`, the console): the new pack, which the gate has not read.
    const second = await packNow(promotionId);
    assert.notEqual(second, first);
    const before = await getApproval(env.client, promotionId);
    assert.equal(before.evidence!.digest, first, 'the gate has not read the new pack yet');

    const counted = await voteOver(before, 'alice', second);
    assert.equal(counted.evidence!.digest, second, 'the vote made the gate read the pack');
    assert.deepEqual(counted.evidence!.earlier, [first]);
    assert.deepEqual(counted.votes.map((v) => [v.approver, v.evidence]), [['alice', second]]);
    const readAt = counted.evidence!.checkedAt;

    // The attack: a roster member sends votes over made-up digests to make the gate read the
    // registry at will. Within a minute of the last read a vote caused, it is refused unread.
    const forged = `sha256:${'cd'.repeat(32)}`;
    await assert.rejects(
      voteOver(counted, 'bob', forged),
      (e: unknown) => hasCode(e, 'EVIDENCE_UNKNOWN') && (e as Error).message.includes(`signed over ${forged}, which is no pack this gate has shown; current ${second}`) && /votes make it read again at most once a minute/.test((e as Error).message),
    );
    assert.equal((await getApproval(env.client, promotionId)).evidence!.checkedAt, readAt, 'the refused vote read nothing');

    await env.decideAs(promotionId, 'bob', 'approve', 'over the second pack');
    const done = await waitForPromotion(env.client, promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    assert.deepEqual(done.approval.votes.map((v) => [v.approver, v.evidence]), [['alice', second], ['bob', second]]);
  });

  it('quorum met while a vote is reading the pack: the read that guards production signing starts after it, so a change it missed is not approved', { timeout: 180_000 }, async (t) => {
    // The vote's read goes out, the registry answers it with the old pack, and the answer reaches
    // the worker 20 s later (the proxy holds it): the local activity outlives a workflow task, so
    // the next vote is handled while it runs. Between the two, the pack changes.
    const proxy = await startHoldingProxy(env.stack.registry.address);
    t.after(() => proxy.close());
    const target = env.targetWith({ repository: `${proxy.address}/apps/evidence-race`, approval: { approvers: ['alice', 'bob', 'carol'], required: 2, deadline: '1h' } }, 'race');
    const { promotionId, parked, dir, opened, first } = await park(target);
    await voteOver(opened, 'alice', first);

    proxy.delayBy((method, url) => method === 'GET' && /\/manifests\/sha256-[0-9a-f]{64}\.att$/.test(url), 20_000);
    const forged = `sha256:${'ef'.repeat(32)}`;
    const bobsVote = voteOver(opened, 'bob', forged).then(
      () => assert.fail('a vote over a digest that is no pack must not count'),
      (e: unknown) => e,
    );
    for (let i = 0; i < 300 && proxy.faults.delayed === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(proxy.faults.delayed, 1, "bob's vote made the gate read the pack");
    proxy.heal();

    // The developer's key signs one more provenance while that read's answer is on its way.
    await signAnotherProvenance(dir, `${env.stack.registry.address}/apps/evidence-race`, parked.digest, 'a-build-during-the-read');
    const second = await packNow(promotionId);
    assert.notEqual(second, first);

    // carol's vote over the pack the gate shows meets quorum while bob's read is under way.
    const carols = await voteOver(opened, 'carol', first);
    assert.deepEqual(carols.votes.map((v) => v.approver).sort(), ['alice', 'carol']);
    const refused = await bobsVote;
    assert.ok(hasCode(refused, 'EVIDENCE_UNKNOWN'), String(refused));

    // The quorum read came after bob's, saw the change, and the votes over the old pack stopped counting.
    let view!: ApprovalView;
    await until(async () => {
      view = await getApproval(env.client, promotionId);
      return view.evidence?.digest === second;
    }, 'the gate reads the new pack');
    assert.equal(view.state, 'OPEN', 'the gate waits on: nothing was approved over the old pack');
    assert.deepEqual(view.votes, []);
    assert.deepEqual(view.dropped?.map((d) => d.approver).sort(), ['alice', 'carol']);
    await voteOver(view, 'alice', second);
    await voteOver(view, 'carol', second);
    const done = await waitForPromotion(env.client, promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    assert.deepEqual(done.approval.votes.map((v) => [v.approver, v.evidence]), [['alice', second], ['carol', second]]);
  });

  it('a developer-signed attestation attached as a sigstore bundle on a legacy target also drops the votes over the old pack', async () => {
    // The target publishes the legacy format only.
    const { promotionId, parked, first } = await parkWithPackReadEverySecond();
    await env.decideAs(promotionId, 'alice', 'approve', 'over the first pack');

    // As `cosign attest` (v3) would: a referrer under the fallback tag, no `.att` change.
    const repository = env.target.repository.slice(env.target.repository.indexOf('/') + 1);
    const developer = await FileSigner.load(path.join(env.keysDir, 'dev.key'), TEST_PASSWORD);
    const statement = createProvenance({ ...buildFacts(), subjectName: env.target.repository, digest: parked.digest, invocationId: 'a-bundle-build', startedOn: '2026-11-21T00:00:00Z', finishedOn: '2026-11-21T00:01:00Z' });
    assert.equal((await attestImageBundle(env.store, repository, parked.digest, statement, developer)).added, true);

    let changed!: ApprovalView;
    await until(async () => {
      changed = await getApproval(env.client, promotionId);
      return changed.evidence?.digest !== first;
    }, 'the gate sees the bundle attestation');
    assert.deepEqual(changed.votes, [], "alice's vote over the first pack no longer counts");
    assert.deepEqual(changed.dropped?.map((d) => [d.approver, d.evidence]), [['alice', first]]);
    await env.decideAs(promotionId, 'alice', 'approve', 'over the second pack');
    await env.decideAs(promotionId, 'bob', 'approve', 'over the second pack');
    const done = await waitForPromotion(env.client, promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    assert.deepEqual(done.approval.votes.map((v) => v.evidence), [changed.evidence!.digest, changed.evidence!.digest]);
  });
});
