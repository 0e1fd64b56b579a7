import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { oversizedFields, schemaProblems, withoutDoubles } from './config-schema';
import { ADMISSION_CONTROLLERS, admissionRefusals, defaultFormatFor, isAdmissionController, type AdmissionController } from './cosign/admission';
import { DEFAULT_SIGNATURE_FORMAT, SIGNATURE_FORMATS, isSignatureFormat, type SignatureFormat } from './cosign/formats';
import { CountersignError } from './errors';
import { isKmsRef, parseKmsRef } from './keys/kms-ref';
import { MAX_CONFIG_BYTES } from './limits';
import { keyFingerprint } from './keys/public-key';
import { VSA_VERIFIER_ID } from './provenance/vsa';
import { normaliseRefPattern, refPatternProblem, type TargetPolicy } from './policy/policy';
import { DEFAULT_SEAL_KEY_FILE, type SealKeyConfig } from './seal/keyring';

export const DEFAULT_CONFIG_FILE = 'countersign.yaml';
export const DEFAULT_RELEASE_TAG = 'prod';
export const DEFAULT_DEV_PASSWORD_ENV = 'COUNTERSIGN_DEV_KEY_PASSWORD';
export const DEFAULT_PLATFORM_PASSWORD_ENV = 'COUNTERSIGN_PLATFORM_KEY_PASSWORD';
/** The configuration file: a thousand targets with their rosters fit in a fraction of this. */
/** One number for the configuration file's size, shared with the argument limits (src/limits.ts). */
export const DEFAULT_CONFIG_MAX_BYTES = MAX_CONFIG_BYTES;
/** Aliases (`*name`, merge keys included) in the file; each may expand to its whole anchor. */
export const DEFAULT_CONFIG_MAX_ALIASES = 100;
/** Nesting of mappings and lists; the schema's deepest path is under 10. */
export const DEFAULT_CONFIG_MAX_DEPTH = 32;
// Brackets inside quoted strings count too, so the text check leaves room above the depth limit.
const CONFIG_MAX_OPEN_BRACKETS = DEFAULT_CONFIG_MAX_DEPTH * 8;

export interface KeyConfig {
  /**
   * Private key reference: absolute path of a cosign.key, or an AWS KMS key as cosign names it
   * (`awskms://[endpoint]/alias/NAME`, key id or ARN); absent when only verifying.
   */
  key?: string;
  /** Absolute path of the public key PEM. */
  publicKey: string;
  /**
   * Environment variable holding a key file's passphrase. A KMS key needs no passphrase: for an
   * awskms:// key this may be left out, and whatever it names is never read.
   */
  passwordEnv: string;
  /** Set when the key comes from a trust store (`{ trust: NAME }`): the active key is pinned at start. */
  trust?: TrustConfig;
}

import { parseTrust, type TrustConfig } from './trust/config';
import { parseApproval, parseRoster, type ApprovalConfig, type RosterConfig } from './approval/config';
import { parseCharts, type ChartTargetConfig } from './helm/config';
import { parseTemporalSection, type TemporalSection } from './temporal/connection';
import { parseConsoleSection, type ConsoleSection } from './console/config';
import type { PasskeyConfig } from './approval/passkey-config';
import { parseMetricsSection, type MetricsSection } from './metrics/config';
import { parseNotifySection, type NotifySection } from './notify/config';
import { parseKeyless, type KeylessConfig } from './sigstore/config';

export type { ApprovalConfig, RosterConfig };

export interface TargetConfig {
  name: string;
  /** "registry-host/path" where images for this target live. */
  repository: string;
  releaseTag: string;
  policy: TargetPolicy;
  approval: ApprovalConfig;
  /** Roster entries of everyone this target's approval policy names. */
  approvers: Record<string, RosterConfig>;
  keys: { developer: KeyConfig; platform: KeyConfig };
  /** Where signatures and attestations are published: legacy (default), bundle or both (the default with `admission`). */
  signatureFormat: SignatureFormat;
  /** What the target's customers enforce at admission (docs/cosign-interop.md); absent when not said. */
  admission?: AdmissionController;
  /** Absolute directories the worker may build from (`promote --dir` must name one of them or a folder inside). */
  sources: string[];
  /** Developer signatures trusted by keyless identity, beside the developer key (docs/policy.md). */
  keyless?: KeylessConfig;
}

