/**
 * Governance steps act only on what the worker sealed: a caller allowed to complete activities
 * by id answers a ceremony's key-creation step with a key of their own, or a revocation's
 * authorize step with a plan naming a key the governance never asked to revoke, or a rotation's
 * ceremony's publication step with one that makes a key of the store retiring. The next step
 * refuses (SEAL_INVALID) and the published index is unchanged. Real dev server, real worker,
 * the SDK's own async-completion client (test/support/activity-forger.ts).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keyWorkflowStatus } from '../../src/client/trust';
import { requestRevocation, waitForRevocation } from '../../src/client/revocation';
import { writeKeyPair, FileSigner } from '../../src/keys/file-signer';
import { keyFingerprint } from '../../src/keys/public-key';
import { REVOCATION_REQUEST_TYPE } from '../../src/requests/revocation-request';
import { newNonce, signStatement } from '../../src/requests/sign';
import { readIndex } from '../../src/trust/index-file';
import type { CeremonyStatus, RotationStatus } from '../../workflows/key-ceremony-messages';
import { completeActivityById, startWorkflowsOnlyWorker, type TestWorker } from '../support/activity-forger';
import { TEST_PASSWORD, useTestEnv } from '../support/env';
import { join, runCeremony, startCeremony, trustTestConfig, until } from '../trust/support';

describe("governance steps refuse what the worker did not seal", () => {
  const env = useTestEnv({ worker: false, setup: (e) => writeKeyPair(e.keysDir, 'mallory', TEST_PASSWORD).then(() => undefined) });
  let workflowsOnly: TestWorker;
  let malloryPem: string;
  before(async () => {
    workflowsOnly = await startWorkflowsOnlyWorker(env.stack.temporal.address);
    malloryPem = await fs.readFile(path.join(env.keysDir, 'mallory.pub'), 'utf8');
  });
  after(() => workflowsOnly?.stop());

  /** What createCeremonyKey would return for mallory's key, unsealed, as anyone outside the worker must write it. */
  const malloryCreatedKey = () => ({
    kind: 'cosign',
    ref: path.join(env.keysDir, 'mallory.key'),
    passwordEnv: 'X',
    fingerprint: keyFingerprint(malloryPem),
    created: new Date().toISOString(),
    publicBase64: Buffer.from(malloryPem).toString('base64'),
  });

  /**
   * The custodians join once the ceremony's gate is open; the worker is stopped before the last
   * join, so no worker executes the step that join brings the run to: the attacker answers it.
   */
  async function quorumWithNoWorker(ceremonyId: string, stopWorker: () => Promise<void>): Promise<void> {
    await until(() => keyWorkflowStatus(env.client, ceremonyId), (s) => s.type === 'ceremony' && s.status.approval.state === 'OPEN');
    await join(env, ceremonyId, 'bob');
    await stopWorker();
    await join(env, ceremonyId, 'carol');
  }

  it("a ceremony's key-creation step answered with the attacker's key: publication refuses it, the index gets no key", async () => {
    const config = trustTestConfig(env, {}, 'platform');
    const stopWorker = await env.startWorker();
    const { ceremonyId } = await startCeremony(env, config, 'platform', 'erin');
    await quorumWithNoWorker(ceremonyId, stopWorker);
    await completeActivityById(env.client, ceremonyId, 'createCeremonyKey', malloryCreatedKey());
    const stop = await env.startWorker();
    try {
      const done = await until(() => keyWorkflowStatus(env.client, ceremonyId), (s) => s.type === 'ceremony' && !['AWAITING_CUSTODIANS', 'CREATING', 'PUBLISHING'].includes(s.status.state), 60_000);
      const status = done.status as CeremonyStatus;
      assert.equal(status.state, 'FAILED');
      assert.match(status.error ?? '', /SEAL_INVALID: the created key of key-ceremony-.* carries no worker seal/);
      const index = await readIndex(path.join(env.dir, 'trust-platform/public')).catch(() => ({ keys: [] as Array<{ fingerprint: string }> }));
      assert.ok(!index.keys.some((k) => k.fingerprint === keyFingerprint(malloryPem)), "the attacker's key is not in the index");
    } finally {
      await stop();
    }
  });

  it("a revocation's authorize step answered with a plan of the attacker's: nothing is revoked", async () => {
    const config = trustTestConfig(env, {}, 'rev');
    const stopWorker = await env.startWorker();
    const { ceremony } = await runCeremony(env, config, 'rev');
    await stopWorker();
    assert.equal(ceremony.state, 'PUBLISHED', ceremony.error);
    const victim = ceremony.key!;
    // mallory is no governance member: the worker would refuse this request, so she answers its authorize step herself.
    const mallory = await FileSigner.load(path.join(env.keysDir, 'mallory.key'), TEST_PASSWORD);
    const request = await signStatement({ _type: REVOCATION_REQUEST_TYPE, trust: 'rev', keyId: victim.id, fingerprint: victim.fingerprint, reason: 'forged', requester: 'mallory', time: new Date().toISOString(), nonce: newNonce() }, mallory);
    const id = await requestRevocation(env.client, request);
    await completeActivityById(env.client, id, 'authorizeRevocation', {
      trust: 'rev',
      keyId: victim.id,
      fingerprint: victim.fingerprint,
      kind: 'cosign',
      reason: 'forged',
      requester: 'erin',
      requestedAt: new Date().toISOString(),
      requestDigest: `sha256:${'0'.repeat(64)}`,
      required: 1,
      cosigners: { groups: [], vetoOnReject: true, deadlineMs: 60_000, roster: {} },
      location: ceremony.location,
      alreadyRevoked: false,
      configFile: '/dev/null',
    });
    const stop = await env.startWorker();
    try {
      const status = await waitForRevocation(env.client, id, (s) => !['AUTHORIZING', 'AWAITING_SIGNATURES', 'REVOKING'].includes(s.state), 60_000);
      assert.equal(status.state, 'FAILED');
      assert.match(status.error ?? '', /SEAL_INVALID: the key revocation plan of key-revocation-rev-.* carries no worker seal/);
      const index = await readIndex(path.join(env.dir, 'trust-rev/public'));
      assert.equal(index.keys.find((k) => k.id === victim.id)?.status, 'active', 'the key stays active');
    } finally {
      await stop();
    }
  });

  it("a rotation's ceremony answered with a forged publication: retireKey refuses it, the old key stays active", async () => {
    const config = trustTestConfig(env, {}, 'ret');
    let stopWorker = await env.startWorker();
    const first = await runCeremony(env, config, 'ret');
    assert.equal(first.ceremony.state, 'PUBLISHED', first.ceremony.error);
    const victim = first.ceremony.key!;
    const { rotationId, ceremonyId } = await startCeremony(env, config, 'ret', 'erin');
    await quorumWithNoWorker(ceremonyId, stopWorker);
    // Both of the ceremony's steps answered by the caller: a key that is never published, and a publication
    // that says the victim is retiring now (its overlap over), unsealed as anyone outside the worker must write it.
    await completeActivityById(env.client, ceremonyId, 'createCeremonyKey', malloryCreatedKey());
    await completeActivityById(env.client, ceremonyId, 'publishCeremonyKey', {
      key: { ...victim, id: 'forged', fingerprint: keyFingerprint(malloryPem) },
      retiring: [{ ...victim, status: 'active', retireAfter: new Date(Date.now() - 60_000).toISOString() }],
      location: first.ceremony.location,
    });
    stopWorker = await env.startWorker();
    try {
      const done = await until(() => keyWorkflowStatus(env.client, rotationId), (s) => s.type === 'rotation' && !['CEREMONY', 'RETIRING'].includes(s.status.state), 60_000);
      const status = done.status as RotationStatus;
      assert.equal(status.state, 'FAILED');
      assert.match(status.error ?? '', /SEAL_INVALID: the ceremony publication of key-ceremony-.* carries no worker seal/);
      assert.equal(status.retiring[0]?.id, victim.id, 'the forged publication did reach the retire step');
      assert.equal(status.retiring[0]?.retiredAt, undefined);
      const index = await readIndex(path.join(env.dir, 'trust-ret/public'));
      assert.equal(index.keys.find((k) => k.id === victim.id)?.status, 'active', 'the key stays active');
      assert.ok(!index.keys.some((k) => k.fingerprint === keyFingerprint(malloryPem)), "the attacker's key is not in the index");
    } finally {
      await stopWorker();
    }
  });
});
