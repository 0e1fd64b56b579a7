/**
 * An attacker's worker as its own process (test/support/activity-forger.ts starts it): the real
 * workflow code on countersign's task queue, whose authorize step answers the plan in the JSON
 * file named by argv[3], and whose keys check (the next local step) never answers, so the run's
 * workflow task stays with this process until it is killed. Usage:
 *   node --import tsx test/support/rogue-worker.ts <temporal address> <plan.json>
 */
import fs from 'node:fs';
import { NativeConnection, Worker } from '@temporalio/worker';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import { workflowBundle } from '../../workers/worker';

async function main(): Promise<void> {
  const [address, planFile] = process.argv.slice(2);
  const plan = JSON.parse(fs.readFileSync(planFile, 'utf8')) as unknown;
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    enableNonLocalActivities: false,
    activities: {
      authorize: async () => plan,
      checkKeys: () => new Promise<never>(() => undefined),
    },
  });
  await worker.run();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
