/**
 * A sigstore `signing_config.json` (v0.2): where keyless signing gets its certificate (Fulcio),
 * logs (Rekor) and timestamps (a timestamp authority). The worker's configuration names the file;
 * a run pins its text, so the hosts a promotion talks to are the worker's, never a caller's.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { ServiceSelector, SigningConfig, type Service } from '@sigstore/protobuf-specs';
import { parseJsonBounded } from '../bounded-json';
import { CountersignError } from '../errors';

/** The public-good file is about 2 KB. */
export const DEFAULT_SIGNING_CONFIG_MAX_BYTES = 64 * 1024;
/** Services of each kind read from one file. */
export const DEFAULT_SIGNING_CONFIG_MAX_SERVICES = 16;

const MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';

/** The services one keyless signature uses, chosen as sigstore's clients choose them (newest valid, an API version they speak). */
export interface SigningServices {
  fulcioUrl: string;
  rekor?: { url: string; majorApiVersion: 1 | 2 };
  tsaUrl?: string;
}

export interface PinnedSigningConfig {
  /** The file's text: what a plan pins. */
  json: string;
  digest: string;
  services: SigningServices;
}

export function loadSigningConfigFile(file: string): PinnedSigningConfig {
  let data: Buffer;
  try {
    const size = fs.statSync(file).size;
    if (size > DEFAULT_SIGNING_CONFIG_MAX_BYTES) {
      throw new CountersignError('INPUT_TOO_LARGE', `signing config ${file} is ${size} bytes, over the ${DEFAULT_SIGNING_CONFIG_MAX_BYTES}-byte limit`, {
        details: { bytes: size, limit: DEFAULT_SIGNING_CONFIG_MAX_BYTES },
      });
    }
    data = fs.readFileSync(file);
  } catch (cause) {
    if (cause instanceof CountersignError) throw cause;
    throw new CountersignError('SIGNING_CONFIG_INVALID', `signing config ${file} cannot be read (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause });
  }
  return parseSigningConfig(data.toString('utf8'), file);
}

export function parseSigningConfig(text: string, where = 'signing config', now = new Date()): PinnedSigningConfig {
  const bad = (why: string) => new CountersignError('SIGNING_CONFIG_INVALID', `${where}: ${why}`);
  const raw = parseJsonBounded(text, { what: where, maxBytes: DEFAULT_SIGNING_CONFIG_MAX_BYTES, code: 'SIGNING_CONFIG_INVALID' });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('is not a JSON object');
  const top = raw as Record<string, unknown>;
  if (top.mediaType !== MEDIA_TYPE) throw bad(`mediaType ${JSON.stringify(top.mediaType)?.slice(0, 100)} is not ${MEDIA_TYPE}`);
  for (const kind of ['caUrls', 'oidcUrls', 'rekorTlogUrls', 'tsaUrls']) {
    const list = top[kind];
    if (list !== undefined && !Array.isArray(list)) throw bad(`${kind} is not a list`);
    if (Array.isArray(list) && list.length > DEFAULT_SIGNING_CONFIG_MAX_SERVICES) throw bad(`${kind} lists ${list.length}, more than the ${DEFAULT_SIGNING_CONFIG_MAX_SERVICES} read`);
  }
  let config: SigningConfig;
  try {
    config = SigningConfig.fromJSON(raw);
  } catch (cause) {
    throw new CountersignError('SIGNING_CONFIG_INVALID', `${where}: ${(cause as Error).message}`, { cause });
  }
  const pick = (services: Service[], kind: string, maxVersion: number) => {
    const usable = services
      .filter((s) => s.majorApiVersion >= 1 && s.majorApiVersion <= maxVersion && (!s.validFor?.start || s.validFor.start <= now) && (!s.validFor?.end || s.validFor.end > now))
      .sort((a, b) => (b.validFor?.start?.getTime() ?? 0) - (a.validFor?.start?.getTime() ?? 0));
    for (const s of usable) {
      let url: URL;
      try {
        url = new URL(s.url);
      } catch {
        throw bad(`${kind} URL ${JSON.stringify(s.url).slice(0, 200)} is not a URL`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad(`${kind} URL ${s.url.slice(0, 200)} is not http(s)`);
    }
    return usable[0];
  };
  const ca = pick(config.caUrls, 'caUrls', 1);
  if (!ca) throw bad('lists no Fulcio (caUrls, API v1) valid now');
  if (config.rekorTlogConfig && config.rekorTlogConfig.selector !== ServiceSelector.ANY) throw bad('rekorTlogConfig.selector other than ANY is not supported');
  if (config.tsaConfig && config.tsaConfig.selector !== ServiceSelector.ANY) throw bad('tsaConfig.selector other than ANY is not supported');
  const rekor = config.rekorTlogConfig ? pick(config.rekorTlogUrls, 'rekorTlogUrls', 2) : undefined;
  if (config.rekorTlogConfig && !rekor) throw bad('asks for a transparency log, and lists no Rekor (API v1 or v2) valid now');
  const tsa = config.tsaConfig ? pick(config.tsaUrls, 'tsaUrls', 1) : undefined;
  if (config.tsaConfig && !tsa) throw bad('asks for a timestamp, and lists no timestamp authority (API v1) valid now');
  if (!rekor && !tsa) throw bad('names neither a transparency log nor a timestamp authority: a certificate lives minutes, and nothing would say when it was used');
  return {
    json: text,
    digest: `sha256:${createHash('sha256').update(text).digest('hex')}`,
    services: {
      fulcioUrl: ca.url.replace(/\/+$/, ''),
      ...(rekor ? { rekor: { url: rekor.url.replace(/\/+$/, ''), majorApiVersion: rekor.majorApiVersion as 1 | 2 } } : {}),
      ...(tsa ? { tsaUrl: tsa.url } : {}),
    },
  };
}
