/**
 * JSON from outside, parsed within limits. JSON.parse itself takes any depth, but whatever walks
 * or re-serialises the value afterwards (JSON.stringify, canonical JSON, schema checks) recurses
 * and dies with a RangeError on a few thousand nested brackets; so depth is checked on the text
 * first, in one pass, along with the size.
 */
import { CountersignError, type ErrorCode } from './errors';

/** Nesting of arrays and objects: the formats read here need under 16. */
export const DEFAULT_JSON_MAX_DEPTH = 64;

export interface JsonLimits {
  /** What is parsed, for messages: "DSSE envelope", "manifest host/repo:tag". */
  what: string;
  /** Most bytes (UTF-8) accepted. */
  maxBytes: number;
  maxDepth?: number;
  /** The code for text that is not JSON (limits are always INPUT_TOO_LARGE). */
  code: ErrorCode;
}

/** Depth of the deepest array/object in JSON text, stopping as soon as it passes `max`. */
export function jsonDepthOver(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Parses `data` as JSON within the limits: INPUT_TOO_LARGE over them, `code` when not JSON. */
export function parseJsonBounded(data: Buffer | string, limits: JsonLimits): unknown {
  const maxDepth = limits.maxDepth ?? DEFAULT_JSON_MAX_DEPTH;
  const bytes = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
  if (bytes > limits.maxBytes) {
    throw new CountersignError('INPUT_TOO_LARGE', `${limits.what} is ${bytes} bytes, over the limit of ${limits.maxBytes}`, {
      details: { bytes, limit: limits.maxBytes },
    });
  }
  const text = typeof data === 'string' ? data : data.toString('utf8');
  if (jsonDepthOver(text, maxDepth)) {
    throw new CountersignError('INPUT_TOO_LARGE', `${limits.what} nests arrays/objects deeper than ${maxDepth} levels`, {
      details: { depthLimit: maxDepth },
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new CountersignError(limits.code, `${limits.what} is not JSON (${(cause as Error).message.slice(0, 120)})`, { cause });
  }
}