/** Someone (a person or a CI identity) who may start promotions, and of which targets. */
export interface InitiatorConfig {
  /** Absolute path of the SPKI PEM their start requests are signed with. */
  publicKey: string;
  /** Target names, or "*" for every target. */
  targets: string[];
}

export interface Config {
  file: string;
  registry?: string;
  /** The approver roster (top-level approvers:). */
  roster: Record<string, RosterConfig>;
  targets: Record<string, TargetConfig>;
  /** Trust stores (top-level trust:), see docs/trust.md. */
  trust: Record<string, TrustConfig>;
  /** Who may start promotions (top-level initiators:). */
  initiators: Record<string, InitiatorConfig>;
  /** Chart targets (top-level charts:), see docs/helm.md. */
  charts: Record<string, ChartTargetConfig>;
  /** How the worker reaches Temporal (top-level temporal:, see src/temporal/connection.ts); the environment wins. */
  temporal?: TemporalSection;
  /** The seal key workers share (top-level seal:, src/seal/keyring.ts). */
  seal: SealKeyConfig;
  /** Where the worker serves Prometheus metrics (top-level metrics:, src/metrics/config.ts). */
  metrics?: MetricsSection;
  /** `verifier.id` of the verification summaries this worker signs (top-level verificationSummary:). */
  verifierId: string;
  /** What the worker should say when it starts: settings that hold but that some verifier refuses. */
  warnings: string[];
  /** Where approvers open the console (top-level console:, src/console/config.ts): the passkeys' relying party. */
  console?: ConsoleSection;
  /** What notifications link to (top-level notify:, src/notify/config.ts). */
  notify?: NotifySection;
}

type Raw = Record<string, unknown>;

/** Collects every problem in a config file, so one run shows all of them. */
class Problems {
  readonly list: string[] = [];
  add(field: string, problem: string): void {
    this.list.push(`${field}: ${problem}`);
  }
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const absolute = path.resolve(file);
  let text: string;
  try {
    const size = fs.statSync(absolute).size;
    if (size > DEFAULT_CONFIG_MAX_BYTES) {
      throw new CountersignError('BAD_CONFIG', `${absolute} is ${size} bytes, over the ${DEFAULT_CONFIG_MAX_BYTES}-byte limit for a configuration file`, {
        details: { bytes: size, limit: DEFAULT_CONFIG_MAX_BYTES },
      });
    }
    text = fs.readFileSync(absolute, 'utf8');
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    throw new CountersignError('BAD_CONFIG', `config file ${absolute} not found (pass --config or create ${DEFAULT_CONFIG_FILE})`);
  }
  return parseConfig(parseConfigYaml(text, absolute), absolute, env);
}

/**
 * The YAML of a configuration file as a plain value, within the limits above: the file is parsed
 * to a document first, aliases counted and depth measured on it, and only then expanded.
 */
