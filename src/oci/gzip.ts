/**
 * Gunzip with a ceiling on the output: zlib stops inflating the moment the output passes it, so
 * a small bomb (a few MB expanding a thousandfold) costs no more than the ceiling.
 */
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
  try {
    return await gunzipAsync(data, { maxOutputLength: maxBytes });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new CountersignError('INPUT_TOO_LARGE', `${what} inflates past the ${maxBytes}-byte limit (${data.length} bytes compressed)`, {
        cause,
        details: { compressed: data.length, limit: maxBytes },
      });
    }
    throw new CountersignError('ARCHIVE_INVALID', `${what} is not gzip data (${(cause as Error).message})`, { cause });
  }
}
