/**
 * The `trust:` section of countersign.yaml: one entry per trust name (a key lineage such as
 * "platform" or "helm"), with where it is published, how keys are made, and who takes part.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseApproval, type ApprovalConfig, type RosterConfig } from '../approval/config';
import { parseDuration } from '../duration';
import { durationText, MAX_OVERLAP_MS } from '../limits';
import { isKmsRef, parseKmsRef } from '../keys/kms-ref';
import { KEY_KINDS, type KeyKind } from './index-file';
import { parseCampaign, type CampaignConfig } from './campaign-config';

export const DEFAULT_OVERLAP = '7d';
export const DEFAULT_CEREMONY_DEADLINE = '24h';

export type KeyBackend = { type: 'file'; keyDir: string; passwordEnv: string } | { type: 'kms'; endpoint: string; aliasPrefix: string };

export interface TrustConfig {
  name: string;
  kind: KeyKind;
  publishDir: string;
  stateFile: string;
  backend: KeyBackend;
  /** Who may start a ceremony or sign a revocation (roster names). */
  governance: string[];
  /** The custodians' gate: one group "custodians", M of N. */
  custodians: ApprovalConfig;
  overlapMs: number;
  /** OpenPGP user ID for new keys. */
  userId?: { name: string; email?: string };
  /** What revoking a key takes: signatures of this many governance members (the requester's counts), and whether a KMS key is disabled. */
  revocation: { required: number; disableKmsKey?: boolean };
  /** The key that signs the published index (index.json.sig), when the store signs it. */
  index?: IndexSigningConfig;
  /** The governance-signed root that names the index key (docs/trust.md, The root), when the store publishes one. */
  root?: RootConfig;
  /** What a compromise campaign over one of its keys does (docs/trust.md, Compromise campaign). */
  campaign: CampaignConfig;
}

/** `trust.<name>.index`: the index-signing key customers pin, and how long each signature lasts. */
export interface IndexSigningConfig {
  /** A cosign key file (absolute path) or an awskms:// reference. */
  key: string;
  /** The key's public half (absolute path): the worker refuses a key that differs. */
  publicKey: string;
  /** The key file's passphrase variable in the worker's environment (not read for KMS). */
  passwordEnv?: string;
  /** How long a signature is good for; the worker signs again when half of it has passed. */
  expiresMs: number;
}

export const DEFAULT_INDEX_EXPIRY = '14d';

/** `trust.<name>.root`: how many governance members sign each root, and how long a root vouches. */
export interface RootConfig {
  threshold: number;
  expiresMs: number;
}

export const DEFAULT_ROOT_EXPIRY = '365d';

