import { Client } from '@temporalio/client';
import { CountersignError } from '../src/errors';
import { connectTemporalClient } from '../src/temporal/connect';
import type { TemporalTls } from '../src/temporal/connection';

export interface VisibilityTarget {
  address: string;
  namespace?: string;
  tls?: TemporalTls;
}

/**
 * Runs `fn` with a short-lived client of the worker's own Temporal server: the activities that
 * read visibility and results do so minutes apart, and nothing outlives the worker.
 */
export async function withVisibilityClient<T>(temporal: VisibilityTarget | undefined, fn: (client: Client) => Promise<T>): Promise<T> {
  if (!temporal) throw new CountersignError('STACK_ERROR', 'this worker was started without a Temporal address for visibility');
  const connection = await connectTemporalClient(temporal, { connectTimeout: '5s', purpose: 'for visibility' });
  try {
    return await fn(new Client({ connection, namespace: temporal.namespace ?? 'default' }));
  } finally {
    await connection.close();
  }
}
