import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { signDecision } from '../../src/approval/sign';
import { decide, getApproval, getPromotionStatus, waitForPromotion } from '../../src/client/promotions';
import { verifyAttestations } from '../../src/cosign/attestations';
import type { ApprovalConfig } from '../../src/approval/config';
import { hasCode } from '../../src/errors';
import { FileSigner } from '../../src/keys/file-signer';
import { canonicalStatement, APPROVAL_PREDICATE_TYPE, APPROVAL_STATEMENT_TYPE } from '../../workflows/approval-messages';
import { buildFacts, copyDir, useTestEnv, TEST_PASSWORD } from '../support/env';
import { startWebhookReceiver } from '../support/webhook-receiver';

const HELLO = path.resolve(__dirname, '../../examples/hello');

const GROUPS = {
  platform: { members: ['alice', 'bob', 'carol'], required: 2 },
  security: { members: ['carol', 'dave'], required: 1 },
};

describe('approval gate: quorum, signed statements, separation of duties, time', () => {
  const env = useTestEnv();
  let seq = 0;


  const signer = (name: string) => FileSigner.load(path.join(env.keysDir, `${name}.key`), TEST_PASSWORD);
  const refused = (pattern: RegExp) => (e: unknown) => hasCode(e, 'APPROVAL_REFUSED') && pattern.test((e as Error).message);

  /** A copy of the sample with its own content, so each promotion has its own digest. */
  async function variant(): Promise<string> {
    const dir = await copyDir(HELLO, path.join(env.dir, `gate-${++seq}`));
    await fs.writeFile(path.join(dir, 'VERSION'), `gate ${seq}\n`);
    return dir;
  }

  /** Starts a promotion of a fresh variant of the sample. */
  async function start(approval: Record<string, unknown>, opts: { initiator?: string; roster?: Record<string, unknown>; pin?: (approval: ApprovalConfig) => void } = {}) {
    const target = env.targetWith({ approval: { approvers: undefined, required: undefined, ...approval }, ...(opts.roster ? { approvers: opts.roster } : {}) });
    opts.pin?.(target.approval);
    return env.promote({ target, source: { directory: await variant() }, build: buildFacts(), ...(opts.initiator ? { initiator: opts.initiator } : {}) });
  }

  async function reachGate(promotionId: string): Promise<void> {
    const status = await waitForPromotion(env.client, promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(status.state, 'AWAITING_APPROVAL', status.error);
  }

  /** Starts a promotion of a fresh variant of the sample and waits for the gate. */
  async function atGate(approval: Record<string, unknown>, opts: { initiator?: string; roster?: Record<string, unknown>; pin?: (approval: ApprovalConfig) => void } = {}) {
    const started = await start(approval, opts);
    await reachGate(started.promotionId);
    return started;
  }

  async function eventually(check: () => boolean | Promise<boolean>, what: string, limitMs: number): Promise<void> {
    const until = Date.now() + limitMs;
    while (!(await check())) {
      if (Date.now() > until) assert.fail(`${what}: not within ${limitMs / 1000}s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** A real webhook receiver; `answer` gives the HTTP status for the nth request (from 1). */
  async function webhookServer(answer: (n: number) => number) {
    const hook = await startWebhookReceiver<{ kind: string }>({ answer });
    return {
      url: hook.url,
      get requests() {
        return hook.received.map((body, i) => ({ kind: body.kind, status: hook.statuses[i] }));
      },
      close: hook.close,
    };
  }

  it('needs 2 of platform and 1 of security, counts a person once, and says why it is blocked', async () => {
    const { promotionId, digest } = await atGate({ groups: GROUPS });
    let view = await env.decideAs(promotionId, 'carol', 'approve', 'reviewed the SBOM');
    assert.equal(view.state, 'OPEN');
    view = await env.decideAs(promotionId, 'alice', 'approve');
    assert.equal(view.state, 'OPEN', 'carol counts once: 2 approvals cannot fill 3 seats');
    assert.match(view.summary, /waiting for 1 more of (platform|security)/);
    const blocked = await getApproval(env.client, promotionId);
    assert.equal(blocked.groups.reduce((n, g) => n + g.have, 0), 2, 'two people, two seats');
    assert.equal(blocked.groups.reduce((n, g) => n + g.missing, 0), 1);
    assert.deepEqual(blocked.groups.find((g) => g.name === 'platform')?.eligible, ['bob']);
    assert.ok(blocked.msLeft! > 0 && blocked.deadline);
    await env.decideAs(promotionId, 'bob', 'approve');
    const done = await waitForPromotion(env.client, promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    const counted = Object.fromEntries(done.approval.votes.map((v) => [v.approver, v.countedFor]));
    assert.deepEqual(counted, { carol: 'security', alice: 'platform', bob: 'platform' });

    // The approval record travels with the image, signed by the platform key.
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    const atts = await verifyAttestations(env.store, 'apps/hello', digest, platformPem);
    const record = atts.attestations.find((a) => a.predicateType === APPROVAL_PREDICATE_TYPE);
    assert.ok(record, `approval record attached: ${atts.problems.join('; ')}`);
    const predicate = record.statement.predicate as { decisions: Array<{ approver: string; statement: string; signature: string }> };
    assert.deepEqual(predicate.decisions.map((d) => d.approver), ['carol', 'alice', 'bob']);
    assert.ok(predicate.decisions.every((d) => JSON.parse(d.statement).digest === digest && d.signature.length > 0));
  });

  it('refuses every bad statement with its reason, and accepts nothing it refused', async () => {
    const a = await atGate({ approvers: ['alice', 'bob', 'carol'], required: 2 });
    const b = await atGate({ approvers: ['alice', 'bob', 'carol'], required: 2 });
    const { subject, evidence } = await getApproval(env.client, a.promotionId);
    const runOfA = subject.runId;
    assert.ok(runOfA, 'the gate publishes the run a vote must name');
    assert.ok(evidence, 'the gate publishes the evidence pack a vote must name');
    const sign = async (as: string, over: Record<string, unknown> = {}, key = as) =>
      signDecision({ promotionId: a.promotionId, runId: runOfA, digest: a.digest, evidence: evidence.digest, decision: 'approve', approver: as, ...over } as never, await signer(key));

    await assert.rejects(decide(env.client, a.promotionId, await sign('bob', {}, 'alice')), refused(/signature does not verify with bob's roster key/));
    await assert.rejects(decide(env.client, b.promotionId, await sign('alice')), refused(new RegExp(`statement is for ${a.promotionId}, not ${b.promotionId}`)));
    await assert.rejects(decide(env.client, a.promotionId, await sign('alice', { digest: b.digest })), refused(/statement is for digest sha256:/));
    await assert.rejects(decide(env.client, a.promotionId, await sign('alice', { time: new Date(Date.now() - 3_600_000) })), refused(/outside this approval window/));
    await assert.rejects(decide(env.client, a.promotionId, await sign('erin')), refused(/erin is not in the approver roster/));
    await assert.rejects(decide(env.client, a.promotionId, await sign('alice', { runId: 'an-earlier-run' })), refused(/not this run .*a vote counts in one run only/));
    await assert.rejects(decide(env.client, a.promotionId, await sign('alice', { runId: undefined })), refused(/names no run/));
    await assert.rejects(decide(env.client, a.promotionId, await sign('alice', { decision: 'reject' })), refused(/a rejection needs a reason/));
    const extra = canonicalStatement({ _type: APPROVAL_STATEMENT_TYPE, promotionId: a.promotionId, runId: runOfA, digest: a.digest, evidence: evidence.digest, decision: 'approve', approver: 'alice', time: new Date().toISOString() }).replace('{', '{"weight":10,');
    const extraSig = (await (await signer('alice')).sign(Buffer.from(extra))).toString('base64');
    await assert.rejects(decide(env.client, a.promotionId, { statement: extra, signature: extraSig }), refused(/unknown fields: weight/));
    await assert.rejects(decide(env.client, a.promotionId, { statement: 'not json', signature: 'AA==' }), refused(/not JSON/));

    const statement = await sign('alice');
    await decide(env.client, a.promotionId, statement);
    await assert.rejects(decide(env.client, a.promotionId, statement), refused(/alice has already voted/));
    await assert.rejects(decide(env.client, a.promotionId, await sign('alice')), refused(/alice has already voted/));
    const view = await getApproval(env.client, a.promotionId);
    assert.deepEqual(view.votes.map((v) => v.approver), ['alice'], 'only the valid statement was recorded');

    await env.decideAs(a.promotionId, 'bob', 'approve');
    assert.equal((await waitForPromotion(env.client, a.promotionId)).state, 'PROMOTED');
    await assert.rejects(env.decideAs(a.promotionId, 'carol', 'approve'), refused(/has ended|not awaiting approval/));
    await env.decideAs(b.promotionId, 'alice', 'reject', 'cleanup');
  });

  it('keeps the authenticated initiator and the developer signer from approving', async () => {
    const roster = {
      alice: { publicKey: 'keys/alice.pub' },
      bob: { publicKey: 'keys/bob.pub', identities: ['bob@example.com'] },
      carol: { publicKey: 'keys/carol.pub', signingKeys: ['keys/dev.pub'] },
      dave: { publicKey: 'keys/dave.pub' },
    };
    const { promotionId } = await atGate({ approvers: ['alice', 'bob', 'carol', 'dave'], required: 1 }, { initiator: 'alice', roster });
    await assert.rejects(env.decideAs(promotionId, 'alice', 'approve'), refused(/alice may not approve .*: started this promotion/));
    await assert.rejects(env.decideAs(promotionId, 'carol', 'approve'), refused(/carol may not approve .*: signed the build with the developer key/));
    const view = await getApproval(env.client, promotionId);
    assert.deepEqual(view.excluded.map((e) => e.approver).sort(), ['alice', 'carol']);
    assert.deepEqual(view.groups[0].eligible, ['bob', 'dave']);
    const status = await getPromotionStatus(env.client, promotionId);
    assert.ok(status.notices?.some((n) => /commit author is unknown/.test(n)), `the gate says the author is unknown: ${JSON.stringify(status.notices)}`);
    await env.decideAs(promotionId, 'dave', 'approve');
    assert.equal((await waitForPromotion(env.client, promotionId)).state, 'PROMOTED');
  });

  it('lets exactly one of several racing approvals take the last slot', async () => {
    const { promotionId } = await atGate({ approvers: ['alice', 'bob', 'carol', 'dave'], required: 1 });
    const results = await Promise.allSettled(['alice', 'bob', 'carol', 'dave'].map((name) => env.decideAs(promotionId, name, 'approve')));
    const accepted = results.filter((r) => r.status === 'fulfilled');
    assert.equal(accepted.length, 1, JSON.stringify(results.map((r) => r.status)));
    for (const r of results) if (r.status === 'rejected') assert.ok(refused(/already decided|not awaiting approval/)(r.reason), String(r.reason));
    const done = await waitForPromotion(env.client, promotionId);
    assert.equal(done.state, 'PROMOTED');
    assert.equal(done.approval.votes.length, 1);
  });

  it('without veto, rejects only once the quorum can no longer be met', async () => {
    const { promotionId } = await atGate({ approvers: ['alice', 'bob', 'carol'], required: 2, vetoOnReject: false });
    const view = await env.decideAs(promotionId, 'alice', 'reject', 'flaky tests');
    assert.equal(view.state, 'OPEN');
    await env.decideAs(promotionId, 'bob', 'reject', 'agree with alice');
    const done = await waitForPromotion(env.client, promotionId);
    assert.equal(done.state, 'REJECTED');
    assert.match(done.error ?? '', /quorum can no longer be met|rejected by/);
  });

  it('expires at the deadline and refuses approvals after it', async () => {
    const { promotionId, digest } = await atGate({ approvers: ['alice', 'bob'], required: 1, deadline: '5s' });
    const done = await waitForPromotion(env.client, promotionId);
    assert.equal(done.state, 'EXPIRED');
    assert.match(done.error ?? '', /EXPIRED: expired at .* with 1 more of approvers/);
    const ended = refused(/has ended: EXPIRED at \d{4}-\d\d-\d\dT[\d:.]+Z \(expired at .* with 1 more of approvers\); it is not awaiting approval/);
    await assert.rejects(env.decideAs(promotionId, 'alice', 'approve'), ended);
    // Sent straight to the closed workflow, without asking the gate first: the same answer.
    const late = await signDecision({ promotionId, digest, decision: 'approve', approver: 'bob' }, await signer('bob'));
    await assert.rejects(decide(env.client, promotionId, late), ended);
  });

  it('refuses a decision before the promotion reaches the gate, then takes one at the gate', async () => {
    // With no worker the promotion cannot get past its start, so the decision is validated in the
    // workflow's first task, before any step ran: no race with a fast build.
    await env.stopWorkers();
    let early: Promise<unknown>;
    let started: Awaited<ReturnType<typeof start>>;
    try {
      started = await start({ approvers: ['alice', 'bob'], required: 1 });
      const statement = await signDecision({ promotionId: started.promotionId, digest: started.digest, decision: 'approve', approver: 'alice' }, await signer('alice'));
      early = decide(env.client, started.promotionId, statement);
      early.catch(() => undefined);
    } finally {
      await env.startWorker();
    }
    const { promotionId } = started;
    await assert.rejects(early, refused(new RegExp(`^APPROVAL_REFUSED: ${promotionId} is not awaiting approval: not yet at the approval step$`)));
    await reachGate(promotionId);
    assert.deepEqual((await getApproval(env.client, promotionId)).votes, [], 'the refused decision left no vote');
    await env.decideAs(promotionId, 'alice', 'approve');
    assert.equal((await waitForPromotion(env.client, promotionId)).state, 'PROMOTED');
  });

  it('retries a failing webhook until it takes the notification', async () => {
    const hook = await webhookServer((n) => (n <= 2 ? 500 : 204));
    try {
      const { promotionId } = await atGate({ approvers: ['alice', 'bob'], required: 1, webhook: hook.url });
      // The activity's retry policy: 2s, then 4s between attempts.
      await eventually(() => hook.requests.some((r) => r.status === 204), 'the requested notification delivered', 60_000);
      assert.deepEqual(hook.requests, [
        { kind: 'requested', status: 500 },
        { kind: 'requested', status: 500 },
        { kind: 'requested', status: 204 },
      ]);
      await env.decideAs(promotionId, 'bob', 'approve');
      const done = await waitForPromotion(env.client, promotionId);
      assert.equal(done.state, 'PROMOTED', done.error);
      assert.equal(done.approval.notificationFailures, 0);
      assert.deepEqual(hook.requests.at(-1), { kind: 'approved', status: 204 });
    } finally {
      await hook.close();
    }
  });

  it('never holds up nor fails a promotion over a webhook that stays down: retried beside the gate, the ending given a minute, then counted', async () => {
    const hook = await webhookServer(() => 503);
    try {
      const { promotionId } = await atGate({ approvers: ['alice', 'bob'], required: 1, webhook: hook.url });
      // The request is retried (2, 4, 8 ... up to 30 s apart, for 15 minutes) while the gate goes on.
      await eventually(() => hook.requests.length >= 2, 'the requested notification retried', 60_000);
      const waiting = await getApproval(env.client, promotionId);
      assert.equal(waiting.state, 'OPEN', 'still waiting for approval');
      assert.equal(waiting.notificationFailures, 0, 'still being retried, not given up');
      await env.decideAs(promotionId, 'bob', 'approve');
      const done = await waitForPromotion(env.client, promotionId);
      assert.equal(done.state, 'PROMOTED', done.error);
      assert.equal(done.approval.notificationFailures, 1, 'the approval notification given up on after its minute');
      const kinds = hook.requests.map((r) => r.kind);
      assert.ok(kinds.filter((k) => k === 'approved').length >= 2, `the ending retried too: ${kinds.join(',')}`);
      assert.deepEqual([...new Set(kinds)].sort(), ['approved', 'requested']);
    } finally {
      await hook.close();
    }
  });

  it("pins the policy at start: an edit of the worker's configuration to require 2 approvers leaves a waiting promotion at 1", async () => {
    const edit = (required: number) => env.targetWith({ approval: { approvers: ['alice', 'bob', 'carol'], required, deadline: '1h' } }, 'pinned');
    const promote = async () => {
      const { promotionId } = await env.promote({ target: 'pinned', source: { directory: await variant() }, build: buildFacts() });
      await reachGate(promotionId);
      return promotionId;
    };
    edit(1);
    const first = await promote();
    edit(2);
    const second = await promote();
    assert.equal((await getApproval(env.client, second)).groups[0].required, 2, 'a promotion started after the edit follows it');
    assert.equal((await getApproval(env.client, first)).groups[0].required, 1);
    const [a, b] = await Promise.all([getPromotionStatus(env.client, first), getPromotionStatus(env.client, second)]);
    assert.notEqual(a.policyDigest, b.policyDigest, 'the pinned policy digest tells the two apart');

    await env.decideAs(first, 'alice', 'approve');
    assert.equal((await waitForPromotion(env.client, first)).state, 'PROMOTED');
    assert.match((await env.decideAs(second, 'alice', 'approve')).summary, /^waiting for 1 more of approvers$/, 'one approval is not enough after the edit');
    await env.decideAs(second, 'bob', 'reject', 'cleanup');
  });

  it('sends reminders, then escalates, in order, across a worker restart', async () => {
    const hook = await startWebhookReceiver<{ kind: string; to: string[]; reminders: number }>();
    const { received } = hook;
    try {
      const { promotionId } = await atGate(
        { approvers: ['alice', 'bob'], required: 1, deadline: '1h', reminderEvery: '1m', escalateAfter: 2, escalation: { members: ['erin'] }, webhook: hook.url },
        {
          // The configuration check keeps reminders a minute apart or more; the gate runs on the
          // pinned values, so the test pins a one-second reminder there. The deadline stays far
          // beyond the escalation (~3s): a worker restart on a loaded CI machine must not let it expire first.
          pin: (a) => Object.assign(a, { reminderEveryMs: 1000, deadlineMs: 120_000 }),
        },
      );
      await env.stopWorkers();
      await new Promise((r) => setTimeout(r, 1500));
      await env.startWorker();
      for (let i = 0; i < 600 && !received.some((n) => n.kind === 'escalation'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(received.some((n) => n.kind === 'escalation'), `no escalation within 60s; received ${received.map((n) => n.kind).join(',')}`);
      await assert.rejects(env.decideAs(promotionId, 'erin', 'approve'), refused(/erin is in none of the approver groups/));
      const view = await env.decideAs(promotionId, 'bob', 'approve');
      assert.ok(view.escalatedAt, 'escalation recorded in the view');
      assert.equal((await waitForPromotion(env.client, promotionId)).state, 'PROMOTED');
      const kinds = received.map((n) => n.kind);
      assert.deepEqual(kinds.slice(0, 4), ['requested', 'reminder', 'reminder', 'escalation'], kinds.join(','));
      assert.equal(kinds.at(-1), 'approved');
      assert.deepEqual(received[0].to, ['alice', 'bob']);
      assert.deepEqual(received[3].to, ['erin']);
      assert.deepEqual(received.filter((n) => n.kind === 'reminder').map((n) => n.reminders).slice(0, 2), [1, 2]);
    } finally {
      await hook.close();
    }
  });
});