type Raw = Record<string, unknown>;
type Add = (field: string, problem: string) => void;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseTrust(value: unknown, base: string, roster: Record<string, RosterConfig>, add: Add): Record<string, TrustConfig> {
  const out: Record<string, TrustConfig> = {};
  if (value === undefined) return out;
  if (!isObject(value)) {
    add('trust', 'must map trust names to { kind, publishDir, custodians, ... }');
    return out;
  }
  for (const [name, raw] of Object.entries(value)) {
    const at = `trust.${name}`;
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) add(at, 'trust names are lowercase letters, digits and "-"');
    if (!isObject(raw)) {
      add(at, 'must be a mapping');
      continue;
    }
    const kind = (raw.kind ?? 'cosign') as KeyKind;
    if (!KEY_KINDS.includes(kind)) add(`${at}.kind`, `must be one of ${KEY_KINDS.join(', ')}`);
    if (typeof raw.publishDir !== 'string' || raw.publishDir === '') add(`${at}.publishDir`, 'is required: the published directory (the CDN)');
    const publishDir = path.resolve(base, String(raw.publishDir ?? 'trust'));
    const stateFile = path.resolve(base, typeof raw.stateFile === 'string' ? raw.stateFile : path.join(path.dirname(publishDir), `${name}.private.json`));
    if (!path.relative(publishDir, stateFile).startsWith('..')) add(`${at}.stateFile`, `must be outside publishDir (${publishDir}): it holds private key references`);
    const passwordEnv = typeof raw.passwordEnv === 'string' ? raw.passwordEnv : `COUNTERSIGN_${name.toUpperCase().replace(/-/g, '_')}_KEY_PASSWORD`;
    let backend: KeyBackend = { type: 'file', keyDir: path.resolve(base, typeof raw.keyDir === 'string' ? raw.keyDir : path.join(path.dirname(stateFile), 'keys')), passwordEnv };
    if (raw.kms !== undefined) {
      const kms = isObject(raw.kms) ? raw.kms : {};
      const endpoint = typeof kms.endpoint === 'string' ? kms.endpoint : '';
      const aliasPrefix = typeof kms.aliasPrefix === 'string' ? kms.aliasPrefix : `countersign-${name}`;
      if (kind !== 'cosign') add(`${at}.kms`, 'only cosign keys can live in KMS; OpenPGP keys are files');
      const probe = `awskms://${endpoint}/alias/${aliasPrefix}`;
      if (!isKmsRef(probe)) add(`${at}.kms`, 'bad endpoint');
      else {
        try {
          parseKmsRef(probe);
        } catch (err) {
          add(`${at}.kms`, (err as Error).message.replace(/^KEY_INVALID: /, ''));
        }
      }
      backend = { type: 'kms', endpoint, aliasPrefix };
    }
    const governance = Array.isArray(raw.governance) ? raw.governance.map(String) : [];
    if (governance.length === 0) add(`${at}.governance`, 'must list who may start a ceremony');
    for (const g of governance) if (!roster[g]) add(`${at}.governance`, `${g} is not in the approvers roster`);
    const c = isObject(raw.custodians) ? raw.custodians : {};
    const custodians = parseApproval(
      { approvers: c.members, required: c.required, deadline: c.deadline ?? DEFAULT_CEREMONY_DEADLINE, webhook: c.webhook, webhookFormat: c.webhookFormat, reminderEvery: c.reminderEvery, escalateAfter: c.escalateAfter, escalation: c.escalation },
      `${at}.custodians`,
      roster,
      add,
    );
    custodians.groups = custodians.groups.map((g) => ({ ...g, name: 'custodians' }));
    if (custodians.groups.some((g) => g.required < 2)) add(`${at}.custodians.required`, 'a key ceremony needs at least 2 custodians');
    let overlapMs = 0;
    try {
      overlapMs = parseDuration(String(raw.overlap ?? DEFAULT_OVERLAP), `${at}.overlap`);
      if (overlapMs > MAX_OVERLAP_MS) add(`${at}.overlap`, `is longer than ${durationText(MAX_OVERLAP_MS)}: two keys would both stay valid for over a year`);
    } catch (err) {
      add(`${at}.overlap`, (err as Error).message.replace(/^BAD_INPUT: /, ''));
    }
    const userId = isObject(raw.userId) && typeof raw.userId.name === 'string' ? { name: raw.userId.name, email: typeof raw.userId.email === 'string' ? raw.userId.email : undefined } : undefined;
    if (kind === 'openpgp' && !userId) add(`${at}.userId`, 'OpenPGP keys need a user ID: { name, email }');
    const revocation = { required: 1 };
    if (raw.revocation !== undefined) {
      const required = isObject(raw.revocation) ? raw.revocation.required : undefined;
      if (required !== undefined && (typeof required !== 'number' || !Number.isInteger(required) || required < 1)) add(`${at}.revocation.required`, 'must be a whole number of at least 1');
      else if (typeof required === 'number') revocation.required = required;
      if (revocation.required > governance.length) {
        add(`${at}.revocation.required`, `is ${revocation.required}, but governance lists ${governance.length}: a revocation could never be signed`);
      }
    }
    const disable = isObject(raw.revocation) ? raw.revocation.disableKmsKey : undefined;
    if (disable !== undefined) {
      if (typeof disable !== 'boolean') add(`${at}.revocation.disableKmsKey`, 'must be true or false');
      else if (disable && backend.type !== 'kms') add(`${at}.revocation.disableKmsKey`, 'the store makes no KMS keys (kms: is not set)');
      else if (disable) Object.assign(revocation, { disableKmsKey: true });
    }
    const index = raw.index === undefined ? undefined : parseIndexSigning(raw.index, `${at}.index`, name, base, add);
    const root = raw.root === undefined ? undefined : parseRoot(raw.root, `${at}.root`, governance, index !== undefined, add);
    const campaign = parseCampaign(raw.campaign, `${at}.campaign`, roster, custodians, add);
    out[name] = { name, kind, publishDir, stateFile, backend, governance, custodians, overlapMs, userId, revocation, ...(index ? { index } : {}), ...(root ? { root } : {}), campaign };
  }
  // One index.json per directory: stores sharing one must sign it with the same key, or none.
  const byDir = new Map<string, TrustConfig[]>();
  for (const store of Object.values(out)) byDir.set(store.publishDir, [...(byDir.get(store.publishDir) ?? []), store]);
  for (const stores of byDir.values()) {
    const settings = new Set(stores.map((s) => JSON.stringify(s.index ? [s.index.key, s.index.publicKey, s.index.expiresMs] : null)));
    if (settings.size > 1) add(`trust.${stores[0].name}.index`, `trust stores ${stores.map((s) => s.name).join(', ')} publish to ${stores[0].publishDir}, which has one index.json: give them the same index: (key, publicKey, expires) or none`);
  }
  return out;
}

