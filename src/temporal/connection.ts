/**
 * How countersign reaches Temporal: address, namespace and TLS (mTLS), from the environment over
 * the optional `temporal:` section of the config file. This is the one place that turns those
 * settings into the `tls` option of @temporalio/client's Connection.connect and
 * @temporalio/worker's NativeConnection.connect, so the worker, the CLI and the clients agree.
 * Errors name the variable or field and the file, never the key's contents.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import YAML from 'yaml';
import { envFlag } from '../env-flag';
import { CountersignError } from '../errors';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** The environment variables, named as Temporal's own CLI names them. */
export const TEMPORAL_TLS_ENV = {
  enabled: 'TEMPORAL_TLS',
  ca: 'TEMPORAL_TLS_CA',
  cert: 'TEMPORAL_TLS_CERT',
  key: 'TEMPORAL_TLS_KEY',
  serverName: 'TEMPORAL_TLS_SERVER_NAME',
} as const;

/** TLS as configured: absolute paths of PEM files and the name to verify; `{}` is TLS with the system's roots. */
export interface TemporalTlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
}

/** The config file's optional top-level `temporal:` section. */
export interface TemporalSection {
  address?: string;
  namespace?: string;
  tls?: TemporalTlsFiles;
}

/** TLS for a connection: the SDK's option, and what it was made from (paths and names only, never key material). */
export interface TemporalTls {
  /** The `tls` option of Connection.connect and NativeConnection.connect. */
  config: TLSConfig;
  info: TemporalTlsFiles;
}

export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  /** Undefined: plain TCP. */
  tls?: TemporalTls;
}

type Raw = Record<string, unknown>;
type Add = (field: string, problem: string) => void;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);


/** Parses `temporal: { address, namespace, tls: { ca, cert, key, serverName } }`; paths are relative to baseDir. */
export function parseTemporalSection(raw: unknown, baseDir: string, add: Add): TemporalSection | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) {
    add('temporal', 'must be a mapping { address, namespace, tls }');
    return undefined;
  }
  // Unknown keys are the schema's to report (src/config-schema.ts), with a did-you-mean.
  const section: TemporalSection = {};
  const address = text(raw.address, 'temporal.address', add);
  if (address !== undefined) {
    if (/\s/.test(address) || !/:\d+$/.test(address)) add('temporal.address', `"${address}" is not HOST:PORT`);
    else section.address = address;
  }
  const namespace = text(raw.namespace, 'temporal.namespace', add);
  if (namespace !== undefined) section.namespace = namespace;
  const tls = raw.tls;
  if (tls === undefined || tls === null || tls === false) return section;
  if (tls === true) return { ...section, tls: {} };
  if (!isObject(tls)) {
    add('temporal.tls', 'must be true or a mapping { ca, cert, key, serverName }');
    return section;
  }
  const files: TemporalTlsFiles = {};
  for (const field of ['ca', 'cert', 'key'] as const) {
    const value = text(tls[field], `temporal.tls.${field}`, add);
    if (value === undefined) continue;
    files[field] = path.resolve(baseDir, value);
    if (!fs.existsSync(files[field]!)) add(`temporal.tls.${field}`, `file ${files[field]} does not exist`);
  }
  if (files.cert !== undefined && files.key === undefined) add('temporal.tls.key', 'is required with temporal.tls.cert (a client certificate goes with its key)');
  if (files.key !== undefined && files.cert === undefined) add('temporal.tls.cert', 'is required with temporal.tls.key (a client key goes with its certificate)');
  const serverName = text(tls.serverName, 'temporal.tls.serverName', add);
  if (serverName !== undefined) files.serverName = serverName;
  return { ...section, tls: files };
}

function text(value: unknown, field: string, add: Add): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    add(field, 'must be a non-empty string');
    return undefined;
  }
  return value;
}

/** A setting and where it came from (a variable or a config field), for error messages. */
interface Sourced {
  value: string;
  from: string;
}

/** An empty variable counts as unset, as compose passes `${VAR:-}` through. */
function fromEnv(env: NodeJS.ProcessEnv, name: string): Sourced | undefined {
  const value = env[name]?.trim();
  return value ? { value, from: name } : undefined;
}

function fromFile(value: string | undefined, field: string): Sourced | undefined {
  return value === undefined ? undefined : { value, from: `temporal.tls.${field} in the config file` };
}

/**
 * TLS for connecting to Temporal: each TEMPORAL_TLS_* variable over the config file's temporal.tls
 * field of the same meaning (the client certificate and key as one pair), or undefined for plain
 * TCP. Reads and checks the PEM files.
 */
