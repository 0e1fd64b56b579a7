/**
 * Gunzip with a ceiling on the output: zlib stops inflating the moment the output passes it, so
 * a small bomb (a few MB expanding a thousandfold) costs no more than the ceiling.
 */
import { constants } from 'node:buffer';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { CountersignError } from '../errors';

const gunzipAsync = promisify(gunzip);

/**
 * One image layer, uncompressed. Layers are read whole into memory to list their files (the
 * SBOM), so this bounds what one layer may cost the worker; docs/limits.md.
 */
export const DEFAULT_LAYER_MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024;

/** Inflates `data` off the event loop; INPUT_TOO_LARGE past `maxBytes`, ARCHIVE_INVALID when not gzip. */
export async function gunzipBounded(data: Buffer, maxBytes: number, what: string): Promise<Buffer> {
  const tooLarge = (cause?: unknown) =>
    new CountersignError('INPUT_TOO_LARGE', `${what} inflates past the ${maxBytes}-byte limit (${data.length} bytes compressed)`, {
      cause,
      details: { compressed: data.length, limit: maxBytes },
    });
  let out: Buffer;
  try {
    // zlib takes 1 byte to the largest Buffer; a limit of 0 is checked below.
    out = await gunzipAsync(data, { maxOutputLength: Math.min(Math.max(1, maxBytes), constants.MAX_LENGTH) });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(cause);
    throw new CountersignError('ARCHIVE_INVALID', `${what} is not gzip data (${(cause as Error).message})`, { cause });
  }
  if (out.length > maxBytes) throw tooLarge();
  return out;
}