function parseIndexSigning(value: unknown, at: string, name: string, base: string, add: Add): IndexSigningConfig | undefined {
  if (!isObject(value)) {
    add(at, 'must be { key, publicKey, passwordEnv?, expires? }');
    return undefined;
  }
  if (typeof value.key !== 'string' || value.key === '') add(`${at}.key`, 'is required: a key file or awskms:// reference');
  if (typeof value.publicKey !== 'string' || value.publicKey === '') add(`${at}.publicKey`, "is required: the public key customers pin (the worker refuses a key that differs)");
  const key = typeof value.key === 'string' ? (isKmsRef(value.key) ? value.key : path.resolve(base, value.key)) : '';
  if (isKmsRef(key)) {
    try {
      parseKmsRef(key);
    } catch (err) {
      add(`${at}.key`, (err as Error).message.replace(/^KEY_INVALID: /, ''));
    }
  }
  const publicKey = path.resolve(base, typeof value.publicKey === 'string' ? value.publicKey : '');
  if (typeof value.publicKey === 'string' && !fs.existsSync(publicKey)) add(`${at}.publicKey`, `file ${publicKey} does not exist`);
  const passwordEnv = typeof value.passwordEnv === 'string' ? value.passwordEnv : isKmsRef(key) ? undefined : `COUNTERSIGN_${name.toUpperCase().replace(/-/g, '_')}_INDEX_KEY_PASSWORD`;
  let expiresMs = 0;
  try {
    expiresMs = parseDuration(String(value.expires ?? DEFAULT_INDEX_EXPIRY), `${at}.expires`);
  } catch (err) {
    add(`${at}.expires`, (err as Error).message.replace(/^BAD_INPUT: /, ''));
  }
  if (expiresMs > 0 && expiresMs < 60_000) add(`${at}.expires`, 'must be at least 1m: the worker signs again when half of it has passed');
  return { key, publicKey, ...(passwordEnv ? { passwordEnv } : {}), expiresMs };
}

function parseRoot(value: unknown, at: string, governance: string[], signsIndex: boolean, add: Add): RootConfig | undefined {
  if (!isObject(value)) {
    add(at, 'must be { threshold, expires? }');
    return undefined;
  }
  // The root's whole job is to name the index key: a store that signs no index has nothing to delegate.
  if (!signsIndex) add(at, 'needs index: (the root names the key that signs index.json)');
  const threshold = value.threshold;
  if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 1) add(`${at}.threshold`, 'must be a whole number of at least 1');
  else if (threshold > governance.length) add(`${at}.threshold`, `is ${threshold}, but governance lists ${governance.length}: a root could never be signed`);
  let expiresMs = 0;
  try {
    expiresMs = parseDuration(String(value.expires ?? DEFAULT_ROOT_EXPIRY), `${at}.expires`);
    if (expiresMs > 5 * 365 * 86_400_000) add(`${at}.expires`, 'is longer than 5 years: a root that never lapses cannot be refused when frozen');
  } catch (err) {
    add(`${at}.expires`, (err as Error).message.replace(/^BAD_INPUT: /, ''));
  }
  return { threshold: typeof threshold === 'number' ? threshold : 1, expiresMs };
}
