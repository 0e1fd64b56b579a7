/**
 * The `charts:` section of countersign.yaml: chart targets, each naming the directories the worker
 * may package charts from, the keys that sign them, where they are published and who approves.
 * A chart release names a chart target and nothing else the worker decides (docs/helm.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseApproval, type ApprovalConfig, type RosterConfig } from '../approval/config';
import { isKmsRef, parseKmsRef } from '../keys/kms-ref';
import type { TrustConfig } from '../trust/config';

/** Where the OpenPGP key's passphrase is read from when `signing.passphraseEnv` is left out. */
export const DEFAULT_PGP_PASSWORD_ENV = 'COUNTERSIGN_PGP_PASSPHRASE';
/** Where the cosign key's passphrase is read from when `cosign.passwordEnv` is left out. */
export const DEFAULT_CHART_COSIGN_PASSWORD_ENV = 'COSIGN_PASSWORD';

/** The OpenPGP key that signs the `.prov`: a trust store's active key, or a key file with its published keyring. */
export type ChartSigningConfig =
  | { trust: TrustConfig }
  | {
      /** Absolute path of the OpenPGP secret key (armored or binary). */
      key: string;
      /** Absolute path of the published binary keyring holding exactly that key. */
      keyring: string;
      passphraseEnv: string;
    };

export interface ChartTargetConfig {
  name: string;
  /** Absolute directories the worker may package charts from (a release's chart directory must lie under one). */
  sources: string[];
  signing: ChartSigningConfig;
  /** A cosign key for the archive's sigstore bundle and the OCI signature. */
  cosign?: { key: string; publicKey: string; passwordEnv: string };
  publish: {
    /** A chart repository directory (served statically). */
    repositoryDir?: string;
    /** Its public base URL, written into index.yaml. */
    repositoryUrl?: string;
    /** `<registry host>/<namespace>` for oci:// publication. */
    oci?: string;
  };
  approval: ApprovalConfig;
  /** Roster entries of everyone this chart target's approval policy names. */
  approvers: Record<string, RosterConfig>;
}

type Raw = Record<string, unknown>;
type Add = (field: string, problem: string) => void;

export interface ChartsContext {
  base: string;
  registry?: string;
  roster: Record<string, RosterConfig>;
  trust: Record<string, TrustConfig>;
  /** The raw `targets:` section: chart target names may not repeat a target's name. */
  targets: unknown;
}

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `charts:` name -> chart target; every problem is added with its field path. */
export function parseCharts(value: unknown, ctx: ChartsContext, add: Add): Record<string, ChartTargetConfig> {
  const out: Record<string, ChartTargetConfig> = {};
  if (value === undefined) return out;
  if (!isObject(value)) {
    add('charts', 'must map chart target names to { sources, signing, publish, approval }');
    return out;
  }
  for (const [name, raw] of Object.entries(value)) {
    const chart = parseChartTarget(name, raw, ctx, add);
    if (chart) out[name] = chart;
  }
  return out;
}

function parseChartTarget(name: string, value: unknown, ctx: ChartsContext, add: Add): ChartTargetConfig | undefined {
  const at = `charts.${name}`;
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) add(at, 'chart target names are lowercase letters, digits and "-"');
  // One namespace: an initiator's targets: list, `list --target` and re-opens name exactly one thing.
  if (isObject(ctx.targets) && Object.hasOwn(ctx.targets, name)) add(at, `"${name}" is already a target under targets:; chart targets and targets need different names`);
  if (!isObject(value)) {
    add(at, 'must be a mapping { sources, signing, publish, approval }');
    return undefined;
  }
  const sources = pathList(value.sources, `${at}.sources`, ctx.base, add);
  if (sources.length === 0 && value.sources !== undefined) add(`${at}.sources`, 'must list at least one directory the worker may package charts from');
  if (value.sources === undefined) add(`${at}.sources`, 'is required: the directories the worker may package charts from');
  for (const dir of sources) if (!fs.existsSync(dir)) add(`${at}.sources`, `directory ${dir} does not exist`);
  const signing = parseSigning(value.signing, `${at}.signing`, ctx, add);
  const cosign = value.cosign === undefined ? undefined : parseCosign(value.cosign, `${at}.cosign`, ctx.base, add);
  const publish = parsePublish(value.publish, `${at}.publish`, ctx, add);
  const approval = parseApproval(value.approval, `${at}.approval`, ctx.roster, add);
  if (!signing || !publish) return undefined;
  return {
    name,
    sources,
    signing,
    ...(cosign ? { cosign } : {}),
    publish,
    approval,
    approvers: Object.fromEntries(
      [...approval.groups.flatMap((g) => g.members), ...(approval.escalation?.members ?? []), ...(approval.reopen ?? [])]
        .filter((person) => ctx.roster[person])
        .map((person) => [person, ctx.roster[person]]),
    ),
  };
}

