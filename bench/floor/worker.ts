/**
 * The floor's own worker process, with the options workers/worker.ts gives countersign's worker
 * (activity and local activity slots, cache from COUNTERSIGN_MAX_CACHED_WORKFLOWS, workflow stack traces off unless
 * COUNTERSIGN_WORKFLOW_STACK_TRACES, grace time), on its own task queue.
 * TEMPORAL_ADDRESS names the server.
 */
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { workflowStackTracesFrom } from '../../workers/main';
import { DEFAULT_LOCAL_STEP_SLOTS, DEFAULT_MAX_CACHED_WORKFLOWS, STACK_TRACES_OFF_MODULE, installRuntime } from '../../workers/worker';
import { floorActivities } from './activities';
import { FLOOR_TASK_QUEUE } from './workflows';

async function main(): Promise<void> {
  installRuntime({ shutdownSignals: ['SIGTERM', 'SIGINT'] });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS });
  const cache = process.env.COUNTERSIGN_MAX_CACHED_WORKFLOWS;
  const stackTraces = workflowStackTracesFrom(process.env);
  const worker = await Worker.create({
    connection,
    taskQueue: FLOOR_TASK_QUEUE,
    workflowsPath: path.join(__dirname, 'workflows.ts'),
    // As countersign's worker bundles its workflows (workers/worker.ts, workflowBundle).
    bundlerOptions: { preloadModules: stackTraces ? [] : [STACK_TRACES_OFF_MODULE] },
    activities: floorActivities,
    maxConcurrentActivityTaskExecutions: 20,
    maxConcurrentLocalActivityExecutions: DEFAULT_LOCAL_STEP_SLOTS,
    maxCachedWorkflows: cache ? Number(cache) : DEFAULT_MAX_CACHED_WORKFLOWS,
    shutdownGraceTime: '10s',
  });
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
