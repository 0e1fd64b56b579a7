/**
 * The trust store: the published directory ("the CDN": public keys and index.json) and, apart
 * from it, the private state file holding each key's private reference (file path or awskms://
 * URI, and the passphrase variable). Changes are serialised by a lock directory beside the index.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CountersignError } from '../errors';
import { belongsToStore, readIndex, transition, TRUST_INDEX_FILE, validateIndex, writeFileAtomic, writeIndex, type KeyCampaign, type KeyKind, type KeyRevocation, type KeyStatus, type TrustIndex, type TrustKey } from './index-file';
import { INDEX_KEY_FILE, INDEX_SIGNATURE_FILE, indexSignatureValid, signIndexBytes, type IndexSigning } from './index-signing';

export const PRIVATE_STATE_VERSION = 1;
const LOCK_WAIT_MS = 10_000;
const LOCK_STALE_MS = 60_000;

export interface PrivateRef {
  /** File path or awskms:// URI; never published. */
  ref: string;
  /** Environment variable with the passphrase (file and OpenPGP keys). */
  passwordEnv?: string;
}

export interface PrivateState {
  schemaVersion: typeof PRIVATE_STATE_VERSION;
  keys: Record<string, PrivateRef>;
}

export interface TrustLocation {
  /** The published directory. */
  publishDir: string;
  /** The private state file, outside publishDir. */
  stateFile: string;
  /**
   * The trust store's name. Given, the store sees only its own keys in a directory other stores
   * may share (index-file.ts belongsToStore), and records its name on the keys it publishes.
   */
  name?: string;
}

export interface TrustStoreOptions {
  /** The store's index-signing key, opened when the index is written; none: the index is written unsigned. */
  signing?: () => Promise<IndexSigning | undefined>;
}

export class TrustStore {
  constructor(
    readonly location: TrustLocation,
    private readonly options: TrustStoreOptions = {},
  ) {}

  index(): Promise<TrustIndex> {
    return readIndex(this.location.publishDir);
  }

  /** This store's keys in the index (all of them when the location names no store). */
  ownKeys(index: TrustIndex): TrustKey[] {
    const name = this.location.name;
    return name === undefined ? index.keys : index.keys.filter((k) => belongsToStore(k, name));
  }

  /** The one active key of a kind; TRUST_NO_ACTIVE_KEY when there is none (before the first ceremony, or after a revocation). */
  async active(kind: KeyKind): Promise<TrustKey> {
    const active = this.ownKeys(await this.index()).filter((k) => k.kind === kind && k.status === 'active');
    if (active.length === 0) {
      throw new CountersignError('TRUST_NO_ACTIVE_KEY', `no active ${kind} key in ${this.location.publishDir}: run a key ceremony (countersign keys ceremony)`);
    }
    return active[active.length - 1];
  }

  async privateRef(id: string): Promise<PrivateRef> {
    const ref = (await this.readPrivate()).keys[id];
    if (!ref) throw new CountersignError('KEY_MISSING', `no private reference for key ${id} in ${this.location.stateFile}`);
    return ref;
  }

