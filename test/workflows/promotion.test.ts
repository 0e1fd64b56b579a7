import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cosignTag } from '../../src/cosign/tags';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { getPromotionStatus, waitForPromotion } from '../../src/client/promotions';
import { stepsOf } from '../../src/client/history-steps';
import type { TargetConfig } from '../../src/config';
import { hasCode } from '../../src/errors';
import { useTestEnv, buildFacts, copyDir, COMMIT, TEST_PASSWORD } from '../support/env';
import { buildImageFromDirectory } from '../../src/oci/build';
import { buildAndPush, createAttestations, developerSign } from '../../src/promotion/steps';
import { writeKeyPair } from '../../src/keys/file-signer';
import fs from 'node:fs/promises';

const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('promotion workflow on a real Temporal dev server and registry', () => {
  const env = useTestEnv();
  let ci: TargetConfig | undefined;
  /** A target whose repository is where the developer CI publishes (an image must be in its target's repository). */
  const ciTarget = () => (ci ??= env.targetWith({ repository: `${env.stack.registry.address}/apps/ci` }, 'ci'));


  it('promotes a directory build end to end once approved', async () => {
    const started = await env.promote({ source: { directory: HELLO }, build: buildFacts() });
    assert.equal(started.attached, false);
    const waiting = await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(waiting.state, 'AWAITING_APPROVAL');
    assert.ok(waiting.checks.length >= 6 && waiting.checks.every((c) => c.ok), JSON.stringify(waiting.checks));

    await env.decideAs(started.promotionId, 'alice', 'approve', 'looks good');
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    assert.deepEqual(
      done.timeline.map((t) => [t.step, t.status]),
      [
        ['authorize', 'succeeded'],
        ['keys', 'succeeded'],
        ['build', 'succeeded'],
        ['attest', 'succeeded'],
        ['dev-sign', 'succeeded'],
        ['platform-verify', 'succeeded'],
        ['approval', 'succeeded'],
        ['prod-sign', 'succeeded'],
        ['release', 'succeeded'],
      ],
    );
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    const sigs = await verifyImageSignatures(env.store, 'apps/hello', started.digest, platformPem);
    assert.equal(sigs.valid, 1);
    const prod = await env.store.getManifest('apps/hello', 'prod');
    assert.equal(prod?.digest, started.digest);
    assert.ok((await env.store.getManifest('apps/hello', cosignTag(started.digest, 'att'))) !== undefined);

    // One activity per step; attest works from the pushed image by digest, not a second build.
    // Every step runs as a local activity (docs/architecture.md, "Local steps").
    const history = await env.client.workflow.getHandle(started.promotionId).fetchHistory();
    const steps = stepsOf(history.events ?? []).map((s) => `${s.name}${s.local ? ' (local)' : ''}`);
    // The gate reads the evidence pack when it opens and again once quorum is met (docs/approvals.md).
    assert.deepEqual(steps, ['authorize (local)', 'checkKeys (local)', 'build (local)', 'attestImage (local)', 'devSign (local)', 'platformVerify (local)', 'evidence (local)', 'evidence (local)', 'prodSign (local)', 'release (local)']);
    // Prod sign and release run in the workflow task that took the approval: no task queued after it.
    const events = history.events ?? [];
    const approvedAt = events.findIndex((e) => e.workflowExecutionUpdateCompletedEventAttributes && events.some((a) => a.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'decide' && String(a.eventId) === String(e.workflowExecutionUpdateCompletedEventAttributes!.acceptedEventId)));
    assert.ok(approvedAt > 0, 'the approval is in history');
    assert.equal(events.slice(approvedAt).filter((e) => e.workflowTaskScheduledEventAttributes).length, 0, 'no workflow task after the approval');
  });

  it('rejects at platform verify when the provenance does not match the policy, listing every failed check', async () => {
    const dir = await copyDir(HELLO, path.join(env.dir, 'mismatch'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'mismatch\n');
    const started = await env.promote({
      source: { directory: dir },
      build: buildFacts({ sourceRepo: 'https://github.com/evil/fork', builderId: 'https://example.com/rogue-builder' }),
      initiator: 'ci',
    });
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'REJECTED');
    const failed = done.checks.filter((c) => !c.ok).map((c) => c.name).sort();
    assert.deepEqual(failed, ['policy.builderId', 'policy.sourceRepo']);
    assert.match(done.error ?? '', /source repo expected https:\/\/github.com\/acme\/hello, attested https:\/\/github.com\/evil\/fork/);
    assert.ok(!done.timeline.some((t) => t.step === 'approval'), 'no approval is asked');
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/hello', started.digest, platformPem)).valid, 0);
  });

  it('refuses a bad decision with the reason and rejects with a reason', async () => {
    const dir = await copyDir(HELLO, path.join(env.dir, 'reject'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'reject\n');
    const started = await env.promote({ source: { directory: dir }, build: buildFacts() });
    await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await writeKeyPair(env.keysDir, 'mallory', TEST_PASSWORD, { force: true });
    await assert.rejects(env.decideAs(started.promotionId, 'mallory', 'approve'), (e) => hasCode(e, 'APPROVAL_REFUSED') && /mallory is not in the approver roster/.test((e as Error).message));
    await assert.rejects(env.decideAs(started.promotionId, 'bob', 'reject'), (e) => hasCode(e, 'APPROVAL_REFUSED') && /needs a reason/.test((e as Error).message));
    await env.decideAs(started.promotionId, 'bob', 'reject', 'CVE-2026-1234 unpatched');
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'REJECTED');
    assert.match(done.error ?? '', /bob: CVE-2026-1234 unpatched/);
    await assert.rejects(env.decideAs(started.promotionId, 'alice', 'approve'), (e) => hasCode(e, 'UNKNOWN_PROMOTION') || hasCode(e, 'APPROVAL_REFUSED'));
  });

  it('expires when nobody decides before the deadline', async () => {
    const dir = await copyDir(HELLO, path.join(env.dir, 'expire'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'expire\n');
    const started = await env.promote({ source: { directory: dir }, build: buildFacts(), initiator: 'ci', deadlineMs: 2000 });
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'EXPIRED');
    assert.equal(done.timeline.find((t) => t.step === 'approval')?.status, 'expired');
  });

  it('attaches a duplicate trigger to the running promotion', async () => {
    const dir = await copyDir(HELLO, path.join(env.dir, 'dup'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'dup\n');
    const first = await env.promote({ source: { directory: dir }, build: buildFacts() });
    const second = await env.promote({ source: { directory: dir }, build: buildFacts() });
    assert.equal(second.promotionId, first.promotionId);
    assert.equal(second.attached, true);
    await waitForPromotion(env.client, first.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(first.promotionId, 'alice', 'approve');
    assert.equal((await waitForPromotion(env.client, first.promotionId)).state, 'PROMOTED');
  });

  /** No platform signature and no release tag on the digest: a rejected promotion leaves nothing half-done. */
  async function assertNothingProdSigned(digest: string) {
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/ci', digest, platformPem)).valid, 0, 'no production signature');
    assert.notEqual((await env.store.getManifest('apps/ci', 'prod'))?.digest, digest, 'no release tag');
  }

  /** Plays the developer's CI: builds, pushes, attests and signs an image with the given key. */
  async function developerCiPublish(name: string, devKeyPrefix: string, facts = buildFacts()) {
    const dir = await copyDir(HELLO, path.join(env.dir, name));
    await fs.writeFile(path.join(dir, 'VERSION'), `${name}\n`);
    const image = await buildImageFromDirectory(dir);
    const deps = { storeFor: () => env.store, env: { CI_KEY_PASSWORD: TEST_PASSWORD } };
    const location = { repository: `${env.stack.registry.address}/apps/ci`, digest: image.digest };
    await buildAndPush(deps, dir, location);
    const statements = await createAttestations(deps, dir, location, { ...facts, invocationId: 'ci-run-1', startedOn: '2026-11-21T00:00:00Z', finishedOn: '2026-11-21T00:01:00Z' });
    await developerSign(deps, location, { ref: path.join(env.keysDir, `${devKeyPrefix}.key`), passwordEnv: 'CI_KEY_PASSWORD' }, [statements.provenanceDigest, statements.sbomDigest]);
    return `${location.repository}@${image.digest}`;
  }

  it('promotes an existing image the developer CI signed and attested', async () => {
    const reference = await developerCiPublish('ci-good', 'dev');
    const started = await env.promote({ target: ciTarget(), source: { image: reference }, commit: COMMIT });
    await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(started.promotionId, 'bob', 'approve');
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    assert.deepEqual(done.timeline.filter((t) => t.status === 'skipped').map((t) => t.step), ['attest', 'dev-sign']);
    assert.equal((await env.store.getManifest('apps/ci', 'prod'))?.digest, started.digest);
  });

  it('signs the verified digest even when the tag moves between verify and sign', async () => {
    const first = await developerCiPublish('ci-tag-a', 'dev');
    const second = await developerCiPublish('ci-tag-b', 'dev');
    const digestOf = (ref: string) => ref.split('@')[1];
    const tagTo = async (ref: string) => {
      const manifest = await env.store.getManifest('apps/ci', digestOf(ref));
      await env.store.putManifest('apps/ci', 'candidate', manifest!.data, manifest!.mediaType);
    };
    await tagTo(first);
    // The reference names the tag and the digest, as `docker buildx` prints it; only the digest counts.
    const tagged = `${env.stack.registry.address}/apps/ci:candidate@${digestOf(first)}`;
    const started = await env.promote({ target: ciTarget(), source: { image: tagged }, commit: COMMIT });
    assert.equal(started.digest, digestOf(first));
    await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await tagTo(second); // someone moves the tag after verification
    await env.decideAs(started.promotionId, 'alice', 'approve');
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/ci', digestOf(first), platformPem)).valid, 1);
    assert.equal((await verifyImageSignatures(env.store, 'apps/ci', digestOf(second), platformPem)).valid, 0, 'what the tag now names was never verified, so never signed');
    assert.equal((await env.store.getManifest('apps/ci', 'prod'))?.digest, digestOf(first));
    assert.equal((await env.store.getManifest('apps/ci', 'candidate'))?.digest, digestOf(second), 'the moved tag is left where it was moved');
  });

  it('rejects an image signed and attested by a key other than the developer key', async () => {
    await writeKeyPair(env.keysDir, 'intruder', TEST_PASSWORD, { force: true });
    const reference = await developerCiPublish('ci-intruder', 'intruder');
    const started = await env.promote({ target: ciTarget(), source: { image: reference }, commit: COMMIT });
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'REJECTED');
    const failed = done.checks.filter((c) => !c.ok).map((c) => c.name).sort();
    assert.deepEqual(failed, ['developerSignature', 'provenanceAttestation', 'sbomAttestation']);
    assert.match(done.error ?? '', /signature does not verify with the expected key/);
    await assertNothingProdSigned(started.digest);
  });

  it('rejects when the attested commit is not the one asked for', async () => {
    const reference = await developerCiPublish('ci-commit', 'dev', buildFacts({ commit: '9f00e1c000000000000000000000000000000000' }));
    const started = await env.promote({ target: ciTarget(), source: { image: reference }, commit: 'abc1234' });
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'REJECTED');
    assert.deepEqual(done.checks.filter((c) => !c.ok).map((c) => c.name), ['policy.commit']);
    assert.match(done.error ?? '', /commit expected abc1234, attested 9f00e1c0/);
    await assertNothingProdSigned(started.digest);
  });

  it('reports an unknown promotion id clearly', async () => {
    await assert.rejects(getPromotionStatus(env.client, 'promote-prod-0000000000000000'), (e) => hasCode(e, 'UNKNOWN_PROMOTION'));
  });
});