export function temporalTls(env: NodeJS.ProcessEnv, file?: TemporalSection): TemporalTls | undefined {
  const flag = envFlag(env, TEMPORAL_TLS_ENV.enabled);
  const ca = fromEnv(env, TEMPORAL_TLS_ENV.ca);
  const cert = fromEnv(env, TEMPORAL_TLS_ENV.cert);
  const key = fromEnv(env, TEMPORAL_TLS_ENV.key);
  const serverName = fromEnv(env, TEMPORAL_TLS_ENV.serverName);
  const setInEnv = [ca, cert, key, serverName].filter((s): s is Sourced => s !== undefined);
  if (flag === false) {
    if (setInEnv.length > 0) {
      throw new CountersignError('BAD_CONFIG', `${TEMPORAL_TLS_ENV.enabled}=false turns TLS off, but ${setInEnv.map((s) => s.from).join(', ')} ${setInEnv.length === 1 ? 'is' : 'are'} set`);
    }
    return undefined;
  }
  if (cert && !key) throw new CountersignError('BAD_CONFIG', `${TEMPORAL_TLS_ENV.key} is not set: ${TEMPORAL_TLS_ENV.cert} (${cert.value}) needs the client certificate's private key beside it`);
  if (key && !cert) throw new CountersignError('BAD_CONFIG', `${TEMPORAL_TLS_ENV.cert} is not set: ${TEMPORAL_TLS_ENV.key} is a client key and needs its certificate beside it`);
  const fileTls = file?.tls;
  if (flag === undefined && setInEnv.length === 0 && fileTls === undefined) return undefined;

  const pair = cert && key ? { cert, key } : fileTls?.cert && fileTls.key ? { cert: fromFile(fileTls.cert, 'cert')!, key: fromFile(fileTls.key, 'key')! } : undefined;
  const caSource = ca ?? fromFile(fileTls?.ca, 'ca');
  const name = serverName ?? fromFile(fileTls?.serverName, 'serverName');
  const tls: TLSConfig = {};
  const info: TemporalTlsFiles = {};
  if (caSource) {
    tls.serverRootCACertificate = readCertificate(caSource, 'CA certificate');
    info.ca = caSource.value;
  }
  if (pair) {
    const crt = readCertificate(pair.cert, 'client certificate');
    tls.clientCertPair = { crt, key: readKeyFor(pair.key, crt, pair.cert) };
    info.cert = pair.cert.value;
  }
  if (name) {
    tls.serverNameOverride = name.value;
    info.serverName = name.value;
  }
  return { config: tls, info };
}

/**
 * Address, namespace and TLS for connecting to Temporal: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and
 * TEMPORAL_TLS_* first, then the config file's temporal: section, then the defaults.
 */
export function temporalConnectionSettings(env: NodeJS.ProcessEnv, file?: TemporalSection): TemporalConnectionSettings {
  const tls = temporalTls(env, file);
  return {
    address: env.TEMPORAL_ADDRESS?.trim() || file?.address || DEFAULT_TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE?.trim() || file?.namespace || DEFAULT_TEMPORAL_NAMESPACE,
    ...(tls ? { tls } : {}),
  };
}

/**
 * Only the `temporal:` section of a config file, for the worker, which needs nothing else of the
 * file to connect; the rest is checked where it is used.
 */
export function loadTemporalSection(file: string): TemporalSection | undefined {
  const absolute = path.resolve(file);
  let raw: unknown;
  try {
    raw = YAML.parse(fs.readFileSync(absolute, 'utf8'));
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(err as Error).message}`;
    throw new CountersignError('BAD_CONFIG', `config file ${absolute} ${reason}`);
  }
  const problems: string[] = [];
  const section = parseTemporalSection(isObject(raw) ? raw.temporal : undefined, path.dirname(absolute), (field, problem) => problems.push(`${field}: ${problem}`));
  if (problems.length > 0) throw new CountersignError('BAD_CONFIG', `${absolute} has ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`, { details: { problems } });
  return section;
}

/**
 * env for a worker on the plain loopback dev stack: TLS settings meant for another server dropped,
 * and TEMPORAL_TLS=false so a config file's temporal.tls does not apply either.
 */
export function plainTemporalEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const names = new Set<string>(Object.values(TEMPORAL_TLS_ENV));
  return { ...Object.fromEntries(Object.entries(env).filter(([name]) => !names.has(name))), [TEMPORAL_TLS_ENV.enabled]: 'false' };
}

/** A short description of the TLS in use, for messages: "plain TCP" or "mTLS (CA ..., client certificate ...)". */
export function describeTls(tls: TemporalTls | undefined): string {
  if (!tls) return 'plain TCP';
  const { info } = tls;
  const parts = [
    info.ca ? `CA ${info.ca}` : "the system's CA roots",
    ...(info.cert ? [`client certificate ${info.cert}`] : []),
    ...(info.serverName ? [`server name ${info.serverName}`] : []),
  ];
  return `${info.cert ? 'mTLS' : 'TLS'} (${parts.join(', ')})`;
}

function readFile(source: Sourced, what: string): Buffer {
  try {
    return fs.readFileSync(source.value);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    throw new CountersignError('BAD_CONFIG', `${source.from}: ${what} file ${source.value} ${reason}`);
  }
}

function readCertificate(source: Sourced, what: string): Buffer {
  const pem = readFile(source, what);
  if (!pem.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
    throw new CountersignError('BAD_CONFIG', `${source.from}: ${source.value} is not a PEM ${what} (no "-----BEGIN CERTIFICATE-----" block)`);
  }
  try {
    new crypto.X509Certificate(pem);
  } catch (err) {
    throw new CountersignError('BAD_CONFIG', `${source.from}: ${source.value} holds no readable ${what}: ${(err as Error).message}`);
  }
  return pem;
}

/** Reads the client key and checks it belongs to the certificate; the key's bytes never reach a message. */
function readKeyFor(source: Sourced, crt: Buffer, certSource: Sourced): Buffer {
  const pem = readFile(source, 'client key');
  const head = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----/.exec(pem.toString('latin1'));
  if (!head) throw new CountersignError('BAD_CONFIG', `${source.from}: ${source.value} is not a PEM private key (no "-----BEGIN ... PRIVATE KEY-----" block)`);
  if (head[1].includes('ENCRYPTED')) {
    throw new CountersignError('BAD_CONFIG', `${source.from}: ${source.value} is an encrypted key; Temporal's SDK takes an unencrypted PEM key (protect the file with its permissions)`);
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(pem);
  } catch {
    throw new CountersignError('BAD_CONFIG', `${source.from}: ${source.value} holds no readable private key`);
  }
  if (!new crypto.X509Certificate(crt).checkPrivateKey(key)) {
    throw new CountersignError('BAD_CONFIG', `${source.from}: ${source.value} is not the key of the client certificate ${certSource.value} (${certSource.from})`);
  }
  return pem;
}
