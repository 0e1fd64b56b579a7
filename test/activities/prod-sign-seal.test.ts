/**
 * Production signing acts only on what the worker's own steps sealed and on votes that hold
 * against the sealed plan: each forgery a caller could write into history (an unsealed or
 * failing verification report, one sealed for another run, a vote by the wrong key, for another
 * run, by the commit's author, short of the quorum, under a veto) is refused before the platform
 * key signs, on a real registry; the genuine case signs exactly once. In the SDK's activity
 * harness (MockActivityEnvironment, workflow id "test").
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPromotionActivities } from '../../activities/promotion';
import { APPROVAL_STATEMENT_TYPE } from '../../src/approval/constants';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { keyFingerprint } from '../../src/keys/public-key';
import { RegistryStore } from '../../src/oci/registry';
import { PROMOTION_SEALS, type PinnedRosterEntry, type PromotionPlan } from '../../src/promotion/plan';
import { signStatement } from '../../src/requests/sign';
import { FIXTURE_KEY_PASSWORD, useRegistryFixture } from '../support/registry-fixture';
import { MOCK_RUN_ID, MOCK_WORKFLOW_ID, memoryKeyring, sealedAs, sealedRun, testPlan } from '../support/sealed-plan';

const REPO = 'seal/hello';

describe('production signing refuses what the worker did not seal, and votes that do not hold', () => {
  const fx = useRegistryFixture({ name: 'prod-seal', keys: ['platform', 'dev', 'alice', 'bob', 'mallory'] });
  let platformPem: string;
  const pem: Record<string, string> = {};
  const keyring = memoryKeyring();
  let plan: PromotionPlan;

  before(async () => {
    const { registry, image } = fx;
    await fx.pushImage(REPO);
    for (const name of ['platform', 'dev', 'alice', 'bob', 'mallory']) pem[name] = fx.key(name).publicKeyPem;
    platformPem = pem.platform;
    const entry = (name: string): PinnedRosterEntry => ({ publicKeyPem: pem[name], publicKeyHex: '', fingerprint: keyFingerprint(pem[name]), identities: [`${name}@example.com`], signingKeyFingerprints: [] });
    plan = testPlan({
      repository: `${registry.address}/${REPO}`,
      digest: image.digest,
      initiator: 'ci',
      approval: { groups: [{ name: 'approvers', members: ['alice', 'bob'], required: 1 }], vetoOnReject: true, deadlineMs: 3_600_000, roster: { alice: entry('alice'), bob: entry('bob') } } as PromotionPlan['approval'],
      keys: {
        developer: { passwordEnv: 'UNUSED', publicKeyPem: pem.dev, fingerprint: keyFingerprint(pem.dev) },
        platform: { ref: fx.key('platform').privateKeyPath, passwordEnv: 'PLATFORM_PW', publicKeyPem: platformPem, fingerprint: keyFingerprint(platformPem) },
      },
    });
  });

  const activities = () => createPromotionActivities({ storeFor: (host) => new RegistryStore(host), env: { PLATFORM_PW: FIXTURE_KEY_PASSWORD }, seal: () => keyring });
  const passed = (fields: Record<string, unknown> = {}, runId = MOCK_RUN_ID) => sealedAs(keyring, PROMOTION_SEALS.report, { ok: true, checks: [], ...fields }, runId);
  const vote = async (approver: string, options: { key?: string; decision?: 'approve' | 'reject'; runId?: string; evidence?: string } = {}) => {
    const decision = options.decision ?? 'approve';
    const statement = {
      _type: APPROVAL_STATEMENT_TYPE,
      approver,
      decision,
      digest: fx.image.digest,
      ...(options.evidence ? { evidence: options.evidence } : {}),
      promotionId: MOCK_WORKFLOW_ID,
      runId: options.runId ?? MOCK_RUN_ID,
      time: new Date().toISOString(),
      ...(decision === 'reject' ? { reason: 'no' } : {}),
    };
    const signed = await signStatement(statement, fx.key(options.key ?? approver).signer);
    return { approver, decision, ...signed };
  };
  const platformSignatures = async () => (await verifyImageSignatures(new RegistryStore(fx.registry.address), REPO, fx.image.digest, platformPem)).valid;
  const refused = async (report: unknown, decisions: unknown[], evidence?: unknown): Promise<ApplicationFailure> => {
    const err = await new MockActivityEnvironment({ activityType: 'prodSign' })
      .run(activities().prodSign, sealedRun(keyring, plan), report as never, { decisions }, ...((evidence === undefined ? [] : [evidence]) as []))
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, `refused, got ${String(err)}`);
    assert.equal(err.nonRetryable, true, err.message);
    assert.equal(await platformSignatures(), 0, 'the platform key signed nothing');
    return err;
  };

  it('an unsealed report, one sealed for another run, and a failing one', async () => {
    const unsealed = await refused({ ok: true, checks: [] }, [await vote('alice')]);
    assert.match(unsealed.message, /^SEAL_INVALID: the verification report of test carries no worker seal/);
    const otherRun = await refused(passed({}, 'another-run'), [await vote('alice')]);
    assert.match(otherRun.message, /^SEAL_INVALID: the verification report of test does not match its seal/);
    const failing = await refused(sealedAs(keyring, PROMOTION_SEALS.report, { ok: false, checks: [] }), [await vote('alice')]);
    assert.match(failing.message, /^VERIFICATION_FAILED: platform verify did not pass/);
    // A plan's seal is not a report's: the kinds do not stand in for each other.
    const swapped = await refused(sealedRun(keyring, plan).plan, [await vote('alice')]);
    assert.equal(swapped.type, 'SEAL_INVALID');
  });

  it('votes that do not hold against the sealed roster and quorum', async () => {
    const cases: Array<[string, unknown[], Record<string, unknown>, RegExp]> = [
      ['no votes', [], {}, /the quorum is not met \(approvers 0\/1\)/],
      ["alice's name, mallory's key", [await vote('alice', { key: 'mallory' })], {}, /alice's statement does not verify with their roster key/],
      ['someone not in the roster', [await vote('mallory')], {}, /"mallory" is not in the plan's roster/],
      ['a vote for another run', [await vote('alice', { runId: 'earlier-run' })], {}, /alice's vote is for test run earlier-run, not test run/],
      ['the commit author approving', [await vote('alice')], { commitAuthors: ['Alice@Example.com'] }, /alice authored the commit and may not approve it/],
      ['a veto beside an approval', [await vote('alice'), await vote('bob', { decision: 'reject' })], {}, /bob rejected and the policy gives a rejection the veto/],
      ['one person voting twice', [await vote('alice'), await vote('alice')], {}, /alice voted twice/],
    ];
    for (const [name, decisions, report, why] of cases) {
      const err = await refused(passed(report), decisions);
      assert.equal(err.type, 'APPROVAL_REFUSED', `${name}: ${err.message}`);
      assert.match(err.message, why, name);
    }
  });

  it('with the evidence step\'s sealed digest, a vote over another pack (or none) does not count, and a forged evidence result is refused', async () => {
    const current = `sha256:${'c'.repeat(64)}`;
    const earlier = `sha256:${'e'.repeat(64)}`;
    const evidence = sealedAs(keyring, PROMOTION_SEALS.evidence, { digest: current, release: {}, attestations: 2 });
    const stale = await refused(passed(), [await vote('alice', { evidence: earlier })], evidence);
    assert.equal(stale.type, 'APPROVAL_REFUSED');
    assert.match(stale.message, new RegExp(`alice's vote is over evidence pack ${earlier}, not ${current}`));
    const none = await refused(passed(), [await vote('alice')], evidence);
    assert.match(none.message, new RegExp(`alice's vote is over no evidence pack, not ${current}`));
    // A caller writing the evidence result into history has no seal for it.
    const forged = await refused(passed(), [await vote('alice', { evidence: earlier })], { digest: earlier, release: {}, attestations: 2 });
    assert.match(forged.message, /^SEAL_INVALID: the evidence check of test carries no worker seal/);
  });

  it('the evidence step reads only a sealed report and its own sealed last read, and keeps the release pinned when the tag moves', async () => {
    const read = (report: unknown, previous?: unknown) =>
      new MockActivityEnvironment({ activityType: 'evidence' }).run(activities().evidence, sealedRun(keyring, plan), report as never, ...((previous === undefined ? [] : [previous]) as []));
    const unsealed = await read({ ok: true, checks: [] }).then(() => undefined, (e: unknown) => e);
    assert.ok(unsealed instanceof ApplicationFailure && unsealed.type === 'SEAL_INVALID', String(unsealed));

    // Nothing released yet: the first read pins "no release".
    const first = (await read(passed())) as { digest: string; release: { digest?: string }; seal: string };
    assert.match(first.digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(first.release, {});
    // A registry pusher points the release tag at the image: a later read keeps the pin, so the pack (and every vote over it) stands.
    const { registry, image } = fx;
    const store = new RegistryStore(registry.address);
    await store.putManifest(REPO, 'prod', image.manifest.data, image.manifest.descriptor.mediaType);
    const again = (await read(passed(), first)) as typeof first;
    assert.equal(again.digest, first.digest);
    assert.deepEqual(again.release, {});
    // Without the pin (a fresh gate) the tag is read: that is another pack.
    const fresh = (await read(passed())) as typeof first;
    assert.notEqual(fresh.digest, first.digest);
    // A last read written into history by a caller (to choose the release compared with) has no seal.
    const forged = await read(passed(), { ...first, release: { digest: image.digest } }).then(() => undefined, (e: unknown) => e);
    assert.ok(forged instanceof ApplicationFailure && forged.type === 'SEAL_INVALID', String(forged));
    assert.match((forged as Error).message, /the evidence check of test does not match its seal/);
  });

  it('a sealed passing report and a vote that holds: signed exactly once', async () => {
    const result = (await new MockActivityEnvironment({ activityType: 'prodSign' }).run(activities().prodSign, sealedRun(keyring, plan), passed(), { decisions: [await vote('bob')] })) as { added: boolean };
    assert.equal(result.added, true);
    assert.equal(await platformSignatures(), 1);
  });
});
