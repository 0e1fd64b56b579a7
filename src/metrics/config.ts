/**
 * Where the worker serves its metrics: `metrics: { listen }` in its configuration, or
 * COUNTERSIGN_METRICS_LISTEN in its environment, which wins (a chart or compose file sets it).
 * Neither set: no metrics endpoint.
 */
import { parseListen } from './server';

export const METRICS_LISTEN_ENV = 'COUNTERSIGN_METRICS_LISTEN';

export interface MetricsSection {
  /** host:port, e.g. "0.0.0.0:9464". */
  listen?: string;
}

type Add = (field: string, problem: string) => void;

export function parseMetricsSection(raw: unknown, add: Add): MetricsSection | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    add('metrics', 'must be a mapping { listen }');
    return undefined;
  }
  // Unknown keys are the schema's to report (src/config-schema.ts).
  const listen = (raw as Record<string, unknown>).listen;
  if (listen === undefined) return {};
  if (typeof listen !== 'string') {
    add('metrics.listen', 'must be HOST:PORT, e.g. 0.0.0.0:9464');
    return {};
  }
  try {
    parseListen(listen, 'metrics.listen');
  } catch (err) {
    add('metrics.listen', (err as Error).message.replace(/^BAD_CONFIG: metrics\.listen: /, ''));
    return {};
  }
  return { listen };
}

/** The listen address in force: the environment's, else the configuration's, else none. */
export function metricsListen(env: NodeJS.ProcessEnv, section: MetricsSection | undefined): string | undefined {
  const fromEnv = env[METRICS_LISTEN_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    parseListen(fromEnv, METRICS_LISTEN_ENV);
    return fromEnv.trim();
  }
  return section?.listen;
}
