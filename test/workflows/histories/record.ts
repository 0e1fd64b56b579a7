/**
 * Records the committed histories the replay test runs against: one promotion that ends
 * PROMOTED (one started with the waitForGate update riding on the start, one with prod sign local), one REJECTED at platform verify, one rejected by an approver, one EXPIRED, one whose
 * evidence pack changed at the gate (a vote dropped, then PROMOTED over the new pack); a chart
 * release that ends RELEASED; a key rotation and its ceremony (custodians joined, key published),
 * twice: `key-rotation` and `key-ceremony` were recorded before the client waited for the worker's
 * answer with updates, `-answered` after (their histories hold the waitForCeremony and waitForAnswer
 * updates).
 * Re-record only on purpose (a deliberate, versioned workflow change), all or some by name:
 *   npx tsx test/workflows/histories/record.ts [promoted promoted-until-gate promoted-local-prod-sign verify-rejected approver-rejected expired evidence-changed chart-released key-rotation key-ceremony key-rotation-answered key-ceremony-answered]
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { signAndDecide, startPromotion, waitForPromotion } from '../../../src/client/promotions';
import { waitForChartRelease } from '../../../src/client/chart-releases';
import { requireTool } from '../../../src/stack/tools';
import { demoChartTarget, PGP_PASSWORD_ENV, releaseChart, TEST_KEY_PASSPHRASE } from '../../helm/helpers';
import { getApproval } from '../../../src/client/promotions';
import { createAttestations, developerSign } from '../../../src/promotion/steps';
import { buildFacts, copyDir, INITIATOR, startTestEnv, TEST_PASSWORD } from '../../support/env';
import { runCeremony, trustTestConfig } from '../../trust/support';

const HELLO = path.resolve(__dirname, '../../../examples/hello');

async function main(): Promise<void> {
  const wanted = new Set(process.argv.slice(2));
  const wants = (name: string) => wanted.size === 0 || wanted.has(name);
  const env = await startTestEnv();
  env.workerEnv[PGP_PASSWORD_ENV] = TEST_KEY_PASSPHRASE;
  const stopWorker = await env.startWorker();
  try {
    const record = async (name: string, id: string) => {
      // The temporal CLI writes the proto-JSON form that historyFromJSON reads back.
      const json = execFileSync(requireTool('temporal'), ['workflow', 'show', '--workflow-id', id, '--address', env.stack.temporal.address, '--output', 'json'], {
        encoding: 'utf8',
      });
      await fs.writeFile(path.join(__dirname, `${name}.json`), json);
      // Workflows that derive ids from their own (a rotation names its ceremony) replay under it.
      const idsFile = path.join(__dirname, 'workflow-ids.json');
      const ids = JSON.parse(await fs.readFile(idsFile, 'utf8').catch(() => '{}')) as Record<string, string>;
      await fs.writeFile(idsFile, `${JSON.stringify({ ...ids, [name]: id }, null, 2)}\n`);
      console.log(`recorded ${name}.json`);
    };
    const variant = async (name: string) => {
      const dir = await copyDir(HELLO, path.join(env.dir, name));
      await fs.writeFile(path.join(dir, 'VERSION'), `${name}\n`);
      return dir;
    };

    /** A promotion of `directory` approved by alice at the gate, recorded as `name` once it ends. */
    const promoteApproved = async (name: string, directory: string) => {
      const started = await env.promote({ source: { directory }, build: buildFacts() });
      await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      await env.decideAs(started.promotionId, 'alice', 'approve', 'recorded');
      await waitForPromotion(env.client, started.promotionId);
      await record(name, started.promotionId);
    };

    if (wants('promoted')) await promoteApproved('promoted', HELLO);
    // Prod sign and release run in the workflow task that takes the approval (LOCAL_PROD_SIGN_PATCH).
    if (wants('promoted-local-prod-sign')) await promoteApproved('promoted-local-prod-sign', await variant('promoted-local-prod-sign'));

    if (wants('promoted-until-gate')) {
      // Started with the waitForGate update riding on the start: the first workflow task answers it.
      const request = { target: 'prod', source: { directory: await variant('promoted-until-gate') }, build: buildFacts(), initiator: INITIATOR, signer: await env.signer(INITIATOR) };
      const started = await startPromotion(env.client, request, { untilGate: true });
      await signAndDecide(env.client, started.promotionId, { approver: 'alice', decision: 'approve', reason: 'recorded', signer: await env.signer('alice'), view: started.gate.approval });
      await waitForPromotion(env.client, started.promotionId);
      await record('promoted-until-gate', started.promotionId);
    }

    if (wants('verify-rejected')) {
      const mismatch = await env.promote({
        source: { directory: await variant('verify-rejected') },
        build: buildFacts({ sourceRepo: 'https://github.com/evil/fork' }),
      });
      await waitForPromotion(env.client, mismatch.promotionId);
      await record('verify-rejected', mismatch.promotionId);
    }

    if (wants('approver-rejected')) {
      const vetoed = await env.promote({ source: { directory: await variant('approver-rejected') }, build: buildFacts() });
      await waitForPromotion(env.client, vetoed.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      await env.decideAs(vetoed.promotionId, 'bob', 'reject', 'recorded rejection');
      await waitForPromotion(env.client, vetoed.promotionId);
      await record('approver-rejected', vetoed.promotionId);
    }

    if (wants('expired')) {
      const expired = await env.promote({
        source: { directory: await variant('expired') },
        build: buildFacts(),
        deadlineMs: 1000,
      });
      await waitForPromotion(env.client, expired.promotionId);
      await record('expired', expired.promotionId);
    }

    if (wants('evidence-changed')) {
      // A one-second reminder (pinned past the configuration's one-minute floor) so the gate reads the pack again at once.
      const target = env.targetWith({ approval: { approvers: ['alice', 'bob'], required: 2, deadline: '1h', reminderEvery: '1m' } }, 'evidence');
      target.approval.reminderEveryMs = 1000;
      const dir = await variant('evidence-changed');
      const started = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
      const parked = await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      const first = (await getApproval(env.client, started.promotionId)).evidence?.digest;
      await env.decideAs(started.promotionId, 'alice', 'approve', 'over the first pack');
      const deps = { storeFor: () => env.store, env: { CI_KEY_PASSWORD: TEST_PASSWORD } };
      const location = { repository: target.repository, digest: parked.digest };
      const statements = await createAttestations(deps, dir, location, { ...buildFacts(), invocationId: 'recorded-second-build', startedOn: '2026-11-21T00:00:00Z', finishedOn: '2026-11-21T00:01:00Z' });
      await developerSign(deps, location, { ref: path.join(env.keysDir, 'dev.key'), passwordEnv: 'CI_KEY_PASSWORD' }, [statements.provenanceDigest]);
      for (let i = 0; i < 600 && (await getApproval(env.client, started.promotionId)).evidence?.digest === first; i++) await new Promise((r) => setTimeout(r, 100));
      await env.decideAs(started.promotionId, 'alice', 'approve', 'over the second pack');
      await env.decideAs(started.promotionId, 'bob', 'approve', 'over the second pack');
      const done = await waitForPromotion(env.client, started.promotionId);
      if (done.state !== 'PROMOTED' || !done.approval.dropped?.length) throw new Error(`evidence-changed ended ${done.state} with ${done.approval.dropped?.length ?? 0} dropped vote(s): ${done.error}`);
      await record('evidence-changed', started.promotionId);
    }

    if (wants('chart-released')) {
      env.chartWith(demoChartTarget(env), 'charts');
      const release = await releaseChart(env, 'charts');
      await waitForChartRelease(env.client, release.releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      await env.decideAs(release.releaseId, 'alice', 'approve', 'recorded');
      const done = await waitForChartRelease(env.client, release.releaseId);
      if (done.state !== 'RELEASED') throw new Error(`chart release ended ${done.state}: ${done.error}`);
      await record('chart-released', release.releaseId);
    }

    // runCeremony waits for the worker's answer as keys ceremony does (the rotation's waitForCeremony, the ceremony's waitForAnswer).
    for (const suffix of ['', '-answered']) {
      if (!wants(`key-rotation${suffix}`) && !wants(`key-ceremony${suffix}`)) continue;
      const { rotationId, ceremonyId, ceremony } = await runCeremony(env, trustTestConfig(env, {}, `recorded${suffix}`), `recorded${suffix}`);
      if (ceremony.state !== 'PUBLISHED') throw new Error(`ceremony ended ${ceremony.state}: ${ceremony.error}`);
      const handle = env.client.workflow.getHandle(rotationId);
      await handle.result();
      if (wants(`key-ceremony${suffix}`)) await record(`key-ceremony${suffix}`, ceremonyId);
      if (wants(`key-rotation${suffix}`)) await record(`key-rotation${suffix}`, rotationId);
    }
  } finally {
    await stopWorker();
    await env.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
