/**
 * Who may read the console, and the guard on everything that changes state. With `login` on,
 * every page needs a session opened by a passkey assertion from a credential in the worker's
 * roster (src/console/webauthn.ts); every POST must come from the configured origin, and once
 * logged in must carry the session's CSRF token. `--dev-loopback` keeps the loopback-only,
 * no-login console of `dev up`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PasskeyConfig } from '../approval/passkey-config';
import { CountersignError } from '../errors';
import type { ConsoleSection } from './config';
import { authPage } from './pages/auth-pages';
import { Challenges, Sessions, SESSION_TTL_MS, type Session } from './sessions';
import { enrolmentOptions, loginOptions, verifyEnrolment, verifyLogin, type RosterPasskey } from './webauthn';

export interface ConsoleAccess {
  /** false: the loopback-only dev console, no login (`--dev-loopback`). */
  login: boolean;
  /** The configured console origin: the passkeys' relying party. Required for login and passkey decisions. */
  rp?: ConsoleSection;
  /** The worker's roster passkeys by approver name. */
  passkeys: Record<string, PasskeyConfig[]>;
}

/** Paths a caller without a session may use: logging in, enrolling (which grants nothing), assets, metrics. */
const OPEN_PATHS = new Set(['/login', '/login/options', '/enrol', '/enrol/options', '/static/console.css', '/static/console.js', '/static/passkey.js', '/metrics']);
const MAX_NAME = 128;

export interface AuthState {
  session(request: FastifyRequest): Session | undefined;
}

function cookieName(rp: ConsoleSection | undefined): string {
  // __Host- binds the cookie to this host, path / and Secure; a loopback http console cannot use it.
  return rp?.origin.startsWith('https:') ? '__Host-countersign-session' : 'countersign-session';
}

/** One cookie's value from the Cookie header (the console sets exactly one). */
function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The challenge a WebAuthn response answers (the browser copies it into clientDataJSON). */
function challengeOf(response: unknown): string | undefined {
  try {
    const data = (response as { response?: { clientDataJSON?: unknown } })?.response?.clientDataJSON;
    if (typeof data !== 'string' || data.length > 4096) return undefined;
    const parsed = JSON.parse(Buffer.from(data, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof parsed.challenge === 'string' ? parsed.challenge : undefined;
  } catch {
    return undefined;
  }
}

export function installAuth(app: FastifyInstance, access: ConsoleAccess): AuthState {
  const sessions = new Sessions();
  const logins = new Challenges<true>();
  const enrolments = new Challenges<{ approver: string; name?: string }>();
  const cookie = cookieName(access.rp);
  const byCredential = new Map<string, RosterPasskey>();
  for (const [approver, list] of Object.entries(access.passkeys)) for (const passkey of list) byCredential.set(passkey.id, { approver, passkey });
  const sessionOf = (request: FastifyRequest) => sessions.get(readCookie(request, cookie));

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      // A browser names the page a POST comes from; only the console's own pages may post here.
      const origin = request.headers.origin;
      if (access.rp && origin !== access.rp.origin) throw new CountersignError('CSRF_REFUSED', `a request from origin ${JSON.stringify(String(origin ?? 'none').slice(0, 100))}, not ${access.rp.origin}`);
    }
    if (!access.login || OPEN_PATHS.has(path)) return;
    const session = sessionOf(request);
    if (!session) {
      if (request.method === 'GET' && !path.endsWith('.json') && !path.endsWith('/events') && path !== '/session') return reply.redirect(`/login`, 303);
      throw new CountersignError('UNAUTHENTICATED', 'log in with a passkey first');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const token = request.headers['x-csrf-token'];
      if (typeof token !== 'string' || !same(token, session.csrf)) throw new CountersignError('CSRF_REFUSED', 'the request does not carry this session\'s CSRF token');
    }
  });

  app.get('/login', async (_req, reply) => reply.type('text/html; charset=utf-8').send(authPage('login', access.rp !== undefined)));
  app.get('/enrol', async (_req, reply) => reply.type('text/html; charset=utf-8').send(authPage('enrol', access.rp !== undefined)));

  app.post('/login/options', async () => {
    const rp = requireRp(access);
    const options = await loginOptions(rp);
    logins.remember(options.challenge, true);
    return options;
  });
  app.post<{ Body: { response?: unknown } }>('/login', async (req, reply) => {
    const rp = requireRp(access);
    const challenge = challengeOf(req.body?.response);
    // take() forgets the challenge whatever happens next: an answer is accepted once at most.
    if (!challenge || !logins.take(challenge)) throw new CountersignError('PASSKEY_REFUSED', 'the login answers no challenge this console issued (or one already used or expired): start again');
    const approver = await verifyLogin(rp, challenge, (id) => byCredential.get(id), req.body!.response as never);
    const { id } = sessions.create(approver);
    const secure = rp.origin.startsWith('https:') ? '; Secure' : '';
    reply.header('set-cookie', `${cookie}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}${secure}`);
    return { approver };
  });
  app.post('/logout', async (req, reply) => {
    sessions.end(readCookie(req, cookie));
    reply.header('set-cookie', `${cookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return { ok: true };
  });
  app.get('/session', async (req) => {
    const session = sessionOf(req);
    // Read by the console's own script (same origin); a cross-origin page cannot read it.
    return session ? { approver: session.approver, csrf: session.csrf } : { approver: null };
  });

  app.post<{ Body: { approver?: unknown; name?: unknown } }>('/enrol/options', async (req) => {
    const rp = requireRp(access);
    const approver = req.body?.approver;
    const name = req.body?.name;
    if (typeof approver !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/.test(approver)) throw new CountersignError('BAD_INPUT', 'approver: your name as the roster has it (letters, digits and . _ @ -, at most 128)');
    if (name !== undefined && name !== '' && (typeof name !== 'string' || name.length > MAX_NAME)) throw new CountersignError('BAD_INPUT', `name: at most ${MAX_NAME} characters`);
    const options = await enrolmentOptions(rp, approver);
    enrolments.remember(options.challenge, { approver, ...(typeof name === 'string' && name ? { name } : {}) });
    return options;
  });
  app.post<{ Body: { response?: unknown } }>('/enrol', async (req) => {
    const rp = requireRp(access);
    const challenge = challengeOf(req.body?.response);
    const pending = challenge ? enrolments.take(challenge) : undefined;
    if (!challenge || !pending) throw new CountersignError('PASSKEY_REFUSED', 'the enrolment answers no challenge this console issued (or one already used or expired): start again');
    const enrolled = await verifyEnrolment(rp, challenge, pending.approver, pending.name, req.body!.response as never);
    // Enrolment changes nothing: the operator adds the snippet to the worker's configuration.
    return { approver: pending.approver, id: enrolled.id, snippet: enrolled.snippet };
  });

  return { session: sessionOf };
}

function requireRp(access: ConsoleAccess): ConsoleSection {
  if (!access.rp) throw new CountersignError('BAD_CONFIG', "passkeys need console.origin in the worker's configuration (docs/approvals.md, Passkeys)");
  return access.rp;
}

/** HTTP status for the console's own refusals. */
export function authStatus(err: unknown): number | undefined {
  if (!(err instanceof CountersignError)) return undefined;
  return { UNAUTHENTICATED: 401, CSRF_REFUSED: 403, PASSKEY_REFUSED: 403, BAD_CONFIG: 501 }[err.code as string];
}

export type { FastifyReply };
