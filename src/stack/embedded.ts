import path from 'node:path';
import { SEARCH_ATTRIBUTE_TYPES } from '../temporal-names';
import { startRegistry, type RunningRegistry } from './registry';
import { startTemporalDevServer, type TemporalDevServer } from './temporal';

export interface EmbeddedStack {
  dataDir: string;
  temporal: TemporalDevServer;
  registry: RunningRegistry;
  stop(): Promise<void>;
}

export interface EmbeddedStackOptions {
  dataDir: string;
  temporalPort?: number;
  uiPort?: number;
  registryPort?: number;
  /** Where the ports not given come from (`freePort` by default; tests that restart a component on its port pick steadier ones). */
  pickPort?: () => Promise<number>;
  ui?: boolean;
  /** Outlive this process (countersign dev up). */
  detached?: boolean;
  /** Extra Temporal server settings (tests lower the history thresholds with these). */
  temporalDynamicConfig?: Record<string, string | number | boolean>;
}

/**
 * The embedded default stack: a Temporal dev server persisting to <dataDir>/temporal.db and an
 * OCI registry storing under <dataDir>/registry, both on loopback.
 */
export async function startEmbeddedStack(options: EmbeddedStackOptions): Promise<EmbeddedStack> {
  const dataDir = path.resolve(options.dataDir);
  const registry = await startRegistry({
    rootDir: path.join(dataDir, 'registry'),
    port: options.registryPort,
    pickPort: options.pickPort,
    detached: options.detached,
    logFile: options.detached ? path.join(dataDir, 'registry.log') : undefined,
  });
  let temporal: TemporalDevServer;
  try {
    temporal = await startTemporalDevServer({
      dbFile: path.join(dataDir, 'temporal.db'),
      port: options.temporalPort,
      uiPort: options.uiPort,
      pickPort: options.pickPort,
      ui: options.ui,
      searchAttributes: SEARCH_ATTRIBUTE_TYPES,
      detached: options.detached,
      logFile: options.detached ? path.join(dataDir, 'temporal.log') : undefined,
      dynamicConfig: options.temporalDynamicConfig,
    });
  } catch (err) {
    await registry.stop();
    throw err;
  }
  return {
    dataDir,
    temporal,
    registry,
    stop: async () => {
      await Promise.all([temporal.stop(), registry.stop()]);
    },
  };
}
