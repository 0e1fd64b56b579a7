/**
 * Records the committed histories the replay test runs against: one promotion that ends
 * PROMOTED, one REJECTED at platform verify, one rejected by an approver, one EXPIRED; a chart
 * release that ends RELEASED; a key rotation and its ceremony (custodians joined, key published).
 * Re-record only on purpose (a deliberate, versioned workflow change), all or some by name:
 *   npx tsx test/workflows/histories/record.ts [promoted verify-rejected approver-rejected expired chart-released key-rotation key-ceremony]
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { waitForPromotion } from '../../../src/client/promotions';
import { waitForChartRelease } from '../../../src/client/chart-releases';
import { requireTool } from '../../../src/stack/tools';
import { demoChartTarget, PGP_PASSWORD_ENV, releaseChart, TEST_KEY_PASSPHRASE } from '../../helm/helpers';
import { buildFacts, copyDir, startTestEnv } from '../../support/env';
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

    if (wants('promoted')) {
      const promoted = await env.promote({ source: { directory: HELLO }, build: buildFacts() });
      await waitForPromotion(env.client, promoted.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      await env.decideAs(promoted.promotionId, 'alice', 'approve', 'recorded');
      await waitForPromotion(env.client, promoted.promotionId);
      await record('promoted', promoted.promotionId);
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

    if (wants('chart-released')) {
      env.chartWith(demoChartTarget(env), 'charts');
      const release = await releaseChart(env, 'charts');
      await waitForChartRelease(env.client, release.releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      await env.decideAs(release.releaseId, 'alice', 'approve', 'recorded');
      const done = await waitForChartRelease(env.client, release.releaseId);
      if (done.state !== 'RELEASED') throw new Error(`chart release ended ${done.state}: ${done.error}`);
      await record('chart-released', release.releaseId);
    }

    if (wants('key-rotation') || wants('key-ceremony')) {
      const { rotationId, ceremonyId, ceremony } = await runCeremony(env, trustTestConfig(env, {}, 'recorded'), 'recorded');
      if (ceremony.state !== 'PUBLISHED') throw new Error(`ceremony ended ${ceremony.state}: ${ceremony.error}`);
      const handle = env.client.workflow.getHandle(rotationId);
      await handle.result();
      if (wants('key-ceremony')) await record('key-ceremony', ceremonyId);
      if (wants('key-rotation')) await record('key-rotation', rotationId);
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
