/**
 * Marks a store's key revoked in the published index, with who signed the revocation, when and
 * why; replaces its published file with a tombstone, so the stock command customers copied stops
 * working too (the index keeps its history and, for a cosign key, its public key); and, when the
 * store asks for it, disables the key in KMS. Production signing re-reads the index before every
 * signature, so signing stops at once.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { DescribeKeyCommand, DisableKeyCommand } from '@aws-sdk/client-kms';
import { CountersignError } from '../errors';
import { classifyKmsError } from '../keys/kms-errors';
import { isKmsRef, parseKmsRef } from '../keys/kms-ref';
import { createKmsClient } from '../keys/kms-signer';
import { keyFingerprint, parsePublicKeyPem } from '../keys/public-key';
import { writeFileAtomic, type KeyRevocation, type TrustKey } from './index-file';
import type { StoreLocation } from './plan';
import { TrustStore, type TrustStoreOptions } from './store';

export interface RevokeOptions {
  store?: TrustStoreOptions;
  /** Disable the key in KMS too (trust.<name>.revocation.disableKmsKey); read with `env`. */
  disableKmsKey?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface Revoked {
  key: TrustKey;
  /** When the store asked for the key to be disabled and it lives in KMS: which, and whether that worked. */
  kms?: { ref: string; disabled: boolean; error?: string };
}

export async function revokeStoreKey(location: StoreLocation, keyId: string, fingerprint: string, revocation: KeyRevocation, options: RevokeOptions = {}): Promise<Revoked> {
  const store = new TrustStore(location, options.store);
  const key = store.ownKeys(await store.index()).find((k) => k.id === keyId);
  // The id was checked when the request was authorised; the index could have been restored since.
  if (!key || key.fingerprint.toLowerCase() !== fingerprint.toLowerCase()) {
    throw new CountersignError('KEY_UNKNOWN', `key ${keyId} with fingerprint ${fingerprint} is not in trust store ${location.name} any more`);
  }
  let revoked = key;
  if (key.status !== 'revoked') {
    const publicKey = key.kind === 'cosign' ? await publishedSpki(location.publishDir, key) : undefined;
    revoked = await store.setStatus(keyId, 'revoked', revocation.reason, { revocation: { ...revocation, ...(publicKey ? { publicKey } : {}) } });
  }
  // After the index says revoked (a retry finds it so and still lays the tombstone).
  await writeFileAtomic(path.join(location.publishDir, revoked.file), tombstone(revoked));
  const kms = options.disableKmsKey ? await disableKmsKey(store, revoked, options.env ?? process.env) : undefined;
  return { key: revoked, ...(kms ? { kms } : {}) };
}

/** What replaces a revoked key's published file: plain text, which stock cosign, helm and gpg refuse as a key. */
export function tombstone(key: TrustKey): string {
  const r = key.revocation;
  return [
    `REVOKED: ${key.id} (fingerprint ${key.fingerprint}) was revoked at ${r?.at ?? key.statusChangedAt}${r ? ` by ${r.signers.join(', ')}` : ''}: ${r?.reason ?? key.reason}`,
    'Nothing it signed is trusted. Its public key and history are in index.json, which the store signs.',
    '',
  ].join('\n');
}

/** The key's public half as base64 SPKI DER, from its published pem (which must be the key the index names). */
async function publishedSpki(publishDir: string, key: TrustKey): Promise<string | undefined> {
  const pem = await fs.readFile(path.join(publishDir, key.file), 'utf8').catch(() => undefined);
  if (!pem?.includes('-----BEGIN PUBLIC KEY-----') || keyFingerprint(pem) !== key.fingerprint.toLowerCase()) return undefined;
  return parsePublicKeyPem(pem).export({ type: 'spki', format: 'der' }).toString('base64');
}

/** How often an unreachable KMS is asked again before the revocation reports the key as not disabled. */
const DISABLE_ATTEMPTS = 3;

/**
 * DisableKey on the key behind the store's private reference (an alias is resolved first: DisableKey
 * takes a key id). The revocation stands whatever KMS answers: a failure is reported, not thrown,
 * so the operator can disable the key by hand.
 */
async function disableKmsKey(store: TrustStore, key: TrustKey, env: NodeJS.ProcessEnv): Promise<Revoked['kms']> {
  const { ref } = await store.privateRef(key.id);
  if (!isKmsRef(ref)) return undefined;
  const parsed = parseKmsRef(ref);
  const client = createKmsClient(parsed, env);
  for (let attempt = 1; ; attempt++) {
    try {
      const described = await client.send(new DescribeKeyCommand({ KeyId: parsed.keyId }));
      const state = described.KeyMetadata?.KeyState;
      // Disabled already, or pending deletion: it signs nothing either way.
      if (state === 'Enabled') await client.send(new DisableKeyCommand({ KeyId: described.KeyMetadata?.KeyId ?? described.KeyMetadata?.Arn }));
      return { ref, disabled: true };
    } catch (err) {
      const verdict = classifyKmsError(err, ref, 'DisableKey');
      if (verdict.retry && attempt < DISABLE_ATTEMPTS) {
        await new Promise((r) => setTimeout(r, 500 * attempt));
        continue;
      }
      return { ref, disabled: false, error: verdict.retry ? `${ref}: ${verdict.reason}` : verdict.error.message };
    }
  }
}
