import { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { authorizeCeremony, type CeremonyAuthorizeInput } from '../src/trust/authorize-ceremony';
import { authorizeRevocation, type RevocationAuthorizeInput } from '../src/trust/authorize-revocation';
import { createKey, type CreatedKey, type KeyRequest } from '../src/trust/create-key';
import type { GovernanceDeps } from '../src/trust/governance';
import type { KeyIssuance, KeyRevocation, TrustKey } from '../src/trust/index-file';
import type { CeremonyPlan, RevocationPlan, StoreLocation } from '../src/trust/plan';
import { runsPinnedTo } from '../src/client/pinned-runs';
import { publishKey, type Published } from '../src/trust/publish';
import { revokeStoreKey, type Revoked } from '../src/trust/revoke';
import { TrustStore } from '../src/trust/store';
import { indexSigningOptions } from '../src/trust/index-refresh';
import { CountersignError } from '../src/errors';
import { connectTemporalClient } from '../src/temporal/connect';
import type { TemporalTls } from '../src/temporal/connection';
import { asActivity } from './failure';

export interface KeyActivityDeps {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Where visibility is asked about pinned promotions (the worker's own server). */
  temporal?: { address: string; namespace?: string; tls?: TemporalTls };
  /** The worker's configuration and earlier runs: ceremony and revocation requests are checked against them. */
  authorize?: GovernanceDeps;
}

/** Key ceremony, rotation and revocation activities over src/trust. */
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
  // The index is signed with the key the worker's configuration gives the store now.
  const storeOptions = (location: StoreLocation) => indexSigningOptions(deps.authorize?.config()?.trust[location.name], deps.env ?? process.env);
  const governance = (): GovernanceDeps => {
    if (!deps.authorize) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker): it starts nothing');
    return deps.authorize;
  };
  return {
    /** Checks the signed ceremony request against the worker's configuration and resolves the plan the ceremony pins. */
    async authorizeCeremony(input: CeremonyAuthorizeInput): Promise<CeremonyPlan> {
      return asActivity(log, () => authorizeCeremony(governance(), input));
    },

    /** Checks the signed revocation request against the worker's configuration and resolves the plan the revocation pins. */
    async authorizeRevocation(input: RevocationAuthorizeInput): Promise<RevocationPlan> {
      return asActivity(log, () => authorizeRevocation(governance(), input));
    },

    async createCeremonyKey(request: KeyRequest): Promise<CreatedKey> {
      return asActivity(log, () => createKey(request, deps.env ?? process.env));
    },

    /** Publishes the ceremony's key; `earlier` says so when another run of the ceremony id published it before (nothing is made again). */
    async publishCeremonyKey(location: StoreLocation, created: CreatedKey, ceremony: string, overlapMs: number, issuance?: Omit<KeyIssuance, 'at'>): Promise<Published> {
      return asActivity(log, () => publishKey(location, created, { ceremony, overlapMs, issuance, store: storeOptions(location) }));
    },

    /** How many promotions (cosign key) or chart releases (OpenPGP key) are still running pinned to this fingerprint. */
    async countPinnedInFlight(fingerprint: string): Promise<number> {
      return asActivity(log, async () => withClient(async (client) => (await runsPinnedTo(client, fingerprint)).length));
    },

    async retireKey(location: StoreLocation, id: string, reason: string): Promise<TrustKey> {
      return asActivity(log, async () => {
        const store = new TrustStore(location, storeOptions(location));
        const key = store.ownKeys(await store.index()).find((k) => k.id === id);
        // Revoked (or already retired) meanwhile: nothing left to do.
        if (key && (key.status === 'revoked' || key.status === 'retired')) return key;
        return store.setStatus(id, 'retired', reason);
      });
    },

    /** Revokes the key in the index, lays its tombstone, and disables it in KMS when the plan says so. */
    async revokeTrustKey(location: StoreLocation, keyId: string, fingerprint: string, revocation: KeyRevocation, options: { disableKmsKey?: boolean } = {}): Promise<Revoked> {
      return asActivity(log, () => revokeStoreKey(location, keyId, fingerprint, revocation, { store: storeOptions(location), disableKmsKey: options.disableKmsKey, env: deps.env ?? process.env }));
    },
  };
}

export type KeyActivities = ReturnType<typeof createKeyActivities>;
