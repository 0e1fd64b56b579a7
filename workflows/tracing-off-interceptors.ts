/**
 * Bundled by a worker that does not trace (workers/worker.ts): the fixed shape of
 * ./workflow-tracing.ts with no span work.
 */
import { tracingInterceptors } from './workflow-tracing';

export const interceptors = () => tracingInterceptors(undefined);
