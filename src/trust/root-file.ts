/**
 * The root: a small file per store and version (`root-<store>-<version>.json`) naming the store's
 * governance members with their keys, how many of them must sign, and the key that signs
 * index.json. It is TUF's root role: customers pin one root, and every later root must be signed
 * by `threshold` members of the root before it, so the index key and the governance set can
 * change without customers pinning anything again (docs/trust.md, The root).
 *
 * Its signatures sit beside it in `root-<store>-<version>.sigs.json`: each member's approval
 * statement (the same one `countersign approve` signs) naming sha256 of the root file's exact
 * bytes, so openssl and jq check them and the root stays a readable JSON file.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { APPROVAL_STATEMENT_TYPE } from '../approval/constants';
import { CountersignError } from '../errors';
import { keyFingerprint } from '../keys/public-key';
import { statementSignedBy } from '../requests/sign';
import { MAX_STATEMENT_BYTES, type SignedStatement } from '../requests/statement';

export const ROOT_TYPE = 'https://countersign.dev/trust-root/v1';
export const MAX_ROOT_BYTES = 64 * 1024;
export const MAX_ROOT_SIGNATURES_BYTES = 256 * 1024;
const MAX_MEMBERS = 100;

export interface RootMember {
  name: string;
  /** sha256 hex of the SPKI DER, as everywhere in countersign. */
  fingerprint: string;
  /** The member's roster key (SPKI PEM): what their signatures verify with. */
  publicKey: string;
}

export interface TrustRoot {
  _type: typeof ROOT_TYPE;
  trust: string;
  version: number;
  created: string;
  /** After this the root vouches for nothing: governance signs a new version before it. */
  expires: string;
  /** How many of `governance` sign the next root (and signed version 1). */
  threshold: number;
  governance: RootMember[];
  /** The key index.json.sig must verify with. */
  indexKey: { fingerprint: string; publicKey: string };
}

export const rootFileName = (trust: string, version: number) => `root-${trust}-${version}.json`;
export const rootSignaturesFileName = (trust: string, version: number) => `root-${trust}-${version}.sigs.json`;

/** The file's text, fields in a fixed order: what every member signs the digest of. */
export function rootText(root: TrustRoot): string {
  const { _type, trust, version, created, expires, threshold, governance, indexKey } = root;
  const ordered = {
    _type,
    trust,
    version,
    created,
    expires,
    threshold,
    governance: governance.map((m) => ({ name: m.name, fingerprint: m.fingerprint, publicKey: m.publicKey })),
    indexKey: { fingerprint: indexKey.fingerprint, publicKey: indexKey.publicKey },
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

export function rootDigest(bytes: Buffer | string): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

/** The root in `bytes`, checked for shape and for keys that match their fingerprints; TRUST_INDEX_CORRUPT otherwise. */
export function parseRoot(bytes: Buffer, where: string): TrustRoot {
  const bad = (why: string): never => {
    throw new CountersignError('TRUST_INDEX_CORRUPT', `${where} is not a countersign root: ${why}`);
  };
  if (bytes.length > MAX_ROOT_BYTES) bad(`${bytes.length} bytes, at most ${MAX_ROOT_BYTES} are read`);
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    return bad('not JSON');
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r)) bad('not a JSON object');
  if (r._type !== ROOT_TYPE) bad(`_type is ${JSON.stringify(r._type)}, expected ${ROOT_TYPE}`);
  const known = ['_type', 'trust', 'version', 'created', 'expires', 'threshold', 'governance', 'indexKey'];
  const unknown = Object.keys(r).filter((k) => !known.includes(k));
  if (unknown.length > 0) bad(`unknown fields ${unknown.join(', ')}`);
  if (typeof r.trust !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(r.trust)) bad('trust is not a store name');
  if (!Number.isSafeInteger(r.version) || (r.version as number) < 1) bad('version is not a whole number of at least 1');
  for (const f of ['created', 'expires']) if (typeof r[f] !== 'string' || Number.isNaN(Date.parse(r[f] as string))) bad(`${f} is not a timestamp`);
  const members = r.governance;
  if (!Array.isArray(members) || members.length === 0 || members.length > MAX_MEMBERS) bad(`governance must list 1 to ${MAX_MEMBERS} members`);
  const names = new Set<string>();
  for (const m of members as RootMember[]) {
    if (typeof m?.name !== 'string' || m.name === '' || names.has(m.name)) bad(`a governance member has no name or appears twice (${JSON.stringify(m?.name)})`);
    names.add(m.name);
    checkKey(m, `governance member ${m.name}`, bad);
  }
  if (!Number.isSafeInteger(r.threshold) || (r.threshold as number) < 1 || (r.threshold as number) > names.size) bad(`threshold must be between 1 and the ${names.size} governance members`);
  checkKey(r.indexKey as RootMember, 'indexKey', bad);
  return r as unknown as TrustRoot;
}

function checkKey(k: { fingerprint?: unknown; publicKey?: unknown } | undefined, what: string, bad: (why: string) => never): void {
  if (typeof k?.publicKey !== 'string' || typeof k.fingerprint !== 'string') bad(`${what} needs fingerprint and publicKey`);
  let actual = '';
  try {
    actual = keyFingerprint(k!.publicKey as string);
  } catch {
    bad(`${what}'s publicKey is not an ECDSA P-256 public key`);
  }
  if (actual !== k!.fingerprint) bad(`${what}'s publicKey has fingerprint ${actual.slice(0, 16)}, not the ${String(k!.fingerprint).slice(0, 16)} it claims`);
}

/**
 * The members of `signers` whose signature in `signatures` approves exactly `rootBytes`: an
 * approval statement by that member's key naming the root's digest. Anything else in the list
 * (another digest, a rejection, a stranger, a bad signature, a second one by the same member) counts for nothing.
 */
export function rootSigners(rootBytes: Buffer, signatures: unknown, signers: Pick<TrustRoot, 'governance'>): string[] {
  const digest = rootDigest(rootBytes);
  const counted = new Set<string>();
  if (!Array.isArray(signatures)) return [];
  for (const s of signatures.slice(0, 1000) as SignedStatement[]) {
    if (typeof s?.statement !== 'string' || typeof s.signature !== 'string' || s.statement.length > MAX_STATEMENT_BYTES) continue;
    let statement: Record<string, unknown>;
    try {
      statement = JSON.parse(s.statement) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (statement._type !== APPROVAL_STATEMENT_TYPE || statement.decision !== 'approve' || statement.digest !== digest) continue;
    const member = signers.governance.find((m) => m.name === statement.approver);
    if (member && statementSignedBy(s, member.publicKey)) counted.add(member.name);
  }
  return [...counted];
}

/** The highest root version of `trust` published in `dir` (the worker's own directory), or undefined. */
export async function latestPublishedRoot(dir: string, trust: string): Promise<{ root: TrustRoot; text: string } | undefined> {
  const pattern = new RegExp(`^root-${trust}-(\\d+)\\.json$`);
  const versions = (await fs.readdir(dir).catch(() => [] as string[])).flatMap((f) => {
    const m = pattern.exec(f);
    return m ? [Number(m[1])] : [];
  });
  if (versions.length === 0) return undefined;
  const file = path.join(dir, rootFileName(trust, Math.max(...versions)));
  const text = await fs.readFile(file, 'utf8');
  return { root: parseRoot(Buffer.from(text), file), text };
}