function parseSigning(value: unknown, at: string, ctx: ChartsContext, add: Add): ChartSigningConfig | undefined {
  if (!isObject(value)) {
    add(at, 'is required: { trust: NAME } or { key, keyring, passphraseEnv } (the OpenPGP key that signs the .prov)');
    return undefined;
  }
  const trustName = value.trust;
  const key = text(value, 'key', at, add);
  const keyring = text(value, 'keyring', at, add);
  const passphraseEnv = text(value, 'passphraseEnv', at, add);
  if (trustName !== undefined) {
    for (const [k, v] of [['key', key], ['keyring', keyring], ['passphraseEnv', passphraseEnv]] as const) if (v !== undefined) add(`${at}.${k}`, 'cannot be used together with trust:');
    const trust = ctx.trust[String(trustName)];
    if (!trust) add(`${at}.trust`, `no trust store "${String(trustName)}" under the top-level trust:`);
    else if (trust.kind !== 'openpgp') add(`${at}.trust`, `trust store ${trust.name} holds ${trust.kind} keys, not OpenPGP keys`);
    return trust ? { trust } : undefined;
  }
  if (key === undefined) add(`${at}.key`, 'is required (or trust: NAME): the OpenPGP secret key');
  if (keyring === undefined) add(`${at}.keyring`, 'is required: the published binary keyring holding the key, which the .prov must verify against');
  if (key === undefined || keyring === undefined) return undefined;
  const resolved = { key: path.resolve(ctx.base, key), keyring: path.resolve(ctx.base, keyring) };
  for (const k of ['key', 'keyring'] as const) if (!fs.existsSync(resolved[k])) add(`${at}.${k}`, `file ${resolved[k]} does not exist`);
  return { ...resolved, passphraseEnv: passphraseEnv ?? DEFAULT_PGP_PASSWORD_ENV };
}

function parseCosign(value: unknown, at: string, base: string, add: Add): ChartTargetConfig['cosign'] {
  if (!isObject(value)) {
    add(at, 'must be a mapping { key, publicKey, passwordEnv }');
    return undefined;
  }
  const key = text(value, 'key', at, add);
  const publicKey = text(value, 'publicKey', at, add);
  const passwordEnv = text(value, 'passwordEnv', at, add) ?? DEFAULT_CHART_COSIGN_PASSWORD_ENV;
  if (key === undefined) add(`${at}.key`, 'is required: the cosign private key (a key file or awskms://)');
  if (publicKey === undefined) add(`${at}.publicKey`, 'is required: its public key, which the bundle must verify against');
  if (key !== undefined && isKmsRef(key)) {
    try {
      parseKmsRef(key);
    } catch (err) {
      add(`${at}.key`, (err as Error).message.replace(/^KEY_INVALID: /, ''));
    }
  }
  if (key === undefined || publicKey === undefined) return undefined;
  const publicFile = path.resolve(base, publicKey);
  if (!fs.existsSync(publicFile)) add(`${at}.publicKey`, `file ${publicFile} does not exist`);
  return { key: /^[a-z][a-z0-9+.-]*:\/\//.test(key) ? key : path.resolve(base, key), publicKey: publicFile, passwordEnv };
}

function parsePublish(value: unknown, at: string, ctx: ChartsContext, add: Add): ChartTargetConfig['publish'] | undefined {
  if (!isObject(value)) {
    add(at, 'is required: { repositoryDir, repositoryUrl, oci } (where released charts go)');
    return undefined;
  }
  const repositoryDir = text(value, 'repositoryDir', at, add);
  const repositoryUrl = text(value, 'repositoryUrl', at, add);
  let oci = text(value, 'oci', at, add);
  if (repositoryDir === undefined && oci === undefined) add(at, 'needs repositoryDir, oci, or both');
  if (repositoryUrl !== undefined && repositoryDir === undefined) add(`${at}.repositoryUrl`, 'is the public URL of repositoryDir, which is not set');
  if (repositoryUrl !== undefined && !/^https?:\/\/\S+$/i.test(repositoryUrl)) add(`${at}.repositoryUrl`, `"${repositoryUrl}" is not an http(s) URL`);
  if (oci !== undefined) {
    const first = oci.split('/')[0]!;
    const hasHost = first.includes('.') || first.includes(':') || first === 'localhost';
    if (!hasHost && !ctx.registry) add(`${at}.oci`, `"${oci}" names no registry host; add one, set top-level registry:, or COUNTERSIGN_REGISTRY`);
    else if (!hasHost) oci = `${ctx.registry}/${oci}`;
  }
  return {
    ...(repositoryDir !== undefined ? { repositoryDir: path.resolve(ctx.base, repositoryDir) } : {}),
    ...(repositoryUrl !== undefined ? { repositoryUrl } : {}),
    ...(oci !== undefined ? { oci } : {}),
  };
}

function text(obj: Raw, key: string, at: string, add: Add): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') {
    add(`${at}.${key}`, 'must be a non-empty string');
    return undefined;
  }
  return v;
}

function pathList(value: unknown, at: string, base: string, add: Add): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((s) => typeof s !== 'string' || s === '')) {
    add(at, 'must be a list of non-empty strings');
    return [];
  }
  return [...new Set((value as string[]).map((dir) => path.resolve(base, dir)))];
}
