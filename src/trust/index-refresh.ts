/**
 * Keeps every signed index fresh: its signature expires (so a frozen copy stops being accepted),
 * so the worker, which holds the index key, signs it again once half the lifetime has passed
 * (TUF's timestamp role, done by the worker). Several workers may run it: the store's lock and the
 * "is it due" check make a second refresh a no-op.
 */
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { TrustConfig } from './config';
import { openIndexSigning } from './index-signing';
import { TrustStore, type TrustStoreOptions } from './store';

/** How a store's index gets its signing key: from the store's `index:` in `config`, opened when needed. */
export function indexSigningOptions(store: TrustConfig | undefined, env: NodeJS.ProcessEnv): TrustStoreOptions {
  const index = store?.index;
  return index ? { signing: () => openIndexSigning(index, env) } : {};
}

/** Signs each signing store's index that is due (one per published directory). Returns the directories signed. */
export async function refreshIndexes(config: Config, env: NodeJS.ProcessEnv, now = new Date()): Promise<string[]> {
  const signed: string[] = [];
  const seen = new Set<string>();
  for (const store of Object.values(config.trust)) {
    if (!store.index || seen.has(store.publishDir)) continue;
    seen.add(store.publishDir);
    const version = await new TrustStore(store, indexSigningOptions(store, env)).refreshSignature(now);
    if (version !== undefined) signed.push(store.publishDir);
  }
  return signed;
}

/** The longest wait between looks: a quarter of the shortest signature lifetime, between 1 s and 10 minutes. */
export function refreshDelayMs(config: Config | undefined): number {
  const lifetimes = Object.values(config?.trust ?? {}).flatMap((s) => (s.index ? [s.index.expiresMs] : []));
  return Math.min(10 * 60_000, Math.max(1000, Math.min(...lifetimes, Infinity) / 4));
}

/** Looks now and then every refreshDelayMs; a failure (KMS down, a locked index) is logged and tried again at the next look. */
export function startIndexRefresher(options: { config: () => Config | undefined; env: NodeJS.ProcessEnv; log?: Logger }): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    const config = options.config();
    try {
      if (config) for (const dir of await refreshIndexes(config, options.env)) options.log?.info({ dir }, 'signed the trust index again');
    } catch (err) {
      options.log?.warn({ err: (err as Error).message }, 'could not sign the trust index again; trying at the next look');
    }
    if (!stopped) timer = setTimeout(tick, refreshDelayMs(config)).unref();
  };
  timer = setTimeout(tick, 0).unref();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
