/**
 * Publication: the new key's public file under its dated name, its private reference in the
 * private state file, and its index entry (the previous active key of the kind becomes retiring).
 */
import type { CreatedKey } from './create-key';
import type { KeyIssuance, TrustKey } from './index-file';
import { TrustStore, type TrustLocation, type TrustStoreOptions } from './store';

/** `<kind>-<YYYY-MM-DD>-<first 16 of the fingerprint>`. */
export function keyId(created: CreatedKey): string {
  return `${created.kind}-${created.created.slice(0, 10)}-${created.fingerprint.slice(0, 16).toLowerCase()}`;
}

export interface Published {
  key: TrustKey;
  retiring: TrustKey[];
  /**
   * Set when the key was in the index before this run: another run of the same ceremony id made
   * and published it (a replayed rotation). Nothing was made or published now; it says what was.
   */
  earlier?: string;
}

export async function publishKey(
  location: TrustLocation,
  created: CreatedKey,
  options: { ceremony: string; overlapMs: number; now?: Date; issuance?: Omit<KeyIssuance, 'at'>; store?: TrustStoreOptions },
): Promise<Published> {
  const store = new TrustStore(location, options.store);
  const id = keyId(created);
  const day = created.created.slice(0, 10);
  const now = options.now ?? new Date();
  const existing = (await store.index()).keys.find((k) => k.id === id);
  const file =
    existing?.file ??
    (created.kind === 'openpgp' ? `keyring-${day}-${created.fingerprint.toUpperCase()}.gpg` : await store.freeFileName(`pubkey-${day}`, 'pem'));
  const published = await store.publish(
    { id, kind: created.kind, fingerprint: created.fingerprint, file, created: created.created, ceremony: options.ceremony, ...(options.issuance ? { issuance: { ...options.issuance, at: now.toISOString() } } : {}) },
    Buffer.from(created.publicBase64, 'base64'),
    { ref: created.ref, passwordEnv: created.passwordEnv },
    { now, overlapMs: options.overlapMs },
  );
  // The same run retrying its publish step finds its own entry: that is this run's publication.
  const sameRun = options.issuance !== undefined && published.key.issuance?.runId === options.issuance.runId;
  if (!published.existing || sameRun) return { key: published.key, retiring: published.retiring };
  const by = published.key.issuance ? `run ${published.key.issuance.runId} of ${published.key.issuance.workflowId}` : `an earlier run of ${published.key.ceremony ?? options.ceremony}`;
  return {
    key: published.key,
    retiring: [],
    earlier: `key ${id} was already published by ${by} at ${published.key.validFrom} and is ${published.key.status} now: nothing was made or published`,
  };
}
