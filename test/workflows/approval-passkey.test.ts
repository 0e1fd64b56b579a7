/**
 * Decisions signed with a passkey, on a real Temporal dev server, registry and worker: the gate's
 * validator checks the WebAuthn assertion against the pinned roster (credential, origin, relying
 * party, challenge = sha256(statement), UV) and refuses a stranger's passkey, another origin, an
 * assertion replayed onto another run, and a stale statement; an accepted one promotes, and
 * production signing re-checks it. The approval record carries the assertion: stock cosign
 * verify-attestation shows it and the offline script in docs/approvals.md verifies it as printed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { APPROVAL_STATEMENT_TYPE } from '../../src/approval/constants';
import { statementChallenge } from '../../src/approval/passkey-assertion';
import { canonicalStatement } from '../../src/approval/statement';
import { decide, getApproval, waitForPromotion } from '../../src/client/promotions';
import { hasCode } from '../../src/errors';
import type { TargetConfig } from '../../src/config';
import { locateTool } from '../../src/stack/tools';
import { APPROVAL_PREDICATE_TYPE, type SignedDecision } from '../../workflows/approval-messages';
import { buildFacts, copyDir, useTestEnv } from '../support/env';
import { assert as signAssertion, FLAG_UP, newCredential, type SoftwareCredential } from '../support/software-authenticator';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const ORIGIN = 'https://countersign.example.com';
const RP_ID = 'countersign.example.com';
const cosign = locateTool('cosign');

describe('passkey decisions at the gate, on the real stack', () => {
  const env = useTestEnv();
  const pat = newCredential();
  const stranger = newCredential();
  let target: TargetConfig;
  const runs: Array<{ promotionId: string; digest: string }> = [];

  before(async () => {
    target = env.targetWith(
      {
        repository: `${env.stack.registry.address}/apps/passkey`,
        console: { origin: ORIGIN },
        approvers: { pat: { passkeys: [{ id: pat.id, publicKey: pat.publicKeyPem, name: 'test key' }] }, bob: { publicKey: 'keys/bob.pub' } },
        approval: { approvers: ['pat', 'bob'], required: 1 },
      },
      'passkey',
    );
    for (const n of [1, 2]) {
      const dir = await copyDir(HELLO, path.join(env.dir, `passkey-${n}`));
      await fs.writeFile(path.join(dir, 'VERSION'), `${n}\n`);
      const started = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
      const status = await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      assert.equal(status.state, 'AWAITING_APPROVAL', status.error);
      runs.push({ promotionId: started.promotionId, digest: started.digest });
    }
  });

  /** What the console does: the statement for the run at the gate, signed by the passkey over its sha256. */
  async function passkeyDecision(id: string, credential: SoftwareCredential, opts: Partial<{ origin: string; time: string; flags: number }> = {}): Promise<SignedDecision> {
    const { subject, evidence } = await getApproval(env.client, id);
    // As the console does: the statement names the evidence pack the gate shows (evidence-bound quorum).
    const statement = canonicalStatement({ _type: APPROVAL_STATEMENT_TYPE, promotionId: subject.id, runId: subject.runId, digest: subject.digest, ...(evidence ? { evidence: evidence.digest } : {}), decision: 'approve', reason: 'read the evidence', approver: 'pat', time: opts.time ?? new Date().toISOString() });
    const a = signAssertion(credential, { challenge: statementChallenge(statement), origin: opts.origin ?? ORIGIN, rpId: RP_ID, ...(opts.flags !== undefined ? { flags: opts.flags } : {}) });
    return { statement, signature: a.response.signature, passkey: { credentialId: a.id, authenticatorData: a.response.authenticatorData, clientDataJSON: a.response.clientDataJSON } };
  }
  async function refusal(id: string, decision: SignedDecision): Promise<string> {
    try {
      await decide(env.client, id, decision);
    } catch (err) {
      assert.ok(hasCode(err, 'APPROVAL_REFUSED'), String(err));
      return (err as Error).message;
    }
    return assert.fail('the gate accepted it');
  }

  it("refuses a stranger's passkey, another origin, no user verification, a vote replayed onto another run, and a stale statement", async () => {
    const [a, b] = runs;
    assert.match(await refusal(a.promotionId, await passkeyDecision(a.promotionId, stranger)), new RegExp(`pat's passkey decision does not hold: credential ${stranger.id.slice(0, 24)} is not one of the approver's roster passkeys`));
    assert.match(await refusal(a.promotionId, await passkeyDecision(a.promotionId, pat, { origin: 'https://evil.example.com' })), /the assertion was made at "https:\/\/evil.example.com", not the console origin https:\/\/countersign.example.com/);
    assert.match(await refusal(a.promotionId, await passkeyDecision(a.promotionId, pat, { flags: FLAG_UP })), /the authenticator did not verify the user/);
    // A vote for run B sent to run A: its statement names B.
    const forB = await passkeyDecision(b.promotionId, pat);
    assert.match(await refusal(a.promotionId, forB), new RegExp(`the statement is for ${b.promotionId}, not ${a.promotionId}`));
    // ...and with A's statement put in its place, the assertion no longer covers it.
    const forA = await passkeyDecision(a.promotionId, pat);
    assert.match(await refusal(a.promotionId, { ...forB, statement: forA.statement }), /the assertion was not made over this statement/);
    const stale = await passkeyDecision(a.promotionId, pat, { time: new Date(Date.now() - 3_600_000).toISOString() });
    assert.match(await refusal(a.promotionId, stale), /outside this approval window/);
    assert.equal((await getApproval(env.client, a.promotionId)).votes.length, 0, 'no refused vote counted');
  });

  it('an accepted passkey vote promotes; the approval record carries the assertion, and stock cosign and the offline script verify it', { skip: cosign ? false : 'cosign not installed (npm run toolchain)' }, async () => {
    const [a] = runs;
    const view = await decide(env.client, a.promotionId, await passkeyDecision(a.promotionId, pat));
    assert.equal(view.votes[0].approver, 'pat');
    const done = await waitForPromotion(env.client, a.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);

    const ref = `${target.repository}@${a.digest}`;
    const verified = spawnSync(cosign!, ['verify-attestation', '--key', path.join(env.keysDir, 'platform.pub'), '--type', APPROVAL_PREDICATE_TYPE, ref, '--insecure-ignore-tlog=true', '--allow-http-registry'], { encoding: 'utf8', env: { ...process.env, HOME: env.dir } });
    assert.equal(verified.status, 0, verified.stderr);
    const record = JSON.parse(Buffer.from(JSON.parse(verified.stdout.trim().split('\n')[0]).payload, 'base64').toString('utf8')).predicate;
    const decision = record.decisions.find((d: { approver: string }) => d.approver === 'pat');
    assert.equal(decision.passkey.credentialId, pat.id);
    assert.equal(JSON.parse(decision.statement).runId, record.runId, 'the statement names the run the record is for');
    assert.equal(record.outcome, 'approved');

    const work = await fs.mkdtemp(path.join(env.dir, 'customer-'));
    await fs.copyFile(path.resolve(__dirname, '../../examples/approvals/verify-passkey-decision.sh'), path.join(work, 'verify-passkey-decision.sh'));
    await fs.writeFile(path.join(work, 'decision.json'), JSON.stringify(decision));
    await fs.writeFile(path.join(work, 'alice-passkey.pem'), pat.publicKeyPem);
    const offline = spawnSync('sh', 'sh verify-passkey-decision.sh decision.json alice-passkey.pem https://countersign.example.com'.split(' ').slice(1), { cwd: work, encoding: 'utf8' });
    assert.equal(offline.status, 0, offline.stderr);
    assert.match(offline.stdout, new RegExp(`^passkey decision verified: pat approve over ${a.promotionId} run \\S+ ${a.digest}\\n$`));
  });
});