export function parseConfigYaml(text: string, file: string): unknown {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > DEFAULT_CONFIG_MAX_BYTES) {
    throw new CountersignError('BAD_CONFIG', `${file} is ${bytes} bytes, over the ${DEFAULT_CONFIG_MAX_BYTES}-byte limit for a configuration file`, {
      details: { bytes, limit: DEFAULT_CONFIG_MAX_BYTES },
    });
  }
  // The YAML parser recurses on flow collections and takes seconds to overflow on a megabyte of
  // '['; a running count of unclosed brackets (quotes ignored, so an upper bound) stops it first.
  let open = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) open += 1;
    else if ((c === 0x5d || c === 0x7d) && open > 0) open -= 1;
    if (open > CONFIG_MAX_OPEN_BRACKETS) {
      throw new CountersignError('BAD_CONFIG', `${file} has more than ${CONFIG_MAX_OPEN_BRACKETS} unclosed '[' or '{' (nesting limit ${DEFAULT_CONFIG_MAX_DEPTH})`, {
        details: { limit: CONFIG_MAX_OPEN_BRACKETS },
      });
    }
  }
  let doc: YAML.Document.Parsed;
  try {
    doc = YAML.parseDocument(text);
  } catch (cause) {
    throw new CountersignError('BAD_CONFIG', `${file} is not valid YAML: ${(cause as Error).message.split('\n')[0]}`, { cause });
  }
  if (doc.errors.length > 0) throw new CountersignError('BAD_CONFIG', `${file} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const shape = yamlShape(doc.contents, DEFAULT_CONFIG_MAX_DEPTH);
  if (shape.tooDeep) {
    throw new CountersignError('BAD_CONFIG', `${file} nests mappings and lists deeper than ${DEFAULT_CONFIG_MAX_DEPTH} levels`, { details: { limit: DEFAULT_CONFIG_MAX_DEPTH } });
  }
  if (shape.aliases > DEFAULT_CONFIG_MAX_ALIASES) {
    throw new CountersignError('BAD_CONFIG', `${file} has ${shape.aliases} aliases, more than the ${DEFAULT_CONFIG_MAX_ALIASES} allowed`, {
      details: { aliases: shape.aliases, limit: DEFAULT_CONFIG_MAX_ALIASES },
    });
  }
  try {
    return doc.toJS({ maxAliasCount: DEFAULT_CONFIG_MAX_ALIASES });
  } catch (cause) {
    // yaml's own guard: aliases of aliases that would expand past the limit.
    throw new CountersignError('BAD_CONFIG', `${file}: aliases expand past the limit of ${DEFAULT_CONFIG_MAX_ALIASES} (${(cause as Error).message})`, { cause });
  }
}

/** Alias count and whether any collection is nested deeper than `maxDepth`, without recursion. */
function yamlShape(root: unknown, maxDepth: number): { aliases: number; tooDeep: boolean } {
  let aliases = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (YAML.isAlias(node)) aliases += 1;
    else if (YAML.isCollection(node)) {
      if (depth > maxDepth) return { aliases, tooDeep: true };
      for (const item of node.items) {
        if (YAML.isPair(item)) stack.push([item.key, depth + 1], [item.value, depth + 1]);
        else stack.push([item, depth + 1]);
      }
    }
  }
  return { aliases, tooDeep: false };
}

export function parseConfig(raw: unknown, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const problems = new Problems();
  const base = path.dirname(file);
  if (!isObject(raw)) throw new CountersignError('BAD_CONFIG', `${file}: the top level must be a mapping`);
  const fromSchema = schemaProblems(raw);
  const registry = optionalString(raw, 'registry', problems) ?? env.COUNTERSIGN_REGISTRY;
  const sharedKeys = isObject(raw.keys) ? raw.keys : {};
  if (raw.keys !== undefined && !isObject(raw.keys)) problems.add('keys', 'must be a mapping');
  const consoleSection = parseConsoleSection(raw.console, (field, problem) => problems.add(field, problem));
  const roster = parseRoster(raw.approvers, base, (field, problem) => problems.add(field, problem), consoleSection);
  const trust = parseTrust(raw.trust, base, roster, (field, problem) => problems.add(field, problem));
  const initiators = parseInitiators(raw.initiators, base, roster, problems);
  const temporal = parseTemporalSection(raw.temporal, base, (field, problem) => problems.add(field, problem));
  const seal = parseSeal(raw.seal, base, env, problems);
  const metrics = parseMetricsSection(raw.metrics, (field, problem) => problems.add(field, problem));
  const verifierId = parseVerificationSummary(raw.verificationSummary, problems);
  const notify = parseNotifySection(raw.notify, (field, problem) => problems.add(field, problem));
  const targets: Record<string, TargetConfig> = {};
  // A worker that only releases charts needs no image target: one of the two must name something.
  const chartsOnly = raw.targets === undefined && isObject(raw.charts) && Object.keys(raw.charts).length > 0;
  if (!chartsOnly && (!isObject(raw.targets) || Object.keys(raw.targets).length === 0)) {
    problems.add('targets', 'must be a mapping with at least one target (or leave targets: out and give charts: at least one chart target)');
  } else if (isObject(raw.targets)) {
    for (const [name, value] of Object.entries(raw.targets)) {
      const target = parseTarget(name, value, { base, registry, sharedKeys, roster, trust, problems });
      if (target) targets[name] = target;
    }
  }
  const charts = parseCharts(raw.charts, { base, registry, roster, trust, targets: raw.targets }, (field, problem) => problems.add(field, problem));
  for (const [name, initiator] of Object.entries(initiators)) {
    initiator.targets.forEach((t, i) => {
      const known = (isObject(raw.targets) && t in raw.targets) || (isObject(raw.charts) && t in raw.charts);
      if (t !== '*' && (isObject(raw.targets) || chartsOnly) && !known) problems.add(`initiators.${name}.targets[${i}]`, `no target "${t}" under targets: or charts:`);
    });
  }
  // A campaign's per-target action names a target, so a typo never falls back to the default silently.
  for (const store of Object.values(trust)) {
    for (const t of Object.keys(store.campaign.targets)) {
      // An OpenPGP store's campaign acts on chart releases: its chart targets are named the same way.
      const known = (isObject(raw.targets) && t in raw.targets) || (isObject(raw.charts) && t in raw.charts);
      if (!known) problems.add(`trust.${store.name}.campaign.targets.${t}`, `no target "${t}" under targets: or charts:`);
    }
  }
  checkOneKeyOnePerson(roster, initiators, problems);
  problems.list.unshift(...withoutDoubles(fromSchema, problems.list));
  // A value over its size limit is reported by its size only: other words about it could quote it back.
  const oversized = oversizedFields(raw);
  if (oversized.size > 0) {
    const inside = (p: string) => [...oversized.keys()].some((f) => p.startsWith(`${f}: `) || p.startsWith(`${f}.`) || p.startsWith(`${f}[`));
    problems.list.splice(0, problems.list.length, ...oversized.values(), ...problems.list.filter((p) => !inside(p)));
  }
  if (problems.list.length > 0) {
    throw new CountersignError('BAD_CONFIG', `${file} has ${problems.list.length} problem(s):\n  - ${problems.list.join('\n  - ')}`, {
      details: { problems: problems.list },
    });
  }
  return { file, registry, roster, targets, trust, initiators, charts, seal, ...(temporal ? { temporal } : {}), ...(metrics ? { metrics } : {}), ...(consoleSection ? { console: consoleSection } : {}), ...(notify ? { notify } : {}), verifierId, warnings: admissionWarnings(targets) };
}

/** `verificationSummary:` { verifierId }: the URI customers pass to `slsa-verifier verify-vsa --verifier-id`. */
function parseVerificationSummary(value: unknown, problems: Problems): string {
  if (value === undefined) return VSA_VERIFIER_ID;
  if (!isObject(value)) {
    problems.add('verificationSummary', 'must be a mapping { verifierId }');
    return VSA_VERIFIER_ID;
  }
  const id = optionalString(value, 'verifierId', problems, 'verificationSummary');
  return id ?? VSA_VERIFIER_ID;
}

/**
 * A target whose customers enforce at admission but whose worker pins a format one of their
 * controllers refuses (the default with admission, both, none refuses): the promotion signs, and the cluster keeps the image out. Said at start,
 * not refused, since the operator may know their policies differ from the examples.
 */
function admissionWarnings(targets: Record<string, TargetConfig>): string[] {
  const out: string[] = [];
  for (const target of Object.values(targets)) {
    for (const refusal of admissionRefusals(target.admission, target.signatureFormat)) {
      out.push(
        `targets.${target.name}: signatureFormat ${target.signatureFormat} with admission ${target.admission}: ${refusal.verifier} refuses its images (${refusal.reason}); publish both (the default with admission) or say why not`,
      );
    }
  }
  return out;
}

/**
 * `seal:` { keyFile, previousKeyFiles }, paths relative to the config file. Without keyFile the
 * worker creates the key on first start: beside the config file, or at $COUNTERSIGN_SEAL_KEY_FILE
 * (for a configuration mounted read-only, as in docker-compose.yml).
 */
function parseSeal(value: unknown, base: string, env: NodeJS.ProcessEnv, problems: Problems): SealKeyConfig {
  const fallback = { keyFile: env.COUNTERSIGN_SEAL_KEY_FILE ? path.resolve(env.COUNTERSIGN_SEAL_KEY_FILE) : path.join(base, DEFAULT_SEAL_KEY_FILE), previousKeyFiles: [], isDefault: true };
  if (value === undefined) return fallback;
  if (!isObject(value)) {
    problems.add('seal', 'must be a mapping');
    return fallback;
  }
  const keyFile = optionalString(value, 'keyFile', problems, 'seal');
  const previous = value.previousKeyFiles;
  const previousKeyFiles: string[] = [];
  if (previous !== undefined) {
    if (!Array.isArray(previous)) problems.add('seal.previousKeyFiles', 'must be a list of files');
    else previous.forEach((f, i) => (typeof f === 'string' && f ? previousKeyFiles.push(path.resolve(base, f)) : problems.add(`seal.previousKeyFiles[${i}]`, 'must be a file name')));
  }
  return keyFile ? { keyFile: path.resolve(base, keyFile), previousKeyFiles, isDefault: false } : { ...fallback, previousKeyFiles };
}

/** `initiators:` name -> { publicKey, targets }; a name also in approvers: may reuse that key. */
function parseInitiators(value: unknown, base: string, roster: Record<string, RosterConfig>, problems: Problems): Record<string, InitiatorConfig> {
  const out: Record<string, InitiatorConfig> = {};
  if (value === undefined) return out;
  if (!isObject(value)) {
    problems.add('initiators', 'must map each initiator name to { publicKey, targets }');
    return out;
  }
  for (const [name, entry] of Object.entries(value)) {
    const at = `initiators.${name}`;
    if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/.test(name)) problems.add(at, 'initiator names are letters, digits and . _ @ -');
    if (!isObject(entry)) {
      problems.add(at, 'must be a mapping { publicKey, targets }');
      continue;
    }
    const ownKey = optionalString(entry, 'publicKey', problems, at);
    const publicKey = ownKey !== undefined ? path.resolve(base, ownKey) : roster[name]?.publicKey;
    if (!publicKey) {
      problems.add(`${at}.publicKey`, `is required (or list ${name} under approvers: with a publicKey)`);
      continue;
    }
    if (!fs.existsSync(publicKey)) problems.add(`${at}.publicKey`, `file ${publicKey} does not exist`);
    const targets = stringList(entry, 'targets', problems, at);
    if (targets.length === 0) problems.add(`${at}.targets`, 'must list the targets this initiator may start ("*" for all)');
    out[name] = { publicKey, targets };
  }
  return out;
}

/**
 * One key stands for one person: a key listed under two names would let one person fill two
 * approval slots (or approve what they started under another name).
 */
function checkOneKeyOnePerson(roster: Record<string, RosterConfig>, initiators: Record<string, InitiatorConfig>, problems: Problems): void {
  const owner = new Map<string, string>();
  const entries: Array<[string, string, string]> = [
    ...Object.entries(roster).flatMap(([name, r]): Array<[string, string, string]> => (r.publicKey ? [[name, r.publicKey, `approvers.${name}.publicKey`]] : [])),
    ...Object.entries(initiators).map(([name, i]): [string, string, string] => [name, i.publicKey, `initiators.${name}.publicKey`]),
  ];
  const passkeyEntries = Object.entries(roster).flatMap(([name, r]) => (r.passkeys ?? []).map((p, i): [string, PasskeyConfig, string] => [name, p, `approvers.${name}.passkeys[${i}]`]));
  const credentialOwner = new Map<string, string>();
  for (const [name, passkey, at] of passkeyEntries) {
    const first = credentialOwner.get(passkey.id);
    if (first !== undefined && first !== name) problems.add(`${at}.id`, `credential ${passkey.id.slice(0, 16)} is already ${first}'s: one passkey may stand for one person only`);
    else credentialOwner.set(passkey.id, name);
  }
  for (const [name, file, at] of [...entries, ...passkeyEntries.map(([name, p, at]): [string, string, string] => [name, p.publicKeyPem, `${at}.publicKey`])]) {
    const fingerprint = fingerprintOf(file);
    if (!fingerprint) continue;
    const first = owner.get(fingerprint);
    if (first !== undefined && first !== name) problems.add(at, `the same key (${fingerprint.slice(0, 16)}) is already ${first}'s: one key may stand for one person only`);
    else owner.set(fingerprint, name);
  }
}

