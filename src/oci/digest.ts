/**
 * Content digests and canonical JSON blobs.
 *
 * Everything countersign pushes is content-addressed, so the bytes must not depend on anything but
 * the value: `canonicalJson` writes object keys in sorted (UTF-16 code unit) order, no whitespace,
 * and refuses values JSON cannot represent faithfully.
 */
import { createHash } from 'node:crypto';
import { CountersignError } from '../errors';
import type { Blob, Descriptor } from './types';

/** `sha256:<64 lowercase hex>` of `data`. */
export function digestOf(data: Buffer | Uint8Array): string {
  return `sha256:${sha256Hex(data)}`;
}

/** Lowercase hex SHA-256 of `data` (no algorithm prefix). */
export function sha256Hex(data: Buffer | Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Deterministic JSON: keys sorted at every level, no insignificant whitespace. Object properties
 * whose value is `undefined` are left out (as JSON.stringify does); `undefined` inside arrays,
 * non-finite numbers, bigints, functions and symbols are refused with BAD_INPUT rather than
 * silently changed.
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$', new Set());
}

function write(value: unknown, at: string, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) {
        throw new CountersignError('BAD_INPUT', `cannot serialise non-finite number at ${at}`);
      }
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new CountersignError('BAD_INPUT', `cannot serialise a ${typeof value} at ${at}`);
  }
  const obj = value as object;
  if (seen.has(obj)) throw new CountersignError('BAD_INPUT', `cyclic value at ${at}`);
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      return `[${obj.map((item, i) => {
        if (item === undefined) throw new CountersignError('BAD_INPUT', `undefined array element at ${at}[${i}]`);
        return write(item, `${at}[${i}]`, seen);
      }).join(',')}]`;
    }
    if (Buffer.isBuffer(obj) || obj instanceof Uint8Array) {
      throw new CountersignError('BAD_INPUT', `cannot serialise binary data at ${at}; encode it first`);
    }
    const record = obj as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const v = record[key];
      if (v === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${write(v, `${at}.${key}`, seen)}`);
    }
    return `{${parts.join(',')}}`;
  } finally {
    seen.delete(obj);
  }
}

/** A blob of raw bytes with its descriptor. */
export function blobOf(data: Buffer, mediaType: string, annotations?: Record<string, string>): Blob {
  const descriptor: Descriptor = { mediaType, digest: digestOf(data), size: data.length };
  if (annotations !== undefined && Object.keys(annotations).length > 0) descriptor.annotations = { ...annotations };
  return { descriptor, data };
}

/** `value` as canonical JSON bytes (see `canonicalJson`) plus the descriptor for them. */
export function jsonBlob(value: unknown, mediaType: string): Blob {
  return blobOf(Buffer.from(canonicalJson(value), 'utf8'), mediaType);
}
