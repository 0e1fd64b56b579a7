/**
 * The verifier's side of the signed index: read it from its source, check the signature with the
 * index key the customer pinned, refuse a version older than one seen before (or pinned) and an
 * expired one. Each refusal has its own code, so a script can tell an edited index from a
 * rolled-back, a frozen or an unreachable one.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CountersignError } from '../errors';
import { keyFingerprint } from '../keys/public-key';
import { TRUST_INDEX_FILE, validateIndex, writeFileAtomic, type TrustIndex } from './index-file';
import { INDEX_SIGNATURE_FILE, indexSignatureValid } from './index-signing';
import type { TrustSource } from './source';

export const MAX_INDEX_BYTES = 1024 * 1024;
const MAX_SIGNATURE_BYTES = 4096;
/** A CDN copies index.json and its signature one after the other: a mismatch is read again once, this much later. */
const SIGNATURE_RETRY_MS = 1000;

/** Highest index version seen per (index key, source), kept between runs in a small state file. */
export class VersionMemory {
  constructor(readonly file: string) {}

  private static key(fingerprint: string, where: string): string {
    return `${fingerprint} ${where}`;
  }

  async highest(fingerprint: string, where: string): Promise<number> {
    return (await this.read())[VersionMemory.key(fingerprint, where)] ?? 0;
  }

  async record(fingerprint: string, where: string, version: number): Promise<void> {
    const seen = await this.read();
    const key = VersionMemory.key(fingerprint, where);
    if ((seen[key] ?? 0) >= version) return;
    seen[key] = version;
    await writeFileAtomic(this.file, `${JSON.stringify({ schemaVersion: 1, seen }, null, 2)}\n`, 0o600);
  }

  private async read(): Promise<Record<string, number>> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new CountersignError('BAD_INPUT', `cannot read the trust version state ${this.file}: ${(err as Error).message}`);
    }
    try {
      const parsed = JSON.parse(text) as { schemaVersion?: unknown; seen?: Record<string, unknown> };
      if (parsed.schemaVersion !== 1 || typeof parsed.seen !== 'object' || parsed.seen === null) throw new Error('not { schemaVersion: 1, seen }');
      return Object.fromEntries(Object.entries(parsed.seen).filter((e): e is [string, number] => Number.isSafeInteger(e[1])));
    } catch (err) {
      // Starting again from nothing would forget every version seen: that is the rollback this file prevents.
      throw new CountersignError('BAD_INPUT', `the trust version state ${this.file} is unreadable (${(err as Error).message}); restore it or remove it knowingly`);
    }
  }
}

export function defaultVersionMemory(home: string): VersionMemory {
  return new VersionMemory(path.join(home, 'trust-versions.json'));
}

export interface IndexCheckOptions {
  /** The index key the customer pinned (SPKI PEM), or the one their root names. Without it the index must be allowed unsigned. */
  indexKeyPem?: string;
  /** Where the index key came from, for messages (default "the pinned index key"). */
  indexKeyOrigin?: string;
  /** Accept an index without checking a signature (stores that do not sign theirs). */
  allowUnsigned?: boolean;
  /** A version the customer pins: anything older is a rollback. */
  minVersion?: number;
  /** Where versions seen before are remembered (and this one recorded). */
  versions?: VersionMemory;
  now?: Date;
  /** Waits between the two reads of a mismatched pair (tests shorten it). */
  retryMs?: number;
}

export interface CheckedIndex {
  index: TrustIndex;
  source: TrustSource;
  /** Whether the signature was checked (false only with allowUnsigned). */
  signed: boolean;
  /** The pinned index key's fingerprint, when signed. */
  indexKey?: string;
  /** The root that named the index key, when the customer pinned a root rather than the key. */
  root?: { trust: string; version: number };
}