/** A key file's fingerprint (or an inline PEM's: passkeys may be written into the config). */
function fingerprintOf(file: string): string | undefined {
  try {
    return keyFingerprint(file.includes('-----BEGIN') ? file : fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function parseTarget(
  name: string,
  value: unknown,
  ctx: { base: string; registry?: string; sharedKeys: Raw; roster: Record<string, RosterConfig>; trust: Record<string, TrustConfig>; problems: Problems },
): TargetConfig | undefined {
  const { problems } = ctx;
  const at = `targets.${name}`;
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) problems.add(at, 'target names are lowercase letters, digits and "-"');
  if (!isObject(value)) {
    problems.add(at, 'must be a mapping');
    return undefined;
  }
  const repository = resolveRepository(requiredString(value, 'repository', problems, at), ctx.registry, `${at}.repository`, problems);
  const releaseTag = optionalString(value, 'releaseTag', problems, at) ?? DEFAULT_RELEASE_TAG;
  if (!/^[\w][\w.-]{0,127}$/.test(releaseTag)) problems.add(`${at}.releaseTag`, `"${releaseTag}" is not a valid tag`);
  const admission = value.admission;
  if (admission !== undefined && !isAdmissionController(admission)) problems.add(`${at}.admission`, `must be one of ${ADMISSION_CONTROLLERS.join(', ')}, not ${JSON.stringify(admission)}`);
  const signatureFormat = value.signatureFormat ?? defaultFormatFor(isAdmissionController(admission) ? admission : undefined, DEFAULT_SIGNATURE_FORMAT);
  if (!isSignatureFormat(signatureFormat)) problems.add(`${at}.signatureFormat`, `must be one of ${SIGNATURE_FORMATS.join(', ')}, not ${JSON.stringify(signatureFormat)}`);

  const rawPolicy = isObject(value.policy) ? value.policy : (problems.add(`${at}.policy`, 'is required'), {});
  const builderIds = stringList(rawPolicy, 'builderIds', problems, `${at}.policy`);
  if (builderIds.length === 0) problems.add(`${at}.policy.builderIds`, 'must list at least one builder id');
  const requireCommit = rawPolicy.requireCommit ?? true;
  if (typeof requireCommit !== 'boolean') problems.add(`${at}.policy.requireCommit`, 'must be true or false');
  const refs = rawPolicy.refs === undefined ? undefined : stringList(rawPolicy, 'refs', problems, `${at}.policy`);
  if (refs !== undefined && refs.length === 0 && Array.isArray(rawPolicy.refs)) problems.add(`${at}.policy.refs`, 'must list at least one ref (or leave refs out)');
  for (const ref of refs ?? []) {
    const problem = refPatternProblem(ref);
    if (problem) problems.add(`${at}.policy.refs`, problem);
  }
  const commitPrefix = rawPolicy.commitPrefix;
  if (commitPrefix !== undefined && typeof commitPrefix !== 'boolean') problems.add(`${at}.policy.commitPrefix`, 'must be true or false');
  const policy: TargetPolicy = {
    sourceRepo: requiredString(rawPolicy, 'sourceRepo', problems, `${at}.policy`) ?? '',
    builderIds,
    buildCommand: optionalString(rawPolicy, 'buildCommand', problems, `${at}.policy`),
    requireCommit: requireCommit === true,
    ...(refs !== undefined ? { refs: [...new Set(refs.map(normaliseRefPattern))] } : {}),
    ...(typeof commitPrefix === 'boolean' ? { commitPrefix } : {}),
  };

  const keyless = parseKeyless(value.keyless, `${at}.keyless`, ctx.base, (field, problem) => problems.add(field, problem));
  // A promotion's gate continues as new when its history grows (docs/reliability.md): any reminder rate fits.
  const approval = parseApproval(value.approval, `${at}.approval`, ctx.roster, (field, problem) => problems.add(field, problem), { continuesAsNew: true, showsEvidence: true });
  const sources = stringList(value, 'sources', problems, at).map((dir) => path.resolve(ctx.base, dir));
  for (const dir of sources) if (!fs.existsSync(dir)) problems.add(`${at}.sources`, `directory ${dir} does not exist`);

  const rawKeys = isObject(value.keys) ? { ...ctx.sharedKeys, ...value.keys } : ctx.sharedKeys;
  const developer = parseKey(rawKeys.developer, `${at}.keys.developer`, DEFAULT_DEV_PASSWORD_ENV, ctx);
  const platform = parseKey(rawKeys.platform, `${at}.keys.platform`, DEFAULT_PLATFORM_PASSWORD_ENV, ctx);
  if (!repository || !developer || !platform) return undefined;
  if (developer.publicKey && platform.publicKey) {
    const dev = fingerprintOf(developer.publicKey);
    if (dev !== undefined && dev === fingerprintOf(platform.publicKey)) {
      problems.add(`${at}.keys.developer`, `is the platform key (${dev.slice(0, 16)}): a developer signature would be a production signature before any check or approval`);
    }
  }
  return {
    name,
    repository,
    releaseTag,
    policy,
    approval,
    approvers: Object.fromEntries(
      [...approval.groups.flatMap((g) => g.members), ...(approval.escalation?.members ?? []), ...(approval.reopen ?? [])]
        .filter((name) => ctx.roster[name])
        .map((name) => [name, ctx.roster[name]]),
    ),
    keys: { developer, platform },
    signatureFormat: signatureFormat as SignatureFormat,
    ...(isAdmissionController(admission) ? { admission } : {}),
    sources,
    ...(keyless ? { keyless } : {}),
  };
}

function parseKey(value: unknown, at: string, defaultEnv: string, ctx: { base: string; trust: Record<string, TrustConfig>; problems: Problems }): KeyConfig | undefined {
  if (!isObject(value)) {
    ctx.problems.add(at, 'is required (key, publicKey, passwordEnv), here or under the top-level keys:');
    return undefined;
  }
  if (value.trust !== undefined) {
    const trust = ctx.trust[String(value.trust)];
    if (!trust) ctx.problems.add(`${at}.trust`, `no trust store "${String(value.trust)}" under the top-level trust:`);
    else if (trust.kind !== 'cosign') ctx.problems.add(`${at}.trust`, `trust store ${trust.name} holds ${trust.kind} keys, not cosign keys`);
    return trust ? { publicKey: '', passwordEnv: trust.backend.type === 'file' ? trust.backend.passwordEnv : defaultEnv, trust } : undefined;
  }
  const key = optionalString(value, 'key', ctx.problems, at);
  const publicKey = requiredString(value, 'publicKey', ctx.problems, at);
  const passwordEnv = optionalString(value, 'passwordEnv', ctx.problems, at) ?? defaultEnv;
  if (key !== undefined && isKmsRef(key)) {
    try {
      parseKmsRef(key);
    } catch (err) {
      ctx.problems.add(`${at}.key`, (err as Error).message.replace(/^KEY_INVALID: /, ''));
    }
  }
  if (!publicKey) return undefined;
  const resolved = path.resolve(ctx.base, publicKey);
  if (!fs.existsSync(resolved)) ctx.problems.add(`${at}.publicKey`, `file ${resolved} does not exist`);
  return { key: key === undefined ? undefined : resolveKeyRef(key, ctx.base), publicKey: resolved, passwordEnv };
}

/** File paths are made absolute against the config's folder; URIs (awskms://) are kept. */
export function resolveKeyRef(ref: string, base: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//.test(ref) ? ref : path.resolve(base, ref);
}

function resolveRepository(value: string | undefined, registry: string | undefined, at: string, problems: Problems): string | undefined {
  if (value === undefined) return undefined;
  const first = value.split('/')[0];
  const hasHost = first.includes('.') || first.includes(':') || first === 'localhost';
  if (hasHost) return value;
  if (!registry) {
    problems.add(at, `"${value}" names no registry host; add one, set top-level registry:, or COUNTERSIGN_REGISTRY`);
    return undefined;
  }
  return `${registry}/${value}`;
}

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requiredString(obj: Raw, key: string, problems: Problems, at?: string): string | undefined {
  const v = obj[key];
  const field = at ? `${at}.${key}` : key;
  if (typeof v !== 'string' || v.trim() === '') {
    problems.add(field, v === undefined ? 'is required' : 'must be a non-empty string');
    return undefined;
  }
  return v;
}

function optionalString(obj: Raw, key: string, problems: Problems, at?: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.trim() === '') {
    problems.add(at ? `${at}.${key}` : key, 'must be a non-empty string');
    return undefined;
  }
  return v;
}

function stringList(obj: Raw, key: string, problems: Problems, at: string): string[] {
  const v = obj[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '')) {
    problems.add(`${at}.${key}`, 'must be a list of non-empty strings');
    return [];
  }
  return [...new Set(v as string[])];
}
