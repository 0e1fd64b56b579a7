/**
 * Where a verifier reads published trust from: the CDN (an http(s) URL of the published
 * directory) or a local copy of it. Reads are size-capped and, over HTTP, time-limited; an
 * absent file is `undefined`, anything else that goes wrong names the file and what happened.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CountersignError } from '../errors';

export interface TrustSource {
  /** The URL (no trailing slash) or absolute directory, as messages and the version memory name it. */
  readonly where: string;
  /** The file's bytes, undefined when it does not exist; TRUST_INDEX_CORRUPT past `maxBytes`. */
  read(name: string, maxBytes: number): Promise<Buffer | undefined>;
}

export const DEFAULT_FETCH_TIMEOUT_MS = 10_000;

/** A URL (http:// or https://) or a directory; BAD_INPUT for a directory that does not exist. */
export async function trustSource(spec: string, options: { timeoutMs?: number } = {}): Promise<TrustSource> {
  if (/^https?:\/\//i.test(spec)) return httpSource(spec.replace(/\/+$/, ''), options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new CountersignError('BAD_INPUT', `--trust ${spec}: only http(s) URLs and directories are read`);
  const dir = path.resolve(spec);
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new CountersignError('BAD_INPUT', `--trust ${dir} is not a directory: give the published trust directory or its URL`);
  return {
    where: dir,
    async read(name, maxBytes) {
      const file = path.join(dir, name);
      const size = (await fs.stat(file).catch(() => undefined))?.size;
      if (size === undefined) return undefined;
      if (size > maxBytes) throw new CountersignError('TRUST_INDEX_CORRUPT', `${file} is ${size} bytes; at most ${maxBytes} are read`);
      return fs.readFile(file);
    },
  };
}

function httpSource(base: string, timeoutMs: number): TrustSource {
  return {
    where: base,
    async read(name, maxBytes) {
      const url = `${base}/${encodeURIComponent(name)}`;
      let res: Response;
      try {
        res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { 'user-agent': 'countersign' } });
      } catch (cause) {
        throw new CountersignError('TRUST_UNREACHABLE', `${url} unreachable: ${(cause as Error).message}${(cause as Error).cause ? ` (${((cause as Error).cause as Error).message})` : ''}`, { cause });
      }
      if (res.status === 404) {
        await res.body?.cancel();
        return undefined;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new CountersignError('TRUST_UNREACHABLE', `${url} answered HTTP ${res.status}`);
      }
      const declared = Number(res.headers.get('content-length') ?? NaN);
      if (declared > maxBytes) {
        await res.body?.cancel();
        throw new CountersignError('TRUST_INDEX_CORRUPT', `${url} is ${declared} bytes; at most ${maxBytes} are read`);
      }
      // The length header can lie or be missing: count while reading, and stop at the cap.
      const chunks: Buffer[] = [];
      let total = 0;
      try {
        for await (const chunk of res.body ?? []) {
          total += chunk.length;
          if (total > maxBytes) throw new CountersignError('TRUST_INDEX_CORRUPT', `${url} is more than ${maxBytes} bytes; at most that many are read`);
          chunks.push(Buffer.from(chunk));
        }
      } catch (err) {
        if (err instanceof CountersignError) throw err;
        throw new CountersignError('TRUST_UNREACHABLE', `${url}: the download broke off: ${(err as Error).message}`, { cause: err });
      }
      return Buffer.concat(chunks);
    },
  };
}
