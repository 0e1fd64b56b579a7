/**
 * A target's `keyless:` section: developer signatures trusted by identity, checked offline
 * against a pinned trusted root (docs/policy.md, "Keyless developer signatures").
 */
import path from 'node:path';
import { CountersignError } from '../errors';
import { regExpProblem, type KeylessIdentity } from './identity';
import { DEFAULT_KEYLESS_REQUIREMENTS, type KeylessRequirements } from './keyless';
import { loadTrustedRootFile } from './trusted-root';
import { parseKeylessSign, pinKeylessSign, type KeylessSignConfig } from './sign-config';

export interface KeylessConfig {
  /** Absolute path of the pinned trusted_root.json. */
  trustedRoot: string;
  identities: KeylessIdentity[];
  require: KeylessRequirements;
  /** The worker signs this target's directory builds keyless (docs/keyless.md). */
  sign?: KeylessSignConfig;
}

/** Identities one target lists; a CI needs one or two (a release and a hotfix workflow). */
export const MAX_KEYLESS_IDENTITIES = 32;
/** Ceiling for each requirement count: more would only be a typo. */
export const MAX_KEYLESS_REQUIREMENT = 10;

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseKeyless(value: unknown, at: string, base: string, add: (field: string, problem: string) => void): KeylessConfig | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    add(at, 'must be a mapping { trustedRoot, identities, require?, sign? }');
    return undefined;
  }
  let trustedRoot: string | undefined;
  if (typeof value.trustedRoot !== 'string' || value.trustedRoot.trim() === '') add(`${at}.trustedRoot`, 'is required: the path of a pinned trusted_root.json');
  else {
    trustedRoot = path.resolve(base, value.trustedRoot);
    try {
      loadTrustedRootFile(trustedRoot);
    } catch (err) {
      add(`${at}.trustedRoot`, err instanceof CountersignError ? err.message.slice(err.code.length + 2) : String(err));
    }
  }
  const identities: KeylessIdentity[] = [];
  if (!Array.isArray(value.identities) || value.identities.length === 0) add(`${at}.identities`, 'must list at least one { subject | subjectRegExp, issuer | issuerRegExp }');
  else if (value.identities.length > MAX_KEYLESS_IDENTITIES) add(`${at}.identities`, `lists ${value.identities.length}, more than ${MAX_KEYLESS_IDENTITIES}`);
  else value.identities.forEach((entry, i) => {
    const id = parseIdentity(entry, `${at}.identities[${i}]`, add);
    if (id) identities.push(id);
  });
  const require = { ...DEFAULT_KEYLESS_REQUIREMENTS };
  if (value.require !== undefined) {
    if (!isObject(value.require)) add(`${at}.require`, 'must be a mapping { tlog, sct, timestamps, rfc3161 }');
    else for (const key of Object.keys(DEFAULT_KEYLESS_REQUIREMENTS) as Array<keyof KeylessRequirements>) {
      const n = value.require[key];
      if (n === undefined) continue;
      const min = key === 'timestamps' ? 1 : 0;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > MAX_KEYLESS_REQUIREMENT) add(`${at}.require.${key}`, `must be a whole number from ${min} to ${MAX_KEYLESS_REQUIREMENT}`);
      else require[key] = n;
    }
  }
  const sign = parseKeylessSign(value.sign, `${at}.sign`, base, add);
  if (!trustedRoot || identities.length === 0) return undefined;
  return { trustedRoot, identities, require, ...(sign ? { sign } : {}) };
}

function parseIdentity(entry: unknown, at: string, add: (field: string, problem: string) => void): KeylessIdentity | undefined {
  if (!isObject(entry)) {
    add(at, 'must be a mapping { subject | subjectRegExp, issuer | issuerRegExp }');
    return undefined;
  }
  const id: KeylessIdentity = {};
  let ok = true;
  for (const [exact, pattern] of [['subject', 'subjectRegExp'], ['issuer', 'issuerRegExp']] as const) {
    const e = entry[exact];
    const p = entry[pattern];
    if ((e === undefined) === (p === undefined)) {
      add(at, `give one of ${exact} and ${pattern}`);
      ok = false;
      continue;
    }
    const value = e ?? p;
    if (typeof value !== 'string' || value.trim() === '') {
      add(`${at}.${e !== undefined ? exact : pattern}`, 'must be a non-empty string');
      ok = false;
      continue;
    }
    if (p !== undefined) {
      const problem = regExpProblem(value);
      if (problem) {
        add(`${at}.${pattern}`, problem);
        ok = false;
        continue;
      }
    }
    id[e !== undefined ? exact : pattern] = value;
  }
  return ok ? id : undefined;
}

/** Reads the trusted root once, for a run to pin (src/sigstore/pin.ts). */
export function pinKeyless(config: KeylessConfig): import('./pin').KeylessPin {
  const root = loadTrustedRootFile(config.trustedRoot);
  return {
    trustedRoot: root.json,
    trustedRootDigest: root.digest,
    identities: config.identities,
    require: config.require,
    ...(config.sign ? { sign: pinKeylessSign(config.sign) } : {}),
  };
}
