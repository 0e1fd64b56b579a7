/**
 * Where the worker gets the OIDC ID token Fulcio certifies: a file the platform keeps fresh (a
 * Kubernetes projected service-account token, a SPIFFE JWT-SVID), or an OAuth client-credentials
 * grant at a token endpoint with a secret from the worker's environment. Both come from the
 * worker's configuration; the token and the secret never enter history.
 */
import fs from 'node:fs';
import { CountersignError } from '../errors';

export type IdentityTokenSource =
  | { file: string }
  | {
      tokenUrl: string;
      clientId: string;
      /** The environment variable holding the client secret, read at signing time. */
      clientSecretEnv: string;
      /** Sent as `audience` (Fulcio's client id); default sigstore. */
      audience?: string;
    };

/** A JWT is a few KB; a token endpoint's answer a little more. */
export const DEFAULT_IDENTITY_TOKEN_MAX_BYTES = 16 * 1024;
export const DEFAULT_TOKEN_REQUEST_TIMEOUT_MS = 10_000;

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export async function fetchIdentityToken(source: IdentityTokenSource, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if ('file' in source) return readTokenFile(source.file);
  const secret = env[source.clientSecretEnv];
  if (secret === undefined || secret === '') {
    throw new CountersignError('OIDC_TOKEN_REFUSED', `the client secret for ${source.tokenUrl} is read from $${source.clientSecretEnv}, which is not set in the worker's environment`);
  }
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: source.clientId, client_secret: secret, audience: source.audience ?? 'sigstore' });
  let res: Response;
  let text: string;
  try {
    res = await fetch(source.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(DEFAULT_TOKEN_REQUEST_TIMEOUT_MS),
    });
    text = await readLimited(res);
  } catch (cause) {
    if (cause instanceof CountersignError) throw cause;
    throw new CountersignError('OIDC_TOKEN_UNAVAILABLE', `token endpoint ${source.tokenUrl}: ${(cause as Error).message}`, { cause });
  }
  if (res.status >= 500 || res.status === 429 || res.status === 408) throw new CountersignError('OIDC_TOKEN_UNAVAILABLE', `token endpoint ${source.tokenUrl} answered ${res.status}`);
  if (res.status !== 200) throw new CountersignError('OIDC_TOKEN_REFUSED', `token endpoint ${source.tokenUrl} answered ${res.status}: ${text.slice(0, 200)}`);
  let answer: { id_token?: unknown; access_token?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new CountersignError('OIDC_TOKEN_REFUSED', `token endpoint ${source.tokenUrl} answered something that is not JSON`);
  }
  const token = typeof answer.id_token === 'string' ? answer.id_token : answer.access_token;
  if (typeof token !== 'string' || !JWT.test(token)) throw new CountersignError('OIDC_TOKEN_REFUSED', `token endpoint ${source.tokenUrl} gave no ID token (a JWT in id_token or access_token)`);
  return token;
}

function readTokenFile(file: string): string {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > DEFAULT_IDENTITY_TOKEN_MAX_BYTES) throw new CountersignError('OIDC_TOKEN_REFUSED', `token file ${file} is ${size} bytes, over the ${DEFAULT_IDENTITY_TOKEN_MAX_BYTES}-byte limit`);
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (cause) {
    if (cause instanceof CountersignError) throw cause;
    // A projected token is rewritten in place: a moment without it is worth another attempt.
    throw new CountersignError('OIDC_TOKEN_UNAVAILABLE', `token file ${file} cannot be read (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause });
  }
  if (!JWT.test(text)) throw new CountersignError('OIDC_TOKEN_REFUSED', `token file ${file} does not hold a JWT`);
  return text;
}

async function readLimited(res: Response): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > DEFAULT_IDENTITY_TOKEN_MAX_BYTES) throw new CountersignError('OIDC_TOKEN_REFUSED', `token endpoint answered ${declared} bytes, over the ${DEFAULT_IDENTITY_TOKEN_MAX_BYTES}-byte limit`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += (chunk as Uint8Array).length;
    if (size > DEFAULT_IDENTITY_TOKEN_MAX_BYTES) throw new CountersignError('OIDC_TOKEN_REFUSED', `token endpoint answered over ${DEFAULT_IDENTITY_TOKEN_MAX_BYTES} bytes`);
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks).toString('utf8');
}
