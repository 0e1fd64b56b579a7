/**
 * The keys a chart release signs with, pinned when the worker authorises it: the OpenPGP key's
 * fingerprint from its published keyring (exactly one key), or a trust store's active OpenPGP
 * key; the cosign public key read and fingerprinted. Private keys stay references.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CountersignError } from '../errors';
import { keyFingerprint, parsePublicKeyPem } from '../keys/public-key';
import { TrustStore } from '../trust/store';
import type { ChartTargetConfig } from './config';
import { DEFAULT_PGP_PASSWORD_ENV } from './config';
import { readKeyring } from './pgp-key';
import type { CosignKeyPin, PgpKeyPin } from './plan';
import type { KeyTrust } from '../promotion/plan';
import type { TrustConfig } from '../trust/config';

export async function pinPgpKey(chart: ChartTargetConfig): Promise<PgpKeyPin> {
  const signing = chart.signing;
  if ('trust' in signing) return pinStorePgpKey(signing.trust);
  return { ref: signing.key, passwordEnv: signing.passphraseEnv, fingerprint: await keyringFingerprint(signing.keyring), keyringPath: signing.keyring };
}

/** A trust store's active OpenPGP key, its fingerprint checked against its published keyring. */
export async function pinStorePgpKey(trust: TrustConfig): Promise<PgpKeyPin & { trust: KeyTrust }> {
  const store = new TrustStore(trust);
  const key = await store.active('openpgp');
  const secret = await store.privateRef(key.id);
  const keyringPath = path.join(trust.publishDir, key.file);
  const fingerprint = await keyringFingerprint(keyringPath);
  if (fingerprint !== key.fingerprint.toUpperCase()) {
    throw new CountersignError('KEY_INVALID', `${keyringPath} holds ${fingerprint}, but the index gives ${key.fingerprint} for ${key.id}`);
  }
  return { ref: secret.ref, passwordEnv: secret.passwordEnv ?? DEFAULT_PGP_PASSWORD_ENV, fingerprint, keyringPath, trust: { publishDir: trust.publishDir, keyId: key.id } };
}

async function keyringFingerprint(keyringPath: string): Promise<string> {
  const data = await fs.readFile(keyringPath).catch(() => {
    throw new CountersignError('KEY_MISSING', `keyring ${keyringPath} not found`);
  });
  const keys = await readKeyring(data, keyringPath);
  if (keys.length !== 1) throw new CountersignError('KEYRING_INVALID', `${keyringPath} holds ${keys.length} keys; a release pins exactly one signing key`);
  return keys[0]!.getFingerprint().toUpperCase();
}

export async function pinCosignKey(cosign: NonNullable<ChartTargetConfig['cosign']>): Promise<CosignKeyPin> {
  const pem = await fs.readFile(cosign.publicKey, 'utf8').catch(() => {
    throw new CountersignError('KEY_MISSING', `cosign public key ${cosign.publicKey} not found`);
  });
  parsePublicKeyPem(pem);
  return { ref: cosign.key, passwordEnv: cosign.passwordEnv, publicKeyPem: pem, fingerprint: keyFingerprint(pem) };
}
