/**
 * Key ceremonies and revocations hold against a caller who can reach Temporal or write what an
 * input carries: each attack on a real Temporal dev server (and real local-kms servers for the
 * KMS endpoint), ending with the worker's configuration in force: no key where the input said,
 * nothing published outside the configured directory, no key revoked without the signatures the
 * store asks for, and production signing with a key that survived an attack still working.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import YAML from 'yaml';
import { pinRoster } from '../../src/approval/roster';
import { signDecision } from '../../src/approval/sign';
import { decide, getApproval, signAndDecide, waitForPromotion } from '../../src/client/promotions';
import { hasCode } from '../../src/errors';
import { writeKeyPair } from '../../src/keys/file-signer';
import { CEREMONY_REQUEST_TYPE } from '../../src/requests/ceremony-request';
import { REVOCATION_REQUEST_TYPE } from '../../src/requests/revocation-request';
import { newNonce, signStatement } from '../../src/requests/sign';
import { locateTool } from '../../src/stack/tools';
import { keyWorkflowStatus, rotationIdFor, signCeremonyRequest, trustConfig } from '../../src/client/trust';
import { readIndex, type TrustKey } from '../../src/trust/index-file';
import { getRevocationStatus, waitForRevocation, waitForRevocationAnswer } from '../../src/client/revocation';
import { countingClient } from '../support/counting-client';
import { TrustStore } from '../../src/trust/store';
import { verifyAgainstTrust } from '../../src/trust/verify';
import { ceremonyIdFor, KEY_CEREMONY_WORKFLOW_TYPE } from '../../workflows/key-ceremony-messages';
import { KEY_REVOCATION_WORKFLOW_TYPE, revocationWorkflowId, type RevocationStatus } from '../../workflows/key-revocation-messages';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import { runCli } from '../support/cli';
import { buildFacts, copyDir, TEST_PASSWORD, useTestEnv } from '../support/env';
import type { KmsTestServer } from '../support/kms-server';
import { localKmsPath, startLocalKms } from '../support/local-kms';
import { join, requestSigner, rotationStartTime, runCeremony, trustTestConfig, until } from '../trust/support';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const cosign = locateTool('cosign');

describe('attacks on key ceremonies and revocations', () => {
  const env = useTestEnv({
    setup: async (e) => {
      await writeKeyPair(e.keysDir, 'mallory', TEST_PASSWORD);
    },
  });
  const cliEnv = (config: string) => ({ TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_CONFIG: path.join(env.dir, `countersign-${config}.yaml`), COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD });
  const keyFile = (who: string) => path.join(env.keysDir, `${who}.key`);

  /** What a ceremony's input used to carry, chosen by the caller: their own custodian, governance key, directories and backend. */
  async function callersChoices(evil: { dir: string; backend: unknown }) {
    const mallory = await pinRoster({ mallory: { publicKey: path.join(env.keysDir, 'mallory.pub'), identities: [], signingKeys: [] } });
    return {
      initiator: 'mallory',
      governance: mallory,
      custodians: { groups: [{ name: 'custodians', members: ['mallory'], required: 1 }], vetoOnReject: false, deadlineMs: 3_600_000, roster: mallory },
      planDigest: `sha256:${'0'.repeat(64)}`,
      backend: evil.backend,
      publishDir: path.join(evil.dir, 'public'),
      stateFile: path.join(evil.dir, 'state.json'),
      overlapMs: 0,
      kind: 'cosign',
    };
  }

  /** Starts a key ceremony directly, as anyone with access to Temporal can. */
  async function startCeremonyRaw(workflowId: string, input: unknown) {
    await env.client.workflow.start(KEY_CEREMONY_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId, args: [input] });
    return until(() => keyWorkflowStatus(env.client, workflowId), (s) => s.type === 'ceremony' && s.status.state !== 'AUTHORIZING');
  }

  describe('a ceremony started directly with its own custodians, governance keys, directories and KMS endpoint', { skip: localKmsPath() ? false : 'local-kms not installed (bash scripts/toolchain.sh local-kms)' }, () => {
    let configured: KmsTestServer;
    let callers: KmsTestServer;
    before(async () => {
      configured = await startLocalKms();
      callers = await startLocalKms();
      Object.assign(env.workerEnv, configured.env);
    });
    after(async () => {
      await configured?.close();
      await callers?.close();
    });
    const kmsKeys = async (server: KmsTestServer) => (await server.client.send(new ListKeysCommand({}))).Keys ?? [];

    it('is refused when its request is not signed by a governance member the worker knows; nothing is made anywhere', async () => {
      const config = trustTestConfig(env, { kms: { endpoint: configured.address, aliasPrefix: 'countersign-refused' } }, 'refused');
      const evilDir = path.join(env.dir, 'evil-refused');
      const choices = await callersChoices({ dir: evilDir, backend: { type: 'kms', endpoint: callers.address, aliasPrefix: 'evil' } });
      const at = rotationStartTime();
      const rotationId = rotationIdFor('refused', at);
      // mallory signs for herself (the input names her as governance), then dave (in the roster, not in governance) does.
      const mallorys = await signStatement(
        { _type: CEREMONY_REQUEST_TYPE, trust: 'refused', planDigest: choices.planDigest, initiator: 'mallory', scope: `rotation:${rotationId}`, time: new Date().toISOString(), nonce: newNonce() },
        await env.signer('mallory'),
      );
      const first = await startCeremonyRaw(ceremonyIdFor(rotationId), { trust: 'refused', request: mallorys, ...choices });
      assert.equal(first.status.state, 'REFUSED');
      assert.match((first.status as { error?: string }).error ?? '', /^REQUEST_UNKNOWN_SIGNER: mallory is not in the roster of the worker's configuration/);

      const dave = await env.signer('dave');
      const davesKey = await pinRoster({ dave: config.roster.dave });
      const davesRequest = await signStatement(
        { _type: CEREMONY_REQUEST_TYPE, trust: 'refused', planDigest: choices.planDigest, initiator: 'dave', scope: `rotation:${rotationIdFor('refused', new Date(at.getTime() + 1000))}`, time: new Date().toISOString(), nonce: newNonce() },
        dave,
      );
      const second = await startCeremonyRaw(ceremonyIdFor(rotationIdFor('refused', new Date(at.getTime() + 1000))), { trust: 'refused', request: davesRequest, ...choices, initiator: 'dave', governance: davesKey });
      assert.equal(second.status.state, 'REFUSED');
      assert.match((second.status as { error?: string }).error ?? '', /^REQUEST_OUT_OF_SCOPE: dave is not a governance member of trust store refused \(erin, alice\)/);

      await assert.rejects(fs.stat(evilDir), 'nothing written where the input said');
      assert.deepEqual(await kmsKeys(callers), [], "no key in the caller's KMS");
      assert.deepEqual((await readIndex(trustConfig(config, 'refused').publishDir)).keys, []);
    });

    it("with a governance member's valid request, runs with the worker's custodians, backend and directory: the caller's are never used", async () => {
      const config = trustTestConfig(env, { kms: { endpoint: configured.address, aliasPrefix: 'countersign-wrapped' } }, 'wrapped');
      const evilDir = path.join(env.dir, 'evil-wrapped');
      const at = rotationStartTime();
      const rotationId = rotationIdFor('wrapped', at);
      const { request, planDigest } = await signCeremonyRequest(config, trustConfig(config, 'wrapped'), 'erin', { signer: await requestSigner(env, 'erin'), scope: `rotation:${rotationId}` });
      const ceremonyId = ceremonyIdFor(rotationId);
      const choices = await callersChoices({ dir: evilDir, backend: { type: 'kms', endpoint: callers.address, aliasPrefix: 'evil' } });
      const started = await startCeremonyRaw(ceremonyId, { trust: 'wrapped', request, ...choices, initiator: 'erin' });
      assert.equal(started.status.state, 'AWAITING_CUSTODIANS');
      assert.ok(started.type === 'ceremony');
      assert.equal(started.status.planDigest, planDigest);
      assert.deepEqual(started.status.location, { name: 'wrapped', publishDir: trustConfig(config, 'wrapped').publishDir, stateFile: trustConfig(config, 'wrapped').stateFile });
      await until(() => keyWorkflowStatus(env.client, ceremonyId), (s) => s.type === 'ceremony' && s.status.approval.state === 'OPEN');
      // The caller's one-person gate does not exist: mallory is no custodian, and one custodian is not enough.
      await assert.rejects(signAndDecide(env.client, ceremonyId, { approver: 'mallory', decision: 'approve', signer: await env.signer('mallory') }), (e: Error) => hasCode(e, 'APPROVAL_REFUSED') && /mallory is not a custodian of store wrapped/.test(e.message));
      await join(env, ceremonyId, 'bob');
      const half = await keyWorkflowStatus(env.client, ceremonyId);
      assert.equal(half.type === 'ceremony' && half.status.state, 'AWAITING_CUSTODIANS');
      await join(env, ceremonyId, 'carol');
      const done = await until(() => keyWorkflowStatus(env.client, ceremonyId), (s) => s.type === 'ceremony' && ['PUBLISHED', 'FAILED'].includes(s.status.state), 60_000);
      assert.ok(done.type === 'ceremony');
      assert.equal(done.status.state, 'PUBLISHED', done.status.error);

      const trust = trustConfig(config, 'wrapped');
      const secret = await new TrustStore(trust).privateRef(done.status.key!.id);
      assert.ok(secret.ref.startsWith(`awskms://${configured.address}/alias/countersign-wrapped-`), secret.ref);
      assert.equal((await kmsKeys(configured)).length > 0, true, 'the key lives in the configured KMS');
      assert.deepEqual(await kmsKeys(callers), [], "no key in the caller's KMS");
      await assert.rejects(fs.stat(evilDir), 'nothing written where the input said');
      assert.deepEqual((await readIndex(trust.publishDir)).keys.map((k) => [k.id, k.trust]), [[done.status.key!.id, 'wrapped']]);
    });
  });

  describe('revocations', () => {
    let cosignStore: ReturnType<typeof trustTestConfig>;
    let platformKey: TrustKey;
    let helmKey: TrustKey;

    before(async () => {
      // Two stores publishing to one directory, as the example configuration does.
      cosignStore = trustTestConfig(env, { publishDir: 'trust-shared/public', stateFile: 'trust-shared/private/platform.json' }, 'platform');
      const helm = trustTestConfig(env, { kind: 'openpgp', userId: { name: 'Acme Charts' }, publishDir: 'trust-shared/public', stateFile: 'trust-shared/private/helm.json' }, 'helm');
      const made = await runCeremony(env, cosignStore, 'platform');
      assert.equal(made.ceremony.state, 'PUBLISHED', made.ceremony.error);
      platformKey = made.ceremony.key!;
      const madeHelm = await runCeremony(env, helm, 'helm');
      assert.equal(madeHelm.ceremony.state, 'PUBLISHED', madeHelm.ceremony.error);
      helmKey = madeHelm.ceremony.key!;
    });

    const statusOf = async (key: TrustKey) => (await readIndex(trustConfig(cosignStore, 'platform').publishDir)).keys.find((k) => k.id === key.id)?.status;
    const revocationRequest = (over: Record<string, unknown> = {}) => ({
      _type: REVOCATION_REQUEST_TYPE,
      trust: 'platform',
      keyId: platformKey.id,
      fingerprint: platformKey.fingerprint,
      reason: 'test: leaked',
      requester: 'erin',
      time: new Date().toISOString(),
      nonce: newNonce(),
      ...over,
    });
    /** Starts a revocation directly, as anyone with access to Temporal can, and waits for the worker's answer. */
    async function revokeRaw(workflowId: string, input: unknown): Promise<RevocationStatus> {
      await env.client.workflow.start(KEY_REVOCATION_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId, args: [input] });
      return waitForRevocation(env.client, workflowId, () => false);
    }

    it("an unsigned revocation and one signed by someone outside the store's governance are refused; the key stays active and production signing with it still works", async () => {
      const id = revocationWorkflowId('platform', platformKey.id);
      const unsigned = await revokeRaw(id, { trust: 'platform', keyId: platformKey.id, reason: 'no signature at all' });
      assert.deepEqual([unsigned.state, unsigned.error?.split(':')[0]], ['REFUSED', 'REQUEST_UNSIGNED']);
      // keys revoke's wait, once the run has closed: the server refuses the update as "not found", and the answer is still the refusal.
      await env.client.workflow.getHandle(id).result();
      assert.equal((await waitForRevocationAnswer(env.client, id)).state, 'REFUSED');
      const byDave = await revokeRaw(id, { request: await signStatement(revocationRequest({ requester: 'dave' }), await env.signer('dave')) });
      assert.deepEqual([byDave.state, byDave.error?.split(':')[0]], ['REFUSED', 'REQUEST_OUT_OF_SCOPE']);
      assert.match(byDave.error ?? '', /dave is not a governance member of trust store platform \(erin, alice\)/);
      const inErinsName = await revokeRaw(id, { request: await signStatement(revocationRequest(), await env.signer('mallory')) });
      assert.deepEqual([inErinsName.state, inErinsName.error?.split(':')[0]], ['REFUSED', 'REQUEST_BAD_SIGNATURE']);

      // Through the CLI with a copy of the configuration that lists dave in governance: the worker's says otherwise.
      const copy = path.join(env.dir, 'countersign-platform-dave.yaml');
      const raw = YAML.parse(await fs.readFile(path.join(env.dir, 'countersign-platform.yaml'), 'utf8'));
      raw.trust.platform.governance.push('dave');
      await fs.writeFile(copy, YAML.stringify(raw));
      const cli = await runCli(['keys', 'revoke', platformKey.id, '--trust', 'platform', '--as', 'dave', '--key', keyFile('dave'), '--reason', 'test', '--config', copy], cliEnv('platform'));
      assert.equal(cli.code, 7, cli.stderr);
      assert.match(cli.stderr, /the worker refused the revocation of cosign-.* in trust store platform: REQUEST_OUT_OF_SCOPE: dave is not a governance member/);
      assert.equal(await statusOf(platformKey), 'active');

      const target = 'attacked-platform';
      env.config.targets[target] = { ...cosignStore.targets.prod, name: target, sources: [env.dir] };
      const dir = await copyDir(HELLO, path.join(env.dir, 'after-revocation-attacks'));
      await fs.writeFile(path.join(dir, 'VERSION'), 'after\n');
      const run = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
      await waitForPromotion(env.client, run.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      await env.decideAs(run.promotionId, 'alice', 'approve');
      const done = await waitForPromotion(env.client, run.promotionId);
      assert.equal(done.state, 'PROMOTED', done.error);
      const verdict = await verifyAgainstTrust(env.store, 'apps/hello', run.digest, trustConfig(cosignStore, 'platform').publishDir);
      assert.deepEqual([verdict.key?.id, verdict.verdict.code], [platformKey.id, 'OK']);
      if (cosign) {
        const stock = spawnSync(cosign, ['verify', '--key', path.join(trustConfig(cosignStore, 'platform').publishDir, platformKey.file), '--insecure-ignore-tlog=true', '--allow-http-registry', `${env.stack.registry.address}/apps/hello@${run.digest}`], {
          encoding: 'utf8',
          env: { ...process.env, HOME: env.dir },
        });
        assert.equal(stock.status, 0, stock.stderr);
      }
    });

    it("a revocation naming another store's key (--trust platform for the helm store's key) is refused, and that key stays active", async () => {
      const byCli = await runCli(['keys', 'revoke', helmKey.id, '--trust', 'platform', '--as', 'erin', '--key', keyFile('erin'), '--reason', 'wrong store'], cliEnv('platform'));
      assert.notEqual(byCli.code, 0);
      assert.match(byCli.stderr, new RegExp(`KEY_UNKNOWN: key ${helmKey.id} is not in trust store platform`));
      // Past the CLI: the worker refuses it too.
      const request = await signStatement(revocationRequest({ keyId: helmKey.id, fingerprint: helmKey.fingerprint, reason: 'wrong store' }), await env.signer('erin'));
      const refused = await revokeRaw(revocationWorkflowId('platform', helmKey.id), { request });
      assert.equal(refused.state, 'REFUSED');
      assert.match(refused.error ?? '', new RegExp(`^KEY_UNKNOWN: key ${helmKey.id} is not in trust store platform \\(it is another store's key\\)`));
      assert.equal(await statusOf(helmKey), 'active');
      assert.equal(await statusOf(platformKey), 'active');
      // The directory is shared; each store lists its own keys.
      for (const [store, key] of [['platform', platformKey], ['helm', helmKey]] as const) {
        const listed = await runCli(['keys', 'list', '--trust', store, '--json'], cliEnv(store));
        assert.deepEqual((JSON.parse(listed.stdout) as { keys: TrustKey[] }).keys.map((k) => k.id), [key.id]);
      }
    });

    it('with revocation.required 2, one signature does not revoke, two do, and the index names both, when and why', async () => {
      const config = trustTestConfig(env, { revocation: { required: 2 } }, 'quorum');
      const made = await runCeremony(env, config, 'quorum');
      assert.equal(made.ceremony.state, 'PUBLISHED', made.ceremony.error);
      const key = made.ceremony.key!;
      const publishDir = trustConfig(config, 'quorum').publishDir;

      const first = await runCli(['keys', 'revoke', key.id, '--trust', 'quorum', '--as', 'erin', '--key', keyFile('erin'), '--reason', 'test: laptop stolen', '--json'], cliEnv('quorum'));
      assert.equal(first.code, 0, first.stderr);
      const waiting = JSON.parse(first.stdout) as RevocationStatus;
      assert.deepEqual([waiting.state, waiting.signers, waiting.required], ['AWAITING_SIGNATURES', ['erin'], 2]);
      assert.equal((await readIndex(publishDir)).keys.find((k) => k.id === key.id)?.status, 'active', 'one signature does not revoke');

      const id = waiting.revocationId;
      const cosignAs = (who: string) => runCli(['approve', id, '--as', who, '--key', keyFile(who)], cliEnv('quorum'));
      const again = await cosignAs('erin');
      assert.equal(again.code, 7);
      assert.match(again.stderr, /erin is in none of the approver groups|erin may not approve .*: started this key revocation/);
      const notGovernance = await cosignAs('bob');
      assert.equal(notGovernance.code, 7);
      // The co-signers' roster is the store's governance: nobody else has a key there.
      assert.match(notGovernance.stderr, /APPROVAL_REFUSED: bob is not a governance member of store quorum/);
      const second = await runCli(['keys', 'revoke', key.id, '--trust', 'quorum', '--as', 'alice', '--key', keyFile('alice'), '--reason', 'me too'], cliEnv('quorum'));
      assert.equal(second.code, 2, 'a second request does not start a second revocation');
      assert.match(second.stderr, new RegExp(`${id} is already waiting for signatures: co-sign it with countersign approve`));
      assert.equal((await readIndex(publishDir)).keys.find((k) => k.id === key.id)?.status, 'active');

      // A co-signature counts for this run and this request only.
      const view = await getApproval(env.client, id);
      const alice = await env.signer('alice');
      const forRun = (runId: string, digest: string) => signDecision({ promotionId: id, runId, digest, decision: 'approve', approver: 'alice' }, alice);
      await assert.rejects(decide(env.client, id, await forRun('an-earlier-run', view.subject.digest)), (e: Error) => hasCode(e, 'APPROVAL_REFUSED') && /a vote counts in one run only/.test(e.message));
      await assert.rejects(decide(env.client, id, await forRun(view.subject.runId!, `sha256:${'0'.repeat(64)}`)), (e: Error) => hasCode(e, 'APPROVAL_REFUSED') && /is for digest sha256:0+/.test(e.message));

      const byAlice = await cosignAs('alice');
      assert.equal(byAlice.code, 0, byAlice.stderr);
      const done = await waitForRevocation(env.client, id, () => false);
      assert.deepEqual([done.state, done.signers], ['REVOKED', ['erin', 'alice']]);
      const entry = (await readIndex(publishDir)).keys.find((k) => k.id === key.id)!;
      assert.equal(entry.status, 'revoked');
      assert.deepEqual([entry.revocation?.signers, entry.revocation?.reason, entry.revocation?.workflowId], [['erin', 'alice'], 'test: laptop stolen', id]);
      assert.ok(Date.parse(entry.revocation!.at) >= Date.parse(done.approval.votes[0].acceptedAt), "revoked when alice's signature was accepted, not before");
      assert.equal((await getRevocationStatus(env.client, id)).key?.status, 'revoked');
      const shown = await runCli(['keys', 'status', id], cliEnv('quorum'));
      assert.match(shown.stdout, /REVOKED .*requested by erin: test: laptop stolen\nsigned by: erin, alice \(2 of 2 needed\)/);
    });

    it('keys revoke --wait waits for the co-signer (the run\'s end, not a poll) and answers REVOKED', async () => {
      const config = trustTestConfig(env, { revocation: { required: 2 } }, 'quorum-wait');
      const made = await runCeremony(env, config, 'quorum-wait');
      assert.equal(made.ceremony.state, 'PUBLISHED', made.ceremony.error);
      const key = made.ceremony.key!;
      const waited = runCli(['keys', 'revoke', key.id, '--trust', 'quorum-wait', '--as', 'erin', '--key', keyFile('erin'), '--reason', 'test: waited for', '--wait', '--json'], cliEnv('quorum-wait'));
      const id = revocationWorkflowId('quorum-wait', key.id);
      // The worker's answer, as `keys revoke` waits for it: the waitForAnswer update, no status query.
      // Asked once the CLI's run exists (read on another client): before the CLI has started it,
      // an id with no run at all is unknown (src/client/workflow-answer.ts).
      await until(() => env.client.workflow.getHandle(id).describe(), (d) => d.status.name === 'RUNNING', 60_000);
      const asking = await countingClient(env.stack.temporal.address);
      const waiting = await waitForRevocationAnswer(asking.client, id).finally(() => asking.close());
      assert.equal(waiting.state, 'AWAITING_SIGNATURES');
      assert.ok(asking.calls.includes('UpdateWorkflowExecution') && !asking.calls.includes('QueryWorkflow'), asking.calls.join(' '));
      // The update reads no input: a threshold and co-signers a caller passes to it change nothing.
      const forged = { required: 1, signers: ['erin', 'mallory'], approval: { groups: [{ name: 'me', members: ['mallory'], required: 1 }] } };
      const answered = (await env.client.workflow.getHandle(id).executeUpdate('waitForAnswer', { args: [forged] })) as RevocationStatus;
      assert.deepEqual([answered.state, answered.signers, answered.approval.groups.map((g) => g.required)], ['AWAITING_SIGNATURES', ['erin'], waiting.approval.groups.map((g) => g.required)]);
      const byAlice = await runCli(['approve', id, '--as', 'alice', '--key', keyFile('alice')], cliEnv('quorum-wait'));
      assert.equal(byAlice.code, 0, byAlice.stderr);
      const done = await waited;
      assert.equal(done.code, 0, done.stderr);
      const status = JSON.parse(done.stdout) as RevocationStatus;
      assert.deepEqual([status.state, status.signers], ['REVOKED', ['erin', 'alice']]);
    });
  });
});
