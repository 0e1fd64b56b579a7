/**
 * The published trust index (`index.json` beside the public keys): every key with its validity
 * window and status. Schema in docs/trust.md. Read strictly, written atomically.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CountersignError } from '../errors';
import { isRotationOf, rotationIdOf } from './ids';

export const TRUST_INDEX_FILE = 'index.json';
export const TRUST_SCHEMA_VERSION = 1;

export type KeyKind = 'cosign' | 'openpgp';
export type KeyStatus = 'active' | 'retiring' | 'retired' | 'revoked';
export const KEY_KINDS: readonly KeyKind[] = ['cosign', 'openpgp'];
export const KEY_STATUSES: readonly KeyStatus[] = ['active', 'retiring', 'retired', 'revoked'];

export interface TrustKey {
  /** `<kind>-<YYYY-MM-DD>-<first 16 of the fingerprint>`. */
  id: string;
  kind: KeyKind;
  /** cosign: sha256 hex of the SPKI DER; openpgp: the v4 fingerprint, upper-case hex. */
  fingerprint: string;
  /** File name in the published directory (pubkey-….pem or keyring-….gpg). */
  file: string;
  created: string;
  validFrom: string;
  /** Null while the key may still sign (active, retiring); the retirement or revocation time after. */
  validUntil: string | null;
  status: KeyStatus;
  reason: string;
  statusChangedAt: string;
  /** Retiring keys: the end of the overlap window, the earliest the key retires. */
  retireAfter?: string;
  /** The ceremony (workflow id) that created the key. */
  ceremony?: string;
  /** The trust store (its name in the worker's configuration) that published the key; stores may share a directory. */
  trust?: string;
  /** Ceremony keys: who asked for the key, which custodians joined, and the run that published it. */
  issuance?: KeyIssuance;
  /** Revoked keys: who signed the revocation (the requester first), when, why, and the workflow holding the signed statements. */
  revocation?: KeyRevocation;
  /** Compromise campaigns run over what the key signed: who asked, who approved, when, and the outcome. */
  campaigns?: KeyCampaign[];
}

export interface KeyCampaign {
  /** The keyCampaign workflow id and its first run id: its history holds the signed statements and every item's outcome. */
  workflowId: string;
  runId: string;
  requester: string;
  approvers: string[];
  reason: string;
  at: string;
  /** DONE, FAILED (some items failed), REJECTED, EXPIRED. */
  state: string;
  counts: { resigned: number; quarantined: number; reported: number; unchanged: number; failed: number };
}

export interface KeyIssuance {
  /** The governance member whose signed request the worker accepted. */
  requester: string;
  /** The custodians whose signed statements made the quorum, in the order they joined. */
  custodians: string[];
  /** The ceremony's workflow id and first run id: its history holds the signed statements. */
  workflowId: string;
  runId: string;
  at: string;
}

export interface KeyRevocation {
  signers: string[];
  at: string;
  reason: string;
  workflowId: string;
  /**
   * cosign keys: the revoked key's SPKI DER, base64. Its published pem is replaced by a tombstone
   * (stock cosign cannot use it any more); a verifier still recognises what it signed, to say KEY_REVOKED.
   */
  publicKey?: string;
}

export interface TrustIndex {
  schemaVersion: typeof TRUST_SCHEMA_VERSION;
  updatedAt: string;
  /** Signed indexes: one more on every write, so a verifier can refuse an older one (a rollback). */
  version?: number;
  /** Signed indexes: after this the signature vouches for nothing (a frozen index); the worker signs again well before. */
  expires?: string;
  keys: TrustKey[];
}

/** Status changes allowed; revoked and retired are final (a retired key can still be revoked). */
const TRANSITIONS: Record<KeyStatus, readonly KeyStatus[]> = {
  active: ['retiring', 'revoked'],
  retiring: ['retired', 'revoked'],
  retired: ['revoked'],
  revoked: [],
};

export function canTransition(from: KeyStatus, to: KeyStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function emptyIndex(now = new Date()): TrustIndex {
  return { schemaVersion: TRUST_SCHEMA_VERSION, updatedAt: now.toISOString(), keys: [] };
}

const isTime = (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v));

