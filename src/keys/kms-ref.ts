/**
 * AWS KMS key references, in the grammar cosign (sigstore's kms/aws package) accepts:
 *
 *   awskms://[ENDPOINT]/KEY
 *
 * where ENDPOINT is an optional host[:port] (empty gives the three slashes of `awskms:///`) and
 * KEY is a key id (uuid, or `mrk-` + 32 hex digits for a multi-region key), a key ARN, an alias
 * name (`alias/NAME`) or an alias ARN. Anything else is KEY_INVALID.
 */
import { CountersignError } from '../errors';

export const AWSKMS_SCHEME = 'awskms://';

export interface KmsKeyRef {
  /** The reference as written. */
  ref: string;
  /** host[:port] from the URI, or undefined for `awskms:///...`. */
  endpoint?: string;
  /** What KMS calls the KeyId: the key id, key ARN, alias name or alias ARN. */
  keyId: string;
  /** `alias/NAME` when the reference names an alias. */
  alias?: string;
  /** The region of an ARN reference. */
  region?: string;
}

const UUID = '[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}';
const KEY_ID = `(?:mrk-)?${UUID}`;
const ALIAS = 'alias/[A-Za-z0-9/_-]+';
const ARN_PREFIX = 'arn:(?:aws|aws-us-gov|aws-cn):kms:([a-z0-9-]+):\\d{12}:';

const KEY_FORMS: ReadonlyArray<{ re: RegExp; kind: 'id' | 'alias' }> = [
  { re: new RegExp(`^${KEY_ID}$`), kind: 'id' },
  { re: new RegExp(`^${ARN_PREFIX}key/${KEY_ID}$`), kind: 'id' },
  { re: new RegExp(`^${ALIAS}$`), kind: 'alias' },
  { re: new RegExp(`^${ARN_PREFIX}(${ALIAS})$`), kind: 'alias' },
];

/** host, IPv4 or [IPv6], with an optional port. */
const ENDPOINT = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

const FORMAT_HINT = 'expected awskms://[ENDPOINT]/KEY with KEY a key id, key ARN, alias/NAME or alias ARN (e.g. awskms:///alias/platform)';

export function isKmsRef(ref: string): boolean {
  return typeof ref === 'string' && ref.startsWith(AWSKMS_SCHEME);
}

/** Parses an awskms:// reference; KEY_INVALID (naming the reference) when it is not one cosign accepts. */
export function parseKmsRef(ref: string): KmsKeyRef {
  const bad = (why: string) => new CountersignError('KEY_INVALID', `${JSON.stringify(ref)}: ${why}; ${FORMAT_HINT}`, { details: { ref } });
  if (!isKmsRef(ref)) throw bad('not an awskms:// reference');
  const rest = ref.slice(AWSKMS_SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash < 0) throw bad('no "/" after the endpoint (without an endpoint, write three slashes: awskms:///)');
  const host = rest.slice(0, slash);
  const key = rest.slice(slash + 1);
  if (host !== '' && !ENDPOINT.test(host)) throw bad(`endpoint "${host}" is not host[:port]`);
  for (const form of KEY_FORMS) {
    const m = form.re.exec(key);
    if (!m) continue;
    const region = key.startsWith('arn:') ? m[1] : undefined;
    const alias = form.kind === 'alias' ? (region ? m[2] : key) : undefined;
    return { ref, endpoint: host === '' ? undefined : host, keyId: key, alias, region };
  }
  if (key === '') throw bad('no key after the endpoint');
  throw bad(`"${key}" is not a key id, key ARN, alias/NAME or alias ARN`);
}

function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.startsWith('[') ? hostPort.slice(1, hostPort.indexOf(']')) : hostPort.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The endpoint URL for a host[:port]. cosign always speaks https to a URI endpoint; countersign does
 * too, except on loopback, where a local KMS API server (a test double, an emulator) speaks plain http.
 */
export function endpointUrl(hostPort: string): string {
  return `${isLoopbackHost(hostPort) ? 'http' : 'https'}://${hostPort}`;
}

/**
 * Where requests go: the endpoint in the reference wins; then COUNTERSIGN_KMS_ENDPOINT (a URL, or a
 * host[:port] treated like a URI endpoint); else undefined, meaning AWS's regional endpoint.
 */
export function resolveEndpoint(ref: KmsKeyRef, env: NodeJS.ProcessEnv): string | undefined {
  if (ref.endpoint !== undefined) return endpointUrl(ref.endpoint);
  const fromEnv = env.COUNTERSIGN_KMS_ENDPOINT?.trim();
  if (!fromEnv) return undefined;
  if (/^https?:\/\//.test(fromEnv)) return fromEnv.replace(/\/+$/, '');
  if (ENDPOINT.test(fromEnv)) return endpointUrl(fromEnv);
  throw new CountersignError('BAD_CONFIG', `COUNTERSIGN_KMS_ENDPOINT="${fromEnv}" is neither an http(s) URL nor host[:port]`);
}

/** An ARN's region wins (the key lives there); then AWS_REGION, AWS_DEFAULT_REGION; a custom endpoint defaults to us-east-1. */
export function resolveRegion(ref: KmsKeyRef, env: NodeJS.ProcessEnv, endpoint: string | undefined): string {
  const region = ref.region ?? (env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || undefined);
  if (region) return region;
  if (endpoint !== undefined) return 'us-east-1';
  throw new CountersignError('BAD_CONFIG', `${ref.ref}: no AWS region; set AWS_REGION in the worker's environment or use a key ARN`);
}
