/**
 * The floor's own worker process, with the options workers/worker.ts gives countersign's worker
 * (workerCapacity: activity and local step slots, the cache from COUNTERSIGN_MAX_CACHED_WORKFLOWS,
 * grace time; workflow stack traces off unless COUNTERSIGN_WORKFLOW_STACK_TRACES), on its own
 * task queue. TEMPORAL_ADDRESS names the server.
 */
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { maxCachedWorkflowsFrom, workflowStackTracesFrom } from '../../workers/main';
import { installRuntime, stackTracePreloads, workerCapacity } from '../../workers/worker';
import { floorActivities } from './activities';
import { FLOOR_TASK_QUEUE } from './workflows';

async function main(): Promise<void> {
  installRuntime({ shutdownSignals: ['SIGTERM', 'SIGINT'] });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    taskQueue: FLOOR_TASK_QUEUE,
    workflowsPath: path.join(__dirname, 'workflows.ts'),
    // As countersign's worker bundles its workflows (workers/worker.ts, workflowBundle).
    bundlerOptions: { preloadModules: stackTracePreloads(workflowStackTracesFrom(process.env)) },
    activities: floorActivities,
    ...workerCapacity({ maxCachedWorkflows: maxCachedWorkflowsFrom(process.env) }),
  });
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