/** Reads and checks the index; each refusal is a CountersignError with its own code (docs/trust.md). */
export async function loadCheckedIndex(source: TrustSource, options: IndexCheckOptions): Promise<CheckedIndex> {
  const where = `${source.where}/${TRUST_INDEX_FILE}`;
  if (!options.indexKeyPem && !options.allowUnsigned) {
    throw new CountersignError('BAD_INPUT', 'pin the trust index key: --index-key FILE (the store\'s index-key.pem, kept from when you first trusted it); --unsigned-index reads an index nobody signed');
  }
  let bytes = await readIndexBytes(source);
  let fingerprint: string | undefined;
  if (options.indexKeyPem) {
    fingerprint = keyFingerprint(options.indexKeyPem);
    let signature = await source.read(INDEX_SIGNATURE_FILE, MAX_SIGNATURE_BYTES);
    if (!signature || !indexSignatureValid(bytes, signature.toString('utf8'), options.indexKeyPem)) {
      await new Promise((r) => setTimeout(r, options.retryMs ?? SIGNATURE_RETRY_MS));
      bytes = await readIndexBytes(source);
      signature = await source.read(INDEX_SIGNATURE_FILE, MAX_SIGNATURE_BYTES);
      if (!signature) throw new CountersignError('TRUST_INDEX_SIGNATURE_INVALID', `${where} is not signed: there is no ${INDEX_SIGNATURE_FILE} beside it`);
      if (!indexSignatureValid(bytes, signature.toString('utf8'), options.indexKeyPem)) {
        throw new CountersignError('TRUST_INDEX_SIGNATURE_INVALID', `${where} does not verify with ${options.indexKeyOrigin ?? 'the pinned index key'} ${fingerprint.slice(0, 16)}: it was edited, or signed by another key`);
      }
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new CountersignError('TRUST_INDEX_CORRUPT', `${where} is not JSON (${(cause as Error).message})`, { cause });
  }
  const index = validateIndex(parsed, where);
  if (fingerprint) {
    if (index.version === undefined || index.expires === undefined) throw new CountersignError('TRUST_INDEX_CORRUPT', `${where} is signed but carries no version or expiry`);
    const seen = (await options.versions?.highest(fingerprint, source.where)) ?? 0;
    const floor = Math.max(seen, options.minVersion ?? 0);
    if (index.version < floor) {
      const why = seen >= (options.minVersion ?? 0) ? `version ${seen} was seen before (${options.versions?.file})` : `version ${options.minVersion} is pinned (--min-version)`;
      throw new CountersignError('TRUST_INDEX_ROLLED_BACK', `${where} is version ${index.version}, but ${why}: an older index is being served`);
    }
    const now = options.now ?? new Date();
    if (Date.parse(index.expires) <= now.getTime()) {
      throw new CountersignError('TRUST_INDEX_EXPIRED', `${where} (version ${index.version}) expired at ${index.expires}: nobody has signed it since, so it may be frozen; its keys' status cannot be trusted now`);
    }
    await options.versions?.record(fingerprint, source.where, index.version);
  } else if (options.minVersion !== undefined && (index.version ?? 0) < options.minVersion) {
    throw new CountersignError('TRUST_INDEX_ROLLED_BACK', `${where} is version ${index.version ?? 'none'}, but version ${options.minVersion} is pinned (--min-version)`);
  }
  return { index, source, signed: fingerprint !== undefined, ...(fingerprint ? { indexKey: fingerprint } : {}) };
}

async function readIndexBytes(source: TrustSource): Promise<Buffer> {
  const bytes = await source.read(TRUST_INDEX_FILE, MAX_INDEX_BYTES);
  if (bytes) return bytes;
  if (/^https?:/.test(source.where)) throw new CountersignError('TRUST_UNREACHABLE', `${source.where}/${TRUST_INDEX_FILE} was not found (HTTP 404): is this the published trust directory's URL?`);
  throw new CountersignError('BAD_INPUT', `${source.where} has no ${TRUST_INDEX_FILE}: give the published trust directory`);
}