/** Validates a parsed index; TRUST_INDEX_CORRUPT with every problem found. */
export function validateIndex(value: unknown, where: string): TrustIndex {
  const problems: string[] = [];
  const v = value as Partial<TrustIndex> | null;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) problems.push('the top level must be an object');
  else {
    if (v.schemaVersion !== TRUST_SCHEMA_VERSION) problems.push(`schemaVersion must be ${TRUST_SCHEMA_VERSION}, not ${JSON.stringify(v.schemaVersion)}`);
    if (!Array.isArray(v.keys)) problems.push('keys must be a list');
    if (v.version !== undefined && (!Number.isSafeInteger(v.version) || v.version < 1)) problems.push('version must be a whole number of at least 1');
    if (v.expires !== undefined && !isTime(v.expires)) problems.push('expires must be a timestamp');
    const ids = new Set<string>();
    for (const [i, k] of (Array.isArray(v.keys) ? v.keys : []).entries()) {
      const at = `keys[${i}]`;
      if (typeof k?.id !== 'string' || k.id === '') problems.push(`${at}.id is required`);
      else if (ids.has(k.id)) problems.push(`${at}.id ${k.id} appears twice`);
      else ids.add(k.id);
      if (!KEY_KINDS.includes(k?.kind)) problems.push(`${at}.kind must be one of ${KEY_KINDS.join(', ')}`);
      if (!KEY_STATUSES.includes(k?.status)) problems.push(`${at}.status must be one of ${KEY_STATUSES.join(', ')}`);
      if (typeof k?.fingerprint !== 'string' || !/^[0-9A-Fa-f]{40,64}$/.test(k.fingerprint)) problems.push(`${at}.fingerprint must be hex`);
      if (typeof k?.file !== 'string' || k.file === '' || k.file !== path.basename(k.file)) problems.push(`${at}.file must be a plain file name`);
      for (const f of ['created', 'validFrom', 'statusChangedAt'] as const) if (!isTime(k?.[f])) problems.push(`${at}.${f} must be a timestamp`);
      if (k?.validUntil !== null && !isTime(k?.validUntil)) problems.push(`${at}.validUntil must be a timestamp or null`);
      if (typeof k?.reason !== 'string') problems.push(`${at}.reason must be a string`);
      if (k?.trust !== undefined && (typeof k.trust !== 'string' || k.trust === '')) problems.push(`${at}.trust must be a trust store name`);
      const made = k?.issuance;
      if (made !== undefined && (typeof made?.requester !== 'string' || !Array.isArray(made?.custodians) || made.custodians.some((c: unknown) => typeof c !== 'string') || typeof made?.workflowId !== 'string' || typeof made?.runId !== 'string' || !isTime(made?.at))) {
        problems.push(`${at}.issuance must be { requester, custodians, workflowId, runId, at }`);
      }
      const r = k?.revocation;
      if (r !== undefined && (!Array.isArray(r?.signers) || r.signers.some((s: unknown) => typeof s !== 'string') || !isTime(r?.at) || typeof r?.reason !== 'string' || typeof r?.workflowId !== 'string')) {
        problems.push(`${at}.revocation must be { signers, at, reason, workflowId }`);
      }
      const campaigns = k?.campaigns;
      const counted = (c: KeyCampaign['counts'] | undefined) => typeof c === 'object' && c !== null && ['resigned', 'quarantined', 'reported', 'unchanged', 'failed'].every((n) => Number.isSafeInteger(c[n as keyof typeof c]));
      if (
        campaigns !== undefined &&
        (!Array.isArray(campaigns) ||
          campaigns.some((c: KeyCampaign) => typeof c?.workflowId !== 'string' || typeof c?.runId !== 'string' || typeof c?.requester !== 'string' || !Array.isArray(c?.approvers) || typeof c?.reason !== 'string' || !isTime(c?.at) || typeof c?.state !== 'string' || !counted(c?.counts)))
      ) {
        problems.push(`${at}.campaigns must be a list of { workflowId, runId, requester, approvers, reason, at, state, counts }`);
      }
    }
  }
  if (problems.length > 0) {
    throw new CountersignError('TRUST_INDEX_CORRUPT', `${where}: ${problems.join('; ')}`, { details: { problems } });
  }
  return v as TrustIndex;
}

/** Reads `<dir>/index.json`; an absent file is an empty index, an unreadable one TRUST_INDEX_CORRUPT. */
export async function readIndex(dir: string): Promise<TrustIndex> {
  const file = path.join(dir, TRUST_INDEX_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return emptyIndex(new Date(0));
    throw new CountersignError('TRUST_INDEX_CORRUPT', `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new CountersignError('TRUST_INDEX_CORRUPT', `${file} is not JSON (${(cause as Error).message}); restore it from the CDN or a backup`, { cause });
  }
  return validateIndex(parsed, file);
}

/** Writes a file so readers see the old or the new bytes, never a half-written file. */
export async function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(16).slice(2)}`;
  const handle = await fs.open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}

export async function writeIndex(dir: string, index: TrustIndex): Promise<void> {
  validateIndex(index, 'the index to write');
  await writeFileAtomic(path.join(dir, TRUST_INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
}

/**
 * Whether an index entry is one of trust store `store`'s keys. Stores may share a published
 * directory, so entries name their store; older entries (no `trust`) are known by the ceremony
 * that made them (`key-ceremony-<store>-<time>`), or belong to any store when neither is recorded.
 */
export function belongsToStore(key: TrustKey, store: string): boolean {
  if (key.trust !== undefined) return key.trust === store;
  if (key.ceremony === undefined) return true;
  const rotation = rotationIdOf(key.ceremony);
  return rotation !== undefined && isRotationOf(rotation, store);
}

/** A key by id, fingerprint (or a unique fingerprint prefix of 8+ characters), or file name. */
export function findKey(index: TrustIndex, which: string): TrustKey | undefined {
  const lower = which.toLowerCase();
  const exact = index.keys.find((k) => k.id === which || k.file === which || k.fingerprint.toLowerCase() === lower);
  if (exact || lower.length < 8) return exact;
  const byPrefix = index.keys.filter((k) => k.fingerprint.toLowerCase().startsWith(lower));
  return byPrefix.length === 1 ? byPrefix[0] : undefined;
}

/** Changes a key's status, refusing transitions the lifecycle does not allow. Returns the new index. */
export function transition(index: TrustIndex, id: string, to: KeyStatus, reason: string, now: Date): TrustIndex {
  const key = index.keys.find((k) => k.id === id);
  if (!key) throw new CountersignError('KEY_MISSING', `no key ${id} in the trust index`);
  if (key.status === to) return index;
  if (!canTransition(key.status, to)) throw new CountersignError('BAD_INPUT', `key ${id} is ${key.status}; it cannot become ${to}`);
  const at = now.toISOString();
  const changed: TrustKey = { ...key, status: to, reason, statusChangedAt: at };
  if (to === 'retired' || to === 'revoked') changed.validUntil = key.validUntil && key.validUntil < at ? key.validUntil : at;
  if (to !== 'retiring') delete changed.retireAfter;
  return { ...index, updatedAt: at, keys: index.keys.map((k) => (k.id === id ? changed : k)) };
}
