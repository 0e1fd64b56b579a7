import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { signDecision } from '../../src/approval/sign';
import { decide, getApproval, startPromotion, waitForPromotion } from '../../src/client/promotions';
import { verifyAttestations } from '../../src/cosign/attestations';
import { hasCode } from '../../src/errors';
import { FileSigner } from '../../src/keys/file-signer';
import { canonicalStatement, APPROVAL_PREDICATE_TYPE, APPROVAL_STATEMENT_TYPE } from '../../workflows/approval-messages';
import { buildFacts, copyDir, useTestEnv, TEST_PASSWORD } from '../support/env';

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

  /** Starts a promotion of a fresh variant of the sample and waits for the gate. */
  async function atGate(approval: Record<string, unknown>, opts: { initiator?: string; commitAuthor?: string; roster?: Record<string, unknown> } = {}) {
    const dir = await copyDir(HELLO, path.join(env.dir, `gate-${++seq}`));
    await fs.writeFile(path.join(dir, 'VERSION'), `gate ${seq}\n`);
    const target = env.targetWith({ approval: { approvers: undefined, required: undefined, ...approval }, ...(opts.roster ? { approvers: opts.roster } : {}) });
    const started = await startPromotion(env.client, {
      target,
      source: { directory: dir },
      build: buildFacts({ commitAuthor: opts.commitAuthor }),
      initiator: opts.initiator ?? 'ci-bot',
    });
    const status = await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(status.state, 'AWAITING_APPROVAL', status.error);
    return started;
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
    const sign = async (as: string, over: Record<string, unknown> = {}, key = as) =>
      signDecision({ promotionId: a.promotionId, digest: a.digest, decision: 'approve', approver: as, ...over } as never, await signer(key));

    await assert.rejects(decide(env.client, a.promotionId, await sign('bob', {}, 'alice')), refused(/signature does not verify with bob's roster key/));
    await assert.rejects(decide(env.client, b.promotionId, await sign('alice')), refused(new RegExp(`statement is for ${a.promotionId}, not ${b.promotionId}`)));
    await assert.rejects(decide(env.client, a.promotionId, await sign('alice', { digest: b.digest })), refused(/statement is for digest sha256:/));
    await assert.rejects(decide(env.client, a.promotionId, await sign('alice', { time: new Date(Date.now() - 3_600_000) })), refused(/outside this approval window/));
    await assert.rejects(decide(env.client, a.promotionId, await sign('erin')), refused(/erin is not in the approver roster/));
    await assert.rejects(decide(env.client, a.promotionId, await sign('alice', { decision: 'reject' })), refused(/a rejection needs a reason/));
    const extra = canonicalStatement({ _type: APPROVAL_STATEMENT_TYPE, promotionId: a.promotionId, digest: a.digest, decision: 'approve', approver: 'alice', time: new Date().toISOString() }).replace('{', '{"weight":10,');
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

  it('keeps the initiator, the commit author and the developer signer from approving', async () => {
    const roster = {
      alice: { publicKey: 'keys/alice.pub' },
      bob: { publicKey: 'keys/bob.pub', identities: ['bob@example.com'] },
      carol: { publicKey: 'keys/carol.pub', signingKeys: ['keys/dev.pub'] },
      dave: { publicKey: 'keys/dave.pub' },
    };
    const { promotionId } = await atGate({ approvers: ['alice', 'bob', 'carol', 'dave'], required: 1 }, { initiator: 'alice', commitAuthor: 'bob@example.com', roster });
    await assert.rejects(env.decideAs(promotionId, 'alice', 'approve'), refused(/alice may not approve .*: started this promotion/));
    await assert.rejects(env.decideAs(promotionId, 'bob', 'approve'), refused(/bob may not approve .*: authored the commit/));
    await assert.rejects(env.decideAs(promotionId, 'carol', 'approve'), refused(/carol may not approve .*: signed the build with the developer key/));
    const view = await getApproval(env.client, promotionId);
    assert.deepEqual(view.excluded.map((e) => e.approver).sort(), ['alice', 'bob', 'carol']);
    assert.deepEqual(view.groups[0].eligible, ['dave']);
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
    const { promotionId } = await atGate({ approvers: ['alice', 'bob'], required: 1, deadline: '5s' });
    const done = await waitForPromotion(env.client, promotionId);
    assert.equal(done.state, 'EXPIRED');
    assert.match(done.error ?? '', /EXPIRED: expired at .* with 1 more of approvers/);
    await assert.rejects(env.decideAs(promotionId, 'alice', 'approve'), refused(/has ended/));
  });

  it('sends reminders, then escalates, in order, across a worker restart', async () => {
    const received: Array<{ kind: string; to: string[]; reminders: number }> = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const { promotionId } = await atGate({
        approvers: ['alice', 'bob'],
        required: 1,
        // Far beyond the escalation (~3s): a worker restart on a loaded CI machine must not let it expire first.
        deadline: '120s',
        reminderEvery: '1s',
        escalateAfter: 2,
        escalation: { members: ['erin'] },
        webhook: url,
      });
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
      server.close();
    }
  });
});
