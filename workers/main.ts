/**
 * The worker process: `npm run worker` or `countersign worker`. Configured by environment:
 * TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE (default "default"),
 * passphrases in the variables the targets name (COUNTERSIGN_*_KEY_PASSWORD by default).
 */
import { createLogger } from '../src/log';
import { createWorker, ensureSearchAttributes, installRuntime } from './worker';

export async function runWorker(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const log = createLogger('countersign-worker');
  const address = env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = env.TEMPORAL_NAMESPACE ?? 'default';
  installRuntime({ shutdownSignals: ['SIGINT', 'SIGTERM'] });
  await ensureSearchAttributes(address, namespace);
  const { worker, connection } = await createWorker({ address, namespace, env, log });
  log.info({ address, namespace, taskQueue: worker.options.taskQueue }, 'worker started');
  try {
    await worker.run();
  } finally {
    await connection.close();
    log.info('worker stopped');
  }
}

if (require.main === module) {
  runWorker().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
