import { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { createKey, type CreatedKey, type KeyRequest } from '../src/trust/create-key';
import type { TrustKey } from '../src/trust/index-file';
import { runsPinnedTo } from '../src/trust/promotions';
import { publishKey } from '../src/trust/publish';
import { TrustStore, type TrustLocation } from '../src/trust/store';
import { CountersignError } from '../src/errors';
import { connectTemporalClient } from '../src/temporal/connect';
import type { TemporalTls } from '../src/temporal/connection';
import { asActivity } from './failure';

export interface KeyActivityDeps {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Where visibility is asked about pinned promotions (the worker's own server). */
  temporal?: { address: string; namespace?: string; tls?: TemporalTls };
}

/** Key ceremony and rotation activities over src/trust. */
export function createKeyActivities(deps: KeyActivityDeps) {
  const { log } = deps;
  /** A short-lived client per call: polls are minutes apart, and nothing outlives the worker. */
  const withClient = async <T>(fn: (client: Client) => Promise<T>): Promise<T> => {
    if (!deps.temporal) throw new CountersignError('STACK_ERROR', 'this worker was started without a Temporal address for visibility');
    const connection = await connectTemporalClient(deps.temporal, { connectTimeout: '5s', purpose: 'for visibility' });
    try {
      return await fn(new Client({ connection, namespace: deps.temporal.namespace ?? 'default' }));
    } finally {
      await connection.close();
    }
  };
  return {
    async createCeremonyKey(request: KeyRequest): Promise<CreatedKey> {
      return asActivity(log, () => createKey(request, deps.env ?? process.env));
    },

    async publishCeremonyKey(location: TrustLocation, created: CreatedKey, ceremony: string, overlapMs: number): Promise<{ key: TrustKey; retiring: TrustKey[] }> {
      return asActivity(log, () => publishKey(location, created, { ceremony, overlapMs }));
    },

    /** How many promotions (cosign key) or chart releases (OpenPGP key) are still running pinned to this fingerprint. */
    async countPinnedInFlight(fingerprint: string): Promise<number> {
      return asActivity(log, async () => withClient(async (client) => (await runsPinnedTo(client, fingerprint)).length));
    },

    async retireKey(location: TrustLocation, id: string, reason: string): Promise<TrustKey> {
      return asActivity(log, async () => {
        const store = new TrustStore(location);
        const key = (await store.index()).keys.find((k) => k.id === id);
        // Revoked (or already retired) meanwhile: nothing left to do.
        if (key && (key.status === 'revoked' || key.status === 'retired')) return key;
        return store.setStatus(id, 'retired', reason);
      });
    },
  };
}

export type KeyActivities = ReturnType<typeof createKeyActivities>;
