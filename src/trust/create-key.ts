/**
 * Makes the key a ceremony asked for: a cosign key file, a KMS key (CreateKey ECC_NIST_P256
 * SIGN_VERIFY + CreateAlias), or an OpenPGP key for Helm. Named after the ceremony, so a retried
 * activity finds the key it already made instead of making a second one.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, NotFoundException } from '@aws-sdk/client-kms';
import { CountersignError } from '../errors';
import { writeKeyPair } from '../keys/file-signer';
import { classifyKmsError } from '../keys/kms-errors';
import { parseKmsRef } from '../keys/kms-ref';
import { createKmsClient, KmsSigner } from '../keys/kms-signer';
import { keyFingerprint } from '../keys/public-key';
import { generateSigningKey, keyInfo, publicKeyring } from '../helm/pgp-key';
import type { KeyKind } from './index-file';
import type { KeyBackend } from './config';

export interface KeyRequest {
  kind: KeyKind;
  backend: KeyBackend;
  /** Unique per ceremony; names the key file or KMS alias. */
  name: string;
  userId?: { name: string; email?: string };
}

export interface CreatedKey {
  kind: KeyKind;
  ref: string;
  passwordEnv?: string;
  fingerprint: string;
  created: string;
  /** The public file's bytes, base64: SPKI PEM, or a binary OpenPGP keyring. */
  publicBase64: string;
}

export async function createKey(raw: KeyRequest, env: NodeJS.ProcessEnv, now = new Date()): Promise<CreatedKey> {
  // File names and KMS aliases: letters, digits, "-" and "_" only (a scheduled run's id has colons).
  const request = { ...raw, name: raw.name.replace(/[^A-Za-z0-9_-]/g, '-') };
  if (request.kind === 'openpgp') return createOpenPgpKey(request, env, now);
  if (request.backend.type === 'kms') return createKmsKey(request.backend, request.name, env, now);
  const { keyDir, passwordEnv } = request.backend;
  const password = passphrase(env, passwordEnv);
  const pub = path.join(keyDir, `${request.name}.pub`);
  const exists = await fs.stat(pub).catch(() => undefined);
  if (!exists) await writeKeyPair(keyDir, request.name, password);
  const pem = await fs.readFile(pub, 'utf8');
  const created = (exists?.mtime ?? now).toISOString();
  return { kind: 'cosign', ref: path.join(keyDir, `${request.name}.key`), passwordEnv, fingerprint: keyFingerprint(pem), created, publicBase64: Buffer.from(pem).toString('base64') };
}

function passphrase(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new CountersignError('KEY_PASSPHRASE_MISSING', `the new key's passphrase is read from $${name}, which is not set in the worker's environment`);
  return value;
}

async function createKmsKey(backend: Extract<KeyBackend, { type: 'kms' }>, name: string, env: NodeJS.ProcessEnv, now: Date): Promise<CreatedKey> {
  const ref = `awskms://${backend.endpoint}/alias/${backend.aliasPrefix}-${name}`;
  const parsed = parseKmsRef(ref);
  const client = createKmsClient(parsed, env);
  const call = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof NotFoundException) throw err;
      const verdict = classifyKmsError(err, ref, operation);
      throw verdict.retry ? new CountersignError('KMS_UNAVAILABLE', `${ref}: ${operation}: ${verdict.reason}`, { cause: err }) : verdict.error;
    }
  };
  let created = now.toISOString();
  try {
    const meta = await call('DescribeKey', () => client.send(new DescribeKeyCommand({ KeyId: parsed.keyId })));
    created = meta.KeyMetadata?.CreationDate?.toISOString() ?? created;
  } catch (err) {
    if (!(err instanceof NotFoundException)) throw err;
    const made = await call('CreateKey', () =>
      client.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: `countersign ${name}` })),
    );
    await call('CreateAlias', () => client.send(new CreateAliasCommand({ AliasName: parsed.keyId, TargetKeyId: made.KeyMetadata!.KeyId! })));
  }
  const pem = await new KmsSigner(ref, { env }).publicKeyPem();
  return { kind: 'cosign', ref, fingerprint: keyFingerprint(pem), created, publicBase64: Buffer.from(pem).toString('base64') };
}

async function createOpenPgpKey(request: KeyRequest, env: NodeJS.ProcessEnv, now: Date): Promise<CreatedKey> {
  if (request.backend.type !== 'file') throw new CountersignError('BAD_CONFIG', 'OpenPGP keys are files; KMS is for cosign keys');
  if (!request.userId) throw new CountersignError('BAD_CONFIG', 'an OpenPGP key needs a user ID');
  const { keyDir, passwordEnv } = request.backend;
  const password = passphrase(env, passwordEnv);
  const file = path.join(keyDir, `${request.name}.asc`);
  let armored = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (armored === undefined) {
    armored = (await generateSigningKey({ name: request.userId.name, email: request.userId.email, passphrase: password, date: now })).privateKeyArmored;
    await fs.mkdir(keyDir, { recursive: true });
    await fs.writeFile(file, armored, { mode: 0o600, flag: 'wx' });
  }
  const key = await openpgp.readPrivateKey({ armoredKey: armored });
  const info = keyInfo(key);
  return { kind: 'openpgp', ref: file, passwordEnv, fingerprint: info.fingerprint, created: info.created, publicBase64: publicKeyring([key]).toString('base64') };
}
