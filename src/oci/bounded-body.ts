/**
 * Reads an HTTP response body without ever holding more than a limit: the declared
 * Content-Length is checked first, then the stream is counted as it arrives and cancelled the
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

function tooLarge(what: string, limit: number, source: string, seen: string, details: Record<string, unknown>): CountersignError {
  return new CountersignError('REGISTRY_RESPONSE_TOO_LARGE', `${what}: response ${seen}, over the ${limit}-byte ${source}`, {
    details: { limit, source, ...details },
  });
}

/** The body, at most `limit` bytes; REGISTRY_RESPONSE_TOO_LARGE (and the stream cancelled) beyond. */
export async function readBounded(res: Response, { limit, source, what }: BodyLimit): Promise<Buffer> {
  const declared = res.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(what, limit, source, `declares ${declared} bytes`, { declared: Number(declared) });
  }
  if (res.body === null) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(what, limit, source, `passed ${received} bytes`, { received });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, received);
}

/** The first `limit` bytes of a body as text (for error messages); the rest is discarded unread. */
export async function readPrefix(res: Response, limit: number): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    while (received < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.byteLength;
    }
  } catch {
    // a body that breaks off still leaves what arrived
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
