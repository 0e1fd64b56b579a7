/**
 * Publication: the new key's public file under its dated name, its private reference in the
 * private state file, and its index entry (the previous active key of the kind becomes retiring).
 */
import type { CreatedKey } from './create-key';
import type { TrustKey } from './index-file';
import { TrustStore, type TrustLocation } from './store';

/** `<kind>-<YYYY-MM-DD>-<first 16 of the fingerprint>`. */
export function keyId(created: CreatedKey): string {
  return `${created.kind}-${created.created.slice(0, 10)}-${created.fingerprint.slice(0, 16).toLowerCase()}`;
}

export async function publishKey(
  location: TrustLocation,
  created: CreatedKey,
  options: { ceremony: string; overlapMs: number; now?: Date },
): Promise<{ key: TrustKey; retiring: TrustKey[] }> {
  const store = new TrustStore(location);
  const id = keyId(created);
  const day = created.created.slice(0, 10);
  const existing = (await store.index()).keys.find((k) => k.id === id);
  const file =
    existing?.file ??
    (created.kind === 'openpgp' ? `keyring-${day}-${created.fingerprint.toUpperCase()}.gpg` : await store.freeFileName(`pubkey-${day}`, 'pem'));
  return store.publish(
    { id, kind: created.kind, fingerprint: created.fingerprint, file, created: created.created, ceremony: options.ceremony },
    Buffer.from(created.publicBase64, 'base64'),
    { ref: created.ref, passwordEnv: created.passwordEnv },
    { now: options.now ?? new Date(), overlapMs: options.overlapMs },
  );
}
