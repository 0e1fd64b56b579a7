/**
 * A pinned sigstore `trusted_root.json`: the Fulcio CAs, Rekor and CT log keys and timestamp
 * authorities keyless evidence is checked against, offline. Read within limits and held to the
 * rules stock cosign holds it to, so a root cosign refuses is refused here too.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { parseJsonBounded } from '../bounded-json';
import { CountersignError } from '../errors';

/** The public-good root is about 7 KB; a private one with many key rotations still fits. */
export const DEFAULT_TRUSTED_ROOT_MAX_BYTES = 1024 * 1024;
/** Authorities of each kind (CAs, logs, CT logs, TSAs) read from one root. */
export const DEFAULT_TRUSTED_ROOT_MAX_AUTHORITIES = 64;

const MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.trustedroot(\.v0\.1)?\+json;version=0\.1$/;

export interface PinnedTrustedRoot {
  /** sha256 of the file's bytes: what a plan pins and a report names. */
  digest: string;
  /** The file's text, so a pinned plan carries the root itself, not a path to it. */
  json: string;
  material: TrustMaterial;
  /** Log ids (base64) of the transparency logs it lists, for telling "another root" from "a bad proof". */
  tlogIds: Set<string>;
}

export function loadTrustedRootFile(file: string): PinnedTrustedRoot {
  let data: Buffer;
  try {
    const size = fs.statSync(file).size;
    if (size > DEFAULT_TRUSTED_ROOT_MAX_BYTES) {
      throw new CountersignError('INPUT_TOO_LARGE', `trusted root ${file} is ${size} bytes, over the ${DEFAULT_TRUSTED_ROOT_MAX_BYTES}-byte limit`, {
        details: { bytes: size, limit: DEFAULT_TRUSTED_ROOT_MAX_BYTES },
      });
    }
    data = fs.readFileSync(file);
  } catch (cause) {
    if (cause instanceof CountersignError) throw cause;
    throw new CountersignError('TRUSTED_ROOT_INVALID', `trusted root ${file} cannot be read (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause });
  }
  return parseTrustedRoot(data, file);
}

export function parseTrustedRoot(data: Buffer | string, where = 'trusted root'): PinnedTrustedRoot {
  const raw = parseJsonBounded(data, { what: where, maxBytes: DEFAULT_TRUSTED_ROOT_MAX_BYTES, code: 'TRUSTED_ROOT_INVALID' });
  const bad = (why: string) => new CountersignError('TRUSTED_ROOT_INVALID', `${where}: ${why}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('is not a JSON object');
  const top = raw as Record<string, unknown>;
  if (typeof top.mediaType !== 'string' || !MEDIA_TYPE.test(top.mediaType)) throw bad(`mediaType ${JSON.stringify(top.mediaType)?.slice(0, 100)} is not a sigstore trusted root`);
  for (const kind of ['tlogs', 'certificateAuthorities', 'ctlogs', 'timestampAuthorities']) {
    const list = top[kind];
    if (list !== undefined && !Array.isArray(list)) throw bad(`${kind} is not a list`);
    if (Array.isArray(list) && list.length > DEFAULT_TRUSTED_ROOT_MAX_AUTHORITIES) throw bad(`${kind} lists ${list.length}, more than the ${DEFAULT_TRUSTED_ROOT_MAX_AUTHORITIES} read`);
  }
  // A log key with no start would be trusted for entries from any time, before it existed.
  ((top.tlogs as unknown[] | undefined) ?? []).forEach((t, i) => {
    const start = (t as { publicKey?: { validFor?: { start?: unknown } } })?.publicKey?.validFor?.start;
    if (typeof start !== 'string' || start === '') throw bad(`tlogs[${i}].publicKey.validFor.start is missing (a log key must say from when it is trusted)`);
  });
  let material: TrustMaterial;
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(raw);
    material = toTrustMaterial(root);
  } catch (cause) {
    throw new CountersignError('TRUSTED_ROOT_INVALID', `${where}: ${(cause as Error).message}`, { cause });
  }
  if (material.certificateAuthorities.length + material.tlogs.length + material.timestampAuthorities.length === 0) throw bad('lists no certificate authority, log or timestamp authority');
  const text = Buffer.isBuffer(data) ? data.toString('utf8') : data;
  return {
    digest: `sha256:${createHash('sha256').update(text).digest('hex')}`,
    json: text,
    material,
    tlogIds: new Set(root.tlogs.flatMap((t) => [t.logId?.keyId, t.checkpointKeyId?.keyId]).filter((k) => k !== undefined).map((k) => Buffer.from(k).toString('base64'))),
  };
}