  /**
   * Publishes a new active key: the public file, its private reference, and the index entry;
   * the kind's previous active key becomes retiring until `retireAfter`. Idempotent by key id.
   */
  async publish(
    key: Omit<TrustKey, 'status' | 'reason' | 'statusChangedAt' | 'validFrom' | 'validUntil' | 'trust' | 'revocation'>,
    content: Buffer,
    secret: PrivateRef,
    options: { now: Date; overlapMs: number },
  ): Promise<{ key: TrustKey; retiring: TrustKey[]; existing: boolean }> {
    return this.locked(async () => {
      const index = await this.index();
      const existing = index.keys.find((k) => k.id === key.id);
      const mine = this.ownKeys(index);
      if (existing) return { key: existing, retiring: mine.filter((k) => k.kind === key.kind && k.status === 'retiring'), existing: true };
      const at = options.now.toISOString();
      const state = await this.readPrivate();
      state.keys[key.id] = secret;
      await writeFileAtomic(this.location.stateFile, `${JSON.stringify(state, null, 2)}\n`, 0o600);
      await writeFileAtomic(path.join(this.location.publishDir, key.file), content);
      let next: TrustIndex = index;
      const retireAfter = new Date(options.now.getTime() + options.overlapMs).toISOString();
      for (const old of mine.filter((k) => k.kind === key.kind && k.status === 'active')) {
        next = transition(next, old.id, 'retiring', `superseded by ${key.id}`, options.now);
        next = { ...next, keys: next.keys.map((k) => (k.id === old.id ? { ...k, retireAfter } : k)) };
      }
      const added: TrustKey = {
        ...key,
        ...(this.location.name !== undefined ? { trust: this.location.name } : {}),
        validFrom: at,
        validUntil: null,
        status: 'active',
        reason: 'published by key ceremony',
        statusChangedAt: at,
      };
      next = { ...next, updatedAt: at, keys: [...next.keys, added] };
      await this.write(next, options.now);
      return { key: added, retiring: this.ownKeys(next).filter((k) => k.kind === key.kind && k.status === 'retiring'), existing: false };
    });
  }

  /**
   * Moves one of this store's keys to `status` (retired, revoked, ...), refusing what the lifecycle
   * forbids; a revocation records who signed it. KEY_UNKNOWN for another store's key.
   */
  async setStatus(which: string, status: KeyStatus, reason: string, options: { now?: Date; revocation?: KeyRevocation } = {}): Promise<TrustKey> {
    return this.locked(async () => {
      const index = await this.index();
      const matches = (k: TrustKey) => k.id === which || k.fingerprint.toLowerCase() === which.toLowerCase();
      const key = this.ownKeys(index).find(matches);
      if (!key) {
        if (index.keys.some(matches)) throw new CountersignError('KEY_UNKNOWN', `key ${which} is not in trust store ${this.location.name}: it belongs to another store publishing to ${this.location.publishDir}`);
        throw new CountersignError('KEY_MISSING', `no key "${which}" in ${this.location.publishDir}/index.json`);
      }
      let next = transition(index, key.id, status, reason, options.now ?? new Date());
      if (next !== index && status === 'revoked' && options.revocation) {
        next = { ...next, keys: next.keys.map((k) => (k.id === key.id ? { ...k, revocation: options.revocation } : k)) };
      }
      if (next !== index) await this.write(next, options.now ?? new Date());
      return next.keys.find((k) => k.id === key.id)!;
    });
  }

  /** Records a compromise campaign on the key it was about (one entry per campaign run: a retried step writes it once). */
  async recordCampaign(keyId: string, campaign: KeyCampaign, now = new Date()): Promise<TrustKey> {
    return this.locked(async () => {
      const index = await this.index();
      const key = this.ownKeys(index).find((k) => k.id === keyId);
      if (!key) throw new CountersignError('KEY_UNKNOWN', `key ${keyId} is not in trust store ${this.location.name} (${this.location.publishDir}/index.json)`);
      const campaigns = [...(key.campaigns ?? []).filter((c) => c.runId !== campaign.runId), campaign];
      const changed = { ...key, campaigns };
      await this.write({ ...index, updatedAt: now.toISOString(), keys: index.keys.map((k) => (k.id === keyId ? changed : k)) }, now);
      return changed;
    });
  }

