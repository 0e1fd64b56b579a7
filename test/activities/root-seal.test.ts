/**
 * The root's publish step acts only on the worker's sealed draft and on signatures that hold
 * against it: an unsealed draft (one of an attacker's making, answered by id), a sealed draft
 * changed after sealing, a forged or missing signature, each refused with nothing written.
 * In the SDK's activity harness (MockActivityEnvironment, workflow id "test"), real keys.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createRootActivities } from '../../activities/root';
import { pinRoster } from '../../src/approval/roster';
import { signDecision } from '../../src/approval/sign';
import { FileSigner, writeKeyPair } from '../../src/keys/file-signer';
import { keyFingerprint } from '../../src/keys/public-key';
import { ROOT_PLAN_SEAL, type RootPlan } from '../../src/trust/authorize-root';
import { ROOT_TYPE, rootDigest, rootText } from '../../src/trust/root-file';
import { MOCK_RUN_ID, MOCK_WORKFLOW_ID, memoryKeyring, sealedAs } from '../support/sealed-plan';

describe('the root publish step refuses what the worker did not seal or governance did not sign', () => {
  const keyring = memoryKeyring();
  const { publishTrustRoot } = createRootActivities({ seal: () => keyring });
  let dir: string;
  let plan: RootPlan;
  const vote = async (who: string, digest = plan.digest) => {
    const signed = await signDecision({ promotionId: MOCK_WORKFLOW_ID, runId: MOCK_RUN_ID, digest, decision: 'approve', approver: who }, await FileSigner.load(path.join(dir, 'keys', `${who}.key`), 'pw'));
    return { approver: who, decision: 'approve', ...signed };
  };
  const run = (...args: Parameters<typeof publishTrustRoot>) => new MockActivityEnvironment({ activityType: 'publishTrustRoot' }).run(publishTrustRoot, ...args).catch((e: unknown) => e);
  const refusal = async (...args: Parameters<typeof publishTrustRoot>) => {
    const err = await run(...args);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.nonRetryable, true);
    return err.message;
  };

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-root-seal-'));
    for (const who of ['erin', 'dave', 'index']) await writeKeyPair(path.join(dir, 'keys'), who, 'pw');
    const pem = (who: string) => fs.readFile(path.join(dir, 'keys', `${who}.pub`), 'utf8');
    const governance = await Promise.all(['erin', 'dave'].map(async (name) => ({ name, fingerprint: keyFingerprint(await pem(name)), publicKey: await pem(name) })));
    const text = rootText({ _type: ROOT_TYPE, trust: 'platform', version: 1, created: new Date().toISOString(), expires: new Date(Date.now() + 86_400_000).toISOString(), threshold: 2, governance, indexKey: { fingerprint: keyFingerprint(await pem('index')), publicKey: await pem('index') } });
    const roster = await pinRoster(Object.fromEntries(['erin', 'dave'].map((n) => [n, { publicKey: path.join(dir, 'keys', `${n}.pub`), identities: [], signingKeys: [] }])));
    plan = {
      trust: 'platform',
      version: 1,
      requester: 'erin',
      text,
      digest: rootDigest(text),
      signers: { groups: [{ name: 'governance', members: ['erin', 'dave'], required: 2 }], vetoOnReject: true, deadlineMs: 60_000, roster },
      location: { name: 'platform', publishDir: path.join(dir, 'public'), stateFile: path.join(dir, 'state.json') },
      configFile: path.join(dir, 'countersign.yaml'),
    };
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('an unsealed draft, a sealed one edited, too few or forged signatures: refused, nothing published; the genuine one is published', async () => {
    const votes = [await vote('erin'), await vote('dave')];
    assert.match(await refusal({ runId: MOCK_RUN_ID, plan: plan as never }, votes), /^SEAL_INVALID: the trust root plan of test carries no worker seal/);
    const sealed = sealedAs(keyring, ROOT_PLAN_SEAL, plan);
    const attackerText = plan.text.replace(/"threshold": 2/, '"threshold": 1');
    assert.match(await refusal({ runId: MOCK_RUN_ID, plan: { ...sealed, text: attackerText, digest: rootDigest(attackerText) } }, votes), /^SEAL_INVALID: the trust root plan of test does not match its seal/);
    assert.match(await refusal({ runId: MOCK_RUN_ID, plan: sealed }, [votes[0]]), /^APPROVAL_REFUSED: .*the quorum is not met \(governance 1\/2\)/);
    assert.match(await refusal({ runId: MOCK_RUN_ID, plan: sealed }, [votes[0], { ...votes[1], signature: votes[0].signature }]), /^APPROVAL_REFUSED: .*dave's statement does not verify/);
    assert.match(await refusal({ runId: MOCK_RUN_ID, plan: sealed }, [votes[0], await vote('dave', `sha256:${'0'.repeat(64)}`)]), /^APPROVAL_REFUSED: .*dave's vote is for digest sha256:0+, not/);
    await assert.rejects(fs.readdir(plan.location.publishDir), 'nothing was written');

    const published = await run({ runId: MOCK_RUN_ID, plan: sealed }, votes);
    assert.deepEqual(published, { file: 'root-platform-1.json', digest: plan.digest, signers: ['erin', 'dave'] });
    assert.equal(await fs.readFile(path.join(plan.location.publishDir, 'root-platform-1.json'), 'utf8'), plan.text);
  });
});
