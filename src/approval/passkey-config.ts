/**
 * An approver's `passkeys:` in the worker's roster: WebAuthn credentials whose assertions count
 * as that person's signed decisions. Only ES256 (ECDSA P-256 with SHA-256, COSE alg -7) is
 * accepted: it is what every platform authenticator and security key offers, and the workflow's
 * sandboxed verifier (workflows/approval-signature.ts) checks P-256 only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { keyFingerprint, parsePublicKeyPem } from '../keys/public-key';
import type { ConsoleSection } from '../console/config';

export const MAX_PASSKEYS_PER_APPROVER = 16;
/** WebAuthn credential ids are at most 1023 bytes: 1364 base64url characters. */
export const MAX_CREDENTIAL_ID_CHARS = 1364;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export interface PasskeyConfig {
  /** The credential id, base64url (no padding), as the authenticator returns it. */
  id: string;
  /** SPKI PEM of the credential's P-256 public key. */
  publicKeyPem: string;
  /** Where the key came from (a file, or "inline"), for messages. */
  source: string;
  name?: string;
  /** The relying party the credential was created for: the console section's, pinned with it. */
  rpId: string;
  origin: string;
}

type Add = (field: string, problem: string) => void;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A PEM written into the config, or the path of a file holding one (relative to the config). */
function readKey(value: string, base: string, field: string, add: Add): { pem: string; source: string } | undefined {
  if (value.includes('-----BEGIN')) return { pem: value, source: 'inline' };
  const file = path.resolve(base, value);
  try {
    return { pem: fs.readFileSync(file, 'utf8'), source: file };
  } catch {
    add(field, `file ${file} does not exist`);
    return undefined;
  }
}

export function parsePasskeys(value: unknown, at: string, base: string, rp: ConsoleSection | undefined, add: Add): PasskeyConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    add(at, 'must be a list of { id, publicKey, name }');
    return [];
  }
  if (value.length > MAX_PASSKEYS_PER_APPROVER) add(at, `lists ${value.length} passkeys; at most ${MAX_PASSKEYS_PER_APPROVER}`);
  if (value.length > 0 && !rp) add(at, 'needs console.origin: a passkey belongs to the console origin it was created at (its relying party)');
  const out: PasskeyConfig[] = [];
  value.slice(0, MAX_PASSKEYS_PER_APPROVER).forEach((entry, i) => {
    const field = `${at}[${i}]`;
    if (!isObject(entry)) return add(field, 'must be a mapping { id, publicKey, name }');
    const id = entry.id;
    if (typeof id !== 'string' || !BASE64URL.test(id) || id.length > MAX_CREDENTIAL_ID_CHARS) {
      return add(`${field}.id`, `must be the credential id in base64url (letters, digits, - and _, at most ${MAX_CREDENTIAL_ID_CHARS} characters)`);
    }
    if (typeof entry.publicKey !== 'string' || entry.publicKey === '') return add(`${field}.publicKey`, 'is required: the credential public key, a PEM file or inline PEM');
    const key = readKey(entry.publicKey, base, `${field}.publicKey`, add);
    if (!key) return;
    try {
      parsePublicKeyPem(key.pem);
    } catch {
      return add(`${field}.publicKey`, `${key.source === 'inline' ? 'the inline key' : key.source} is not an ES256 (P-256) SPKI public key: only ES256 passkeys are accepted`);
    }
    if (entry.name !== undefined && (typeof entry.name !== 'string' || entry.name.length > 128)) return add(`${field}.name`, 'must be text of at most 128 characters');
    if (out.some((p) => p.id === id)) return add(`${field}.id`, `credential ${id.slice(0, 16)} is listed twice`);
    if (!rp) return;
    out.push({ id, publicKeyPem: key.pem, source: key.source, ...(typeof entry.name === 'string' ? { name: entry.name } : {}), rpId: rp.rpId, origin: rp.origin });
  });
  return out;
}

/** The fingerprint a passkey's key goes by (as file keys do): sha256 of its SPKI DER. */
export function passkeyFingerprint(passkey: Pick<PasskeyConfig, 'publicKeyPem'>): string {
  return keyFingerprint(passkey.publicKeyPem);
}