  /**
   * Signs the index again when its signature is missing, not by the configured key, or past half
   * of its lifetime (the content stays, the version goes up, the expiry moves on). Returns the
   * version written, or undefined when nothing was due (or the store does not sign).
   */
  async refreshSignature(now = new Date()): Promise<number | undefined> {
    return this.locked(async () => {
      const signing = await this.options.signing?.();
      if (!signing) return undefined;
      const dir = this.location.publishDir;
      const bytes = await fs.readFile(path.join(dir, TRUST_INDEX_FILE)).catch(() => undefined);
      const signature = await fs.readFile(path.join(dir, INDEX_SIGNATURE_FILE), 'utf8').catch(() => undefined);
      const index = await this.index();
      const fresh = index.expires !== undefined && Date.parse(index.expires) - now.getTime() > signing.expiresMs / 2;
      if (bytes && signature && fresh && indexSignatureValid(bytes, signature, signing.publicKeyPem)) return undefined;
      return (await this.write(index, now, signing)).version;
    });
  }

  /**
   * Writes the index; a signing store signs it first (version + 1, a new expiry) so that a failure
   * to sign writes nothing, then writes index.json and index.json.sig (and its public key beside them).
   */
  private async write(index: TrustIndex, now: Date, opened?: IndexSigning): Promise<TrustIndex> {
    const signing = opened ?? (await this.options.signing?.());
    if (!signing) {
      await writeIndex(this.location.publishDir, index);
      return index;
    }
    const next: TrustIndex = { ...index, version: (index.version ?? 0) + 1, expires: new Date(now.getTime() + signing.expiresMs).toISOString() };
    validateIndex(next, 'the index to write');
    const bytes = Buffer.from(`${JSON.stringify(next, null, 2)}\n`);
    const signature = await signIndexBytes(bytes, signing);
    const dir = this.location.publishDir;
    const published = await fs.readFile(path.join(dir, INDEX_KEY_FILE), 'utf8').catch(() => undefined);
    if (published !== signing.publicKeyPem) await writeFileAtomic(path.join(dir, INDEX_KEY_FILE), signing.publicKeyPem);
    // Readers in between see the new index with the old signature and refuse it: closed, never open.
    await writeFileAtomic(path.join(dir, TRUST_INDEX_FILE), bytes);
    await writeFileAtomic(path.join(dir, INDEX_SIGNATURE_FILE), signature);
    return next;
  }

  /** A file name in the published directory that is not taken yet: `<stem>.<ext>`, then `<stem>-2.<ext>`, ... */
  async freeFileName(stem: string, ext: string): Promise<string> {
    const taken = new Set((await this.index()).keys.map((k) => k.file));
    for (let n = 1; ; n++) {
      const name = n === 1 ? `${stem}.${ext}` : `${stem}-${n}.${ext}`;
      if (!taken.has(name)) return name;
    }
  }

  private async readPrivate(): Promise<PrivateState> {
    try {
      const parsed = JSON.parse(await fs.readFile(this.location.stateFile, 'utf8')) as PrivateState;
      if (parsed?.schemaVersion !== PRIVATE_STATE_VERSION || typeof parsed.keys !== 'object') throw new Error(`schemaVersion must be ${PRIVATE_STATE_VERSION}`);
      return parsed;
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: PRIVATE_STATE_VERSION, keys: {} };
      throw new CountersignError('TRUST_INDEX_CORRUPT', `private trust state ${this.location.stateFile} is unreadable: ${(cause as Error).message}`, { cause });
    }
  }

  /** Runs `fn` holding `<publishDir>/.lock` (a directory: mkdir is atomic); a lock older than a minute is stale. */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    await fs.mkdir(this.location.publishDir, { recursive: true });
    const lock = path.join(this.location.publishDir, '.lock');
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await fs.mkdir(lock);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const stat = await fs.stat(lock).catch(() => undefined);
        if (stat && Date.now() - stat.mtimeMs > LOCK_STALE_MS) await fs.rm(lock, { recursive: true, force: true });
        else if (Date.now() > deadline) throw new CountersignError('TRUST_BUSY', `${lock} is held by another writer`);
        else await new Promise((r) => setTimeout(r, 50));
      }
    }
    try {
      return await fn();
    } finally {
      await fs.rm(lock, { recursive: true, force: true });
    }
  }
}
