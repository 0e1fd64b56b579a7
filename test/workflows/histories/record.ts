/**
 * Records the committed histories the replay test runs against: one promotion that ends
 * PROMOTED, one REJECTED at platform verify, one rejected by an approver, one EXPIRED.
 * Re-record only on purpose (a deliberate, versioned workflow change):
 *   npx tsx test/workflows/histories/record.ts
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startPromotion, waitForPromotion } from '../../../src/client/promotions';
import { requireTool } from '../../../src/stack/tools';
import { buildFacts, copyDir, startTestEnv } from '../../support/env';

const HELLO = path.resolve(__dirname, '../../../examples/hello');

async function main(): Promise<void> {
  const env = await startTestEnv();
  const stopWorker = await env.startWorker();
  try {
    const record = async (name: string, id: string) => {
      // The temporal CLI writes the proto-JSON form that historyFromJSON reads back.
      const json = execFileSync(requireTool('temporal'), ['workflow', 'show', '--workflow-id', id, '--address', env.stack.temporal.address, '--output', 'json'], {
        encoding: 'utf8',
      });
      await fs.writeFile(path.join(__dirname, `${name}.json`), json);
      console.log(`recorded ${name}.json`);
    };
    const variant = async (name: string) => {
      const dir = await copyDir(HELLO, path.join(env.dir, name));
      await fs.writeFile(path.join(dir, 'VERSION'), `${name}\n`);
      return dir;
    };

    const promoted = await startPromotion(env.client, { target: env.target, source: { directory: HELLO }, build: buildFacts(), initiator: 'ci' });
    await waitForPromotion(env.client, promoted.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(promoted.promotionId, 'alice', 'approve', 'recorded');
    await waitForPromotion(env.client, promoted.promotionId);
    await record('promoted', promoted.promotionId);

    const mismatch = await startPromotion(env.client, {
      target: env.target,
      source: { directory: await variant('verify-rejected') },
      build: buildFacts({ sourceRepo: 'https://github.com/evil/fork' }),
      initiator: 'ci',
    });
    await waitForPromotion(env.client, mismatch.promotionId);
    await record('verify-rejected', mismatch.promotionId);

    const vetoed = await startPromotion(env.client, { target: env.target, source: { directory: await variant('approver-rejected') }, build: buildFacts(), initiator: 'ci' });
    await waitForPromotion(env.client, vetoed.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(vetoed.promotionId, 'bob', 'reject', 'recorded rejection');
    await waitForPromotion(env.client, vetoed.promotionId);
    await record('approver-rejected', vetoed.promotionId);

    const expired = await startPromotion(env.client, {
      target: env.target,
      source: { directory: await variant('expired') },
      build: buildFacts(),
      initiator: 'ci',
      deadlineMs: 1000,
    });
    await waitForPromotion(env.client, expired.promotionId);
    await record('expired', expired.promotionId);
  } finally {
    await stopWorker();
    await env.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
