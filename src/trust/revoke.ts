/**
 * Marks a store's key revoked in the published index, with who signed the revocation, when and
 * why. Production signing re-reads the index before every signature, so signing stops at once.
 */
import { CountersignError } from '../errors';
import type { KeyRevocation, TrustKey } from './index-file';
import type { StoreLocation } from './plan';
import { TrustStore } from './store';

export async function revokeStoreKey(location: StoreLocation, keyId: string, fingerprint: string, revocation: KeyRevocation): Promise<TrustKey> {
  const store = new TrustStore(location);
  const key = store.ownKeys(await store.index()).find((k) => k.id === keyId);
  // The id was checked when the request was authorised; the index could have been restored since.
  if (!key || key.fingerprint.toLowerCase() !== fingerprint.toLowerCase()) {
    throw new CountersignError('KEY_UNKNOWN', `key ${keyId} with fingerprint ${fingerprint} is not in trust store ${location.name} any more`);
  }
  if (key.status === 'revoked') return key;
  return store.setStatus(keyId, 'revoked', revocation.reason, { revocation });
}
