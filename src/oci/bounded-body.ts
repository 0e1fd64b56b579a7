/**
 * Reads an HTTP response body without ever holding more than a limit: the declared
 * Content-Length is checked first, then the stream is counted as it arrives and destroyed the
 * moment it passes the limit.
 */
import { CountersignError } from '../errors';

export interface BodyLimit {
  /** Most bytes accepted. */
  limit: number;
  /** Where the limit comes from, for the message: "descriptor size", "manifest limit", ... */
  source: string;
  /** What is being read, for the message: "GET blob sha256:... from host/repo". */
  what: string;
}

/** A response body as undici and node:http give it (a Node Readable): read in chunks, or dropped. */
export interface ResponseBody extends AsyncIterable<Uint8Array> {
  destroy(error?: Error): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** Stops reading a body; the abort this raises on the stream is expected, not an error to report. */
function drop(body: ResponseBody): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** What the readers need of a response: its declared length (if any) and its body. */
export interface BodyResponse {
  contentLength: string | undefined;
  body: ResponseBody;
}

function tooLarge(what: string, limit: number, source: string, seen: string, details: Record<string, unknown>): CountersignError {
  return new CountersignError('REGISTRY_RESPONSE_TOO_LARGE', `${what}: response ${seen}, over the ${limit}-byte ${source}`, {
    details: { limit, source, ...details },
  });
}

/** The body, at most `limit` bytes; REGISTRY_RESPONSE_TOO_LARGE (and the stream destroyed) beyond. */
export async function readBounded(res: BodyResponse, { limit, source, what }: BodyLimit): Promise<Buffer> {
  const declared = res.contentLength;
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit) {
    drop(res.body);
    throw tooLarge(what, limit, source, `declares ${declared} bytes`, { declared: Number(declared) });
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  for await (const chunk of res.body) {
    received += chunk.byteLength;
    if (received > limit) {
      drop(res.body);
      throw tooLarge(what, limit, source, `passed ${received} bytes`, { received });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, received);
}

/** The first `limit` bytes of a body as text (for error messages); the rest is discarded unread. */
export async function readPrefix(res: BodyResponse, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for await (const chunk of res.body) {
      chunks.push(chunk);
      received += chunk.byteLength;
      if (received >= limit) break;
    }
  } catch {
    // a body that breaks off still leaves what arrived
  } finally {
    drop(res.body);
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
