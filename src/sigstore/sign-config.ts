/**
 * A target's `keyless.sign:`: the worker makes the developer signatures of its directory builds
 * keyless, with a Fulcio certificate for the identity its token source gives, logged and
 * timestamped by the services its signing config names (docs/keyless.md).
 */
import path from 'node:path';
import { CountersignError } from '../errors';
import type { IdentityTokenSource } from './identity-token';
import { loadSigningConfigFile } from './signing-config';

export interface KeylessSignConfig {
  /** Absolute path of the signing_config.json. */
  signingConfig: string;
  identityToken: IdentityTokenSource;
}

/** What a run pins: the signing config's text (its hosts), and where the token comes from. */
export interface KeylessSignPin {
  signingConfig: string;
  signingConfigDigest: string;
  identityToken: IdentityTokenSource;
}

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function parseKeylessSign(value: unknown, at: string, base: string, add: (field: string, problem: string) => void): KeylessSignConfig | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    add(at, 'must be a mapping { signingConfig, identityToken }');
    return undefined;
  }
  let signingConfig: string | undefined;
  if (typeof value.signingConfig !== 'string' || value.signingConfig.trim() === '') add(`${at}.signingConfig`, 'is required: the path of a sigstore signing_config.json');
  else {
    signingConfig = path.resolve(base, value.signingConfig);
    try {
      loadSigningConfigFile(signingConfig);
    } catch (err) {
      add(`${at}.signingConfig`, err instanceof CountersignError ? err.message.slice(err.code.length + 2) : String(err));
    }
  }
  const identityToken = parseTokenSource(value.identityToken, `${at}.identityToken`, base, add);
  return signingConfig && identityToken ? { signingConfig, identityToken } : undefined;
}

function parseTokenSource(value: unknown, at: string, base: string, add: (field: string, problem: string) => void): IdentityTokenSource | undefined {
  const shape = 'must be { file } or { clientCredentials: { tokenUrl, clientId, clientSecretEnv } }';
  if (!isObject(value) || (value.file === undefined) === (value.clientCredentials === undefined)) {
    add(at, shape);
    return undefined;
  }
  if (value.file !== undefined) {
    if (typeof value.file !== 'string' || value.file.trim() === '') {
      add(`${at}.file`, 'must be the path of a file holding the token');
      return undefined;
    }
    return { file: path.resolve(base, value.file) };
  }
  const cc = value.clientCredentials;
  if (!isObject(cc)) {
    add(`${at}.clientCredentials`, 'must be a mapping { tokenUrl, clientId, clientSecretEnv, audience? }');
    return undefined;
  }
  let ok = true;
  let url: URL | undefined;
  try {
    url = new URL(String(cc.tokenUrl));
  } catch {
    url = undefined;
  }
  if (typeof cc.tokenUrl !== 'string' || !url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    add(`${at}.clientCredentials.tokenUrl`, 'must be an http(s) URL');
    ok = false;
  }
  if (typeof cc.clientId !== 'string' || cc.clientId.trim() === '') {
    add(`${at}.clientCredentials.clientId`, 'is required');
    ok = false;
  }
  if (typeof cc.clientSecretEnv !== 'string' || !ENV_NAME.test(cc.clientSecretEnv)) {
    add(`${at}.clientCredentials.clientSecretEnv`, 'must name the environment variable holding the client secret');
    ok = false;
  }
  if (cc.audience !== undefined && (typeof cc.audience !== 'string' || cc.audience.trim() === '')) {
    add(`${at}.clientCredentials.audience`, 'must be a non-empty string');
    ok = false;
  }
  if (!ok) return undefined;
  return { tokenUrl: String(cc.tokenUrl), clientId: String(cc.clientId), clientSecretEnv: String(cc.clientSecretEnv), ...(cc.audience ? { audience: String(cc.audience) } : {}) };
}

/** Reads the signing config once, for a run to pin. */
export function pinKeylessSign(config: KeylessSignConfig): KeylessSignPin {
  const pinned = loadSigningConfigFile(config.signingConfig);
  return { signingConfig: pinned.json, signingConfigDigest: pinned.digest, identityToken: config.identityToken };
}
