/**
 * Anyone who can reach Temporal can run a worker of their own on the task queue. Such a worker
 * answers a promotion's authorize step (a local activity, run beside the workflow task) with a
 * plan of its own making: its roster, its repository, a directory of the worker's to build. Every
 * later step checks the worker's seal on the plan first, so once a real worker takes over the run
 * fails at its next step and nothing is built, pushed or signed. Real Temporal dev server and
 * registry; the attacker runs a real SDK worker with the real workflow code.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { waitForPromotion } from '../../src/client/promotions';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { buildImageFromDirectory } from '../../src/oci/build';
import type { PromotionStatus } from '../../workflows/promotion-messages';
import { activityResultOf, latestRunId, startRogueWorkerProcess, waitForStep } from '../support/activity-forger';
import { buildFacts, COMMIT, useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('a plan written into history by anyone but the worker is refused at the next step', () => {
  const env = useTestEnv({ worker: false });
  let digest: string;

  before(async () => {
    digest = (await buildImageFromDirectory(HELLO)).digest;
  });

  /**
   * Starts a promotion while only an attacker's worker is on the task queue, whose authorize step
   * (a local activity) answers `plan`; once the run has recorded it, a real worker takes over.
   * The keys check after it is local too, so the attacker's worker would run it next: it never
   * answers, the workflow task's heartbeat records the forged plan meanwhile, and the attacker's
   * worker is then killed. Returns how the run ended.
   */
  async function forgeAuthorize(plan: () => unknown): Promise<PromotionStatus> {
    const rogue = await startRogueWorkerProcess(env.stack.temporal.address, plan(), path.join(env.dir, 'rogue'));
    let started;
    try {
      started = await env.promote({ source: { directory: HELLO }, build: buildFacts(), commit: COMMIT });
      await waitForStep(env.client, started.promotionId, 'authorize');
    } finally {
      await rogue.kill();
    }
    const stop = await env.startWorker();
    try {
      return await waitForPromotion(env.client, started.promotionId, { until: (s) => ['FAILED', 'REFUSED', 'REJECTED', 'PROMOTED', 'AWAITING_APPROVAL'].includes(s.state) });
    } finally {
      await stop();
    }
  }

  async function assertNothingSigned(options: { developer: boolean }, repository = 'apps/hello'): Promise<void> {
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    const devPem = await fs.readFile(path.join(env.keysDir, 'dev.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, repository, digest, platformPem)).valid, 0, 'no platform signature');
    if (options.developer) assert.equal((await verifyImageSignatures(env.store, repository, digest, devPem)).valid, 0, 'no developer signature');
  }

  it('an unsealed plan of the attacker\'s making: fails at the keys step with SEAL_INVALID, nothing built or signed', async () => {
    const secrets = path.join(env.dir, 'worker-secrets');
    await fs.mkdir(secrets, { recursive: true });
    await fs.writeFile(path.join(secrets, 'token'), 'not for the registry');
    const status = await forgeAuthorize(() => ({
      target: 'prod',
      repository: `${env.stack.registry.address}/exfil/secrets`,
      digest,
      source: { kind: 'directory', path: secrets },
      build: buildFacts(),
      policy: env.target.policy,
      approval: { groups: [], vetoOnReject: false, deadlineMs: 60_000, roster: {} },
      keys: {
        developer: { ref: path.join(env.keysDir, 'dev.key'), passwordEnv: 'X', publicKeyPem: '', fingerprint: 'a' },
        platform: { ref: path.join(env.keysDir, 'platform.key'), passwordEnv: 'X', publicKeyPem: '', fingerprint: 'b' },
      },
      releaseTag: 'prod',
      signatureFormat: 'legacy',
      initiator: 'ci',
      policyDigest: `sha256:${'0'.repeat(64)}`,
      configFile: '/dev/null',
    }));
    assert.equal(status.state, 'FAILED', JSON.stringify(status.timeline));
    const keys = status.timeline.find((t) => t.step === 'keys');
    assert.equal(keys?.status, 'failed');
    assert.match(keys?.error ?? '', /^SEAL_INVALID: the promotion plan of promote-prod-[0-9a-f]+ carries no worker seal/);
    assert.ok(!status.timeline.some((t) => t.step === 'build' && t.status === 'succeeded'), 'nothing was built');
    assert.equal(await env.store.getManifest('exfil/secrets', digest), undefined, 'nothing was pushed to the attacker\'s repository');
    await assertNothingSigned({ developer: true });
  });

  it("a genuine sealed plan copied from an earlier run's history, or one with a field changed, is refused", async () => {
    // A real earlier run, authorised by a real worker and rejected at the gate.
    const stop = await env.startWorker();
    const first = await env.promote({ source: { directory: HELLO }, build: buildFacts(), commit: COMMIT });
    await waitForPromotion(env.client, first.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(first.promotionId, 'alice', 'reject', 'not this week');
    await waitForPromotion(env.client, first.promotionId);
    await stop();
    const genuine = await activityResultOf(env.client, first.promotionId, await latestRunId(env.client, first.promotionId), 'authorize');
    assert.equal(typeof genuine.seal, 'string', 'the worker sealed the plan it resolved');

    // Replayed as is into the next run of the same promotion (which would otherwise need a re-open).
    const copied = await forgeAuthorize(() => genuine);
    assert.equal(copied.state, 'FAILED');
    assert.match(copied.timeline.find((t) => t.step === 'keys')?.error ?? '', /^SEAL_INVALID: the promotion plan of .* does not match its seal \(changed after the worker sealed it, or sealed for another run or purpose\)/);

    // The same plan with a laxer quorum and the seal kept.
    const relaxed = structuredClone(genuine) as { approval: { groups: Array<{ required: number }> } };
    relaxed.approval.groups[0].required = 0;
    const changed = await forgeAuthorize(() => relaxed);
    assert.equal(changed.state, 'FAILED');
    assert.match(changed.timeline.find((t) => t.step === 'keys')?.error ?? '', /^SEAL_INVALID: .* does not match its seal/);
    // The earlier run was developer-signed before its rejection; the platform key signed nothing.
    await assertNothingSigned({ developer: false });
  });
});
