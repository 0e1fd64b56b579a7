/**
 * A local OIDC issuer for the self-hosted Sigstore (docs/keyless.md): discovery, a JWKS and a
 * client-credentials token endpoint minting ID tokens for one configured identity, on loopback.
 * Fulcio trusts it as a GitHub-workflow issuer, so the certificates it issues carry a source
 * repository, ref and commit as GitHub's do. It stands in for a CI's token service; nothing
 * outside tests and `countersign dev` should trust it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, type KeyLike } from 'jose';
import { CountersignError } from '../errors';

/** The claims an ID token carries besides iss, aud, iat, nbf and exp. */
export interface OidcIdentity {
  sub: string;
  [claim: string]: string;
}

export interface OidcIssuerOptions {
  identity: OidcIdentity;
  /** The token endpoint's client; its secret is generated when omitted. */
  clientId?: string;
  clientSecret?: string;
  /** Audience of the tokens (Fulcio's client id); default sigstore. */
  audience?: string;
  /** Token lifetime; default 10 minutes (GitHub's are shorter than an hour). */
  tokenLifetimeSeconds?: number;
  port?: number;
}

export interface RunningOidcIssuer {
  /** The issuer URL, http://127.0.0.1:PORT: the `iss` of every token and Fulcio's key for it. */
  url: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** A fresh ID token for the configured identity (what the token endpoint answers). */
  mint(): Promise<string>;
  /** Changes who the next tokens name. */
  setIdentity(identity: OidcIdentity): void;
  stop(): Promise<void>;
}

/** Form or JSON bodies of token requests are a few hundred bytes. */
const MAX_TOKEN_REQUEST_BYTES = 16 * 1024;

/** The claims GitHub Actions puts in an ID token, which Fulcio's github-workflow issuer requires, for one build. */
export function githubWorkflowIdentity(opts: { repository: string; ref: string; sha: string; workflowPath?: string; runId?: string }): OidcIdentity {
  const workflowPath = opts.workflowPath ?? '.github/workflows/release.yml';
  const workflowRef = `${opts.repository}/${workflowPath}@${opts.ref}`;
  const owner = opts.repository.split('/')[0] ?? opts.repository;
  return {
    sub: `repo:${opts.repository}:ref:${opts.ref}`,
    repository: opts.repository,
    repository_id: '1',
    repository_owner: owner,
    repository_owner_id: '1',
    repository_visibility: 'private',
    ref: opts.ref,
    sha: opts.sha,
    event_name: 'push',
    workflow: 'release',
    workflow_ref: workflowRef,
    workflow_sha: opts.sha,
    job_workflow_ref: workflowRef,
    job_workflow_sha: opts.sha,
    runner_environment: 'self-hosted',
    run_id: opts.runId ?? '1',
    run_attempt: '1',
  };
}

/** The certificate subject Fulcio writes for a GitHub-workflow identity. */
export function githubWorkflowSubject(identity: OidcIdentity): string {
  return `https://github.com/${identity.job_workflow_ref}`;
}

export async function startOidcIssuer(options: OidcIssuerOptions): Promise<RunningOidcIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = randomBytes(8).toString('hex');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const clientId = options.clientId ?? 'countersign-worker';
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const audience = options.audience ?? 'sigstore';
  const lifetime = options.tokenLifetimeSeconds ?? 600;
  let identity = { ...options.identity };
  let url = '';

  const mint = () => mintToken(privateKey, kid, url, audience, lifetime, identity);
  const server = http.createServer((req, res) => {
    handle(req, res, { url: () => url, jwk, clientId, clientSecret, mint }).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new CountersignError('STACK_ERROR', `oidc issuer: cannot listen on 127.0.0.1:${options.port ?? 0}: ${err.message}`, { cause: err })));
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new CountersignError('STACK_ERROR', 'oidc issuer: no TCP address');
  url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    tokenUrl: `${url}/token`,
    clientId,
    clientSecret,
    mint,
    setIdentity: (next) => {
      identity = { ...next };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function mintToken(key: KeyLike, kid: string, issuer: string, audience: string, lifetime: number, identity: OidcIdentity): Promise<string> {
  const { sub, ...claims } = identity;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setSubject(sub)
    .setAudience(audience)
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime(`${lifetime}s`)
    .sign(key);
}

interface Served {
  url(): string;
  jwk: Record<string, unknown>;
  clientId: string;
  clientSecret: string;
  mint(): Promise<string>;
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, s: Served): Promise<void> {
  const json = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
    return json(200, {
      issuer: s.url(),
      jwks_uri: `${s.url()}/jwks`,
      token_endpoint: `${s.url()}/token`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
      grant_types_supported: ['client_credentials'],
    });
  }
  if (req.method === 'GET' && path === '/jwks') return json(200, { keys: [s.jwk] });
  if (req.method === 'POST' && path === '/token') {
    const body = await readBody(req);
    if (body === undefined) return json(413, { error: 'invalid_request', error_description: `body over ${MAX_TOKEN_REQUEST_BYTES} bytes` });
    const form = new URLSearchParams(body);
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    const [id, secret] = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':') : [form.get('client_id'), form.get('client_secret')];
    if (form.get('grant_type') !== 'client_credentials') return json(400, { error: 'unsupported_grant_type' });
    if (id !== s.clientId || !sameSecret(secret ?? '', s.clientSecret)) return json(401, { error: 'invalid_client' });
    const token = await s.mint();
    return json(200, { access_token: token, id_token: token, token_type: 'Bearer', expires_in: 600 });
  }
  json(404, { error: 'not_found' });
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_TOKEN_REQUEST_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
