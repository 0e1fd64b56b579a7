/**
 * The approval console: a web app over Temporal (status queries, the run's record) and the
 * registry (signed provenance and SBOM). Server-rendered; one small script reloads a page when
 * what it shows changes. Reading needs a passkey login (src/console/auth.ts) unless it is the
 * loopback dev console. It holds no key: it cannot approve, sign or seal anything.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { readPromotionRecord, type PromotionStatus } from '../client/promotion-record';
import { listWaiting, type WaitingRun } from '../client/waiting';
import { CountersignError, hasCode } from '../errors';
import { assembleEvidencePack, evidencePackDigest, type EvidenceDeps } from '../evidence/pack';
import { CONSOLE_CSS, CONSOLE_JS, PASSKEY_JS } from './assets';
import { authStatus, installAuth, type ConsoleAccess } from './auth';
import { installDecisionRoutes } from './decisions';
import { decisionPart } from './pages/decision-form';
import { ConsoleMetrics } from './metrics';
import { workflowUiLink } from '../temporal/ui-link';
import { errorPage, evidencePage, pendingPage } from './pages/evidence-page';
import { waitingPage } from './pages/waiting-page';
import { chartReleaseIdFrom, registerChartRoutes } from './chart-routes';

export const DEFAULT_CONSOLE_HOST = '127.0.0.1';
export const DEFAULT_CONSOLE_PORT = 8090;
/** How often an open page's stream asks Temporal whether what it shows has changed. */
export const DEFAULT_WATCH_MS = 1000;
/** Every this many looks, the stream also re-reads the evidence from the registry. */
export const EVIDENCE_EVERY = 5;

/** Workflow ids of promotions: promote-<target>-<16 hex>; targets are config names. */
const PROMOTION_ID = /^promote-[A-Za-z0-9._-]{1,100}-[0-9a-f]{16}$/;

export interface ConsoleDeps extends EvidenceDeps {
  client: Client;
  /** Who may read and post (src/console/auth.ts): stated by whoever starts the console, never defaulted open. */
  access: ConsoleAccess;
  watchMs?: number;
  /** Served at /metrics; a fresh set when omitted. */
  metrics?: ConsoleMetrics;
  /** The Temporal Web UI's address (TEMPORAL_UI_URL), for a link to each run's history; none when unknown. */
  temporalUi?: { url: string; namespace: string };
}

/** How long closing the console waits for event-stream looks in flight. */
const CLOSE_WAIT_MS = 10_000;

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

export function createConsole(deps: ConsoleDeps): FastifyInstance {
  // An open page holds its event stream for as long as it is open: closing the console ends them.
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const metrics = deps.metrics ?? new ConsoleMetrics();
  // Looks an event stream has in flight: closing the console waits for them, so none outlives it
  // (a look still reading Temporal when the caller closes the client would fail unheard).
  const inFlight = new Set<Promise<string>>();
  const tracked = (look: () => Promise<string>) => () => {
    const p = look();
    inFlight.add(p);
    const done = () => void inFlight.delete(p);
    p.then(done, done);
    return p;
  };
  app.addHook('onClose', async () => {
    // Bounded: a look stuck on an unreachable Temporal must not keep the console from stopping.
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS);
    });
    await Promise.race([Promise.allSettled([...inFlight]), giveUp]);
    clearTimeout(timer);
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.request(request.routeOptions.url, reply.statusCode);
  });
  const auth = installAuth(app, deps.access);
  installDecisionRoutes(app, deps.client, deps.access, auth, [
    { path: 'promotions', idFrom: promotionIdFrom },
    { path: 'charts', idFrom: chartReleaseIdFrom },
  ]);
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  app.get('/static/console.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(CONSOLE_JS));
  app.get('/static/passkey.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(PASSKEY_JS));
  app.get('/static/console.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(CONSOLE_CSS));

  app.get('/', async (_req, reply) => {
    const runs = await listWaiting(deps.client);
    metrics.waitingRuns(runs.length);
    return reply.type('text/html; charset=utf-8').send(waitingPage(runs, `/events?seen=${waitingFingerprint(runs)}`));
  });
  app.get<{ Querystring: { seen?: string } }>('/events', (req, reply) =>
    watch(reply, req.raw, metrics, seenFrom(req.query.seen), deps.watchMs, tracked(async () => waitingFingerprint(await listWaiting(deps.client)))),
  );

  app.get<{ Params: { id: string } }>('/promotions/:id', async (req, reply) => {
    const id = promotionIdFrom(req.params.id);
    const view = await evidenceView(deps, metrics, id);
    const watchUrl = `/promotions/${encodeURIComponent(id)}/events?seen=${promotionFingerprint(view.status, 'pack' in view ? view.digest : undefined)}`;
    const temporalUi = deps.temporalUi ? workflowUiLink(deps.temporalUi.url, deps.temporalUi.namespace, id) : undefined;
    const decision = deps.access.rp ? decisionPart(`/promotions/${encodeURIComponent(id)}`, view.status.state === 'AWAITING_APPROVAL', !deps.access.login) : undefined;
    const html = 'pack' in view ? evidencePage({ ...view, ...(temporalUi ? { temporalUi } : {}), ...(decision ? { decision } : {}) }, watchUrl) : pendingPage(view.status, view.why, watchUrl);
    return reply.type('text/html; charset=utf-8').send(html);
  });
  app.get<{ Params: { id: string } }>('/promotions/:id/evidence.json', async (req, reply) => {
    const view = await evidenceView(deps, metrics, promotionIdFrom(req.params.id));
    if (!('pack' in view)) throw new CountersignError('EVIDENCE_NOT_READY', view.why);
    return reply.send({ digest: view.digest, pack: view.pack });
  });
  app.get<{ Params: { id: string }; Querystring: { seen?: string } }>('/promotions/:id/events', (req, reply) => {
    const id = promotionIdFrom(req.params.id);
    let looks = 0;
    let packDigest: string | undefined;
    return watch(
      reply,
      req.raw,
      metrics,
      seenFrom(req.query.seen),
      deps.watchMs,
      tracked(async () => {
        const record = await readPromotionRecord(deps.client, id);
        if (looks++ % EVIDENCE_EVERY === 0 && record.report) packDigest = evidencePackDigest(await assembleEvidencePack(deps, record));
        return promotionFingerprint(record.status, packDigest);
      }),
    );
  });

  registerChartRoutes(app, deps, metrics);

  app.setErrorHandler(async (err, req, reply) => {
    const refused = authStatus(err);
    if (refused !== undefined) {
      const message = (err as CountersignError).message;
      if (req.method !== 'GET') return reply.status(refused).send({ error: (err as CountersignError).code, message });
      return reply.status(refused).type('text/html; charset=utf-8').send(errorPage(refused === 401 ? 'Log in' : 'Refused', message));
    }
    if (req.method !== 'GET' && err instanceof CountersignError) {
      const status = { BAD_INPUT: 400, UNKNOWN_PROMOTION: 404, APPROVAL_REFUSED: 409, BAD_CONFIG: 501 }[err.code as string] ?? 502;
      return reply.status(status).send({ error: err.code, message: err.message });
    }
    const [status, title] = hasCode(err, 'UNKNOWN_PROMOTION') ? [404, 'Not found'] : hasCode(err, 'BAD_INPUT') ? [400, 'Bad request'] : hasCode(err, 'EVIDENCE_NOT_READY') ? [409, 'Not ready'] : [502, 'Unavailable'];
    // The message names the fact (an unknown id, an unreachable registry); nothing secret is in the console's errors.
    const message = err instanceof CountersignError ? `${err.code}: ${err.message}` : 'the console could not read Temporal or the registry';
    return reply.status(status).type('text/html; charset=utf-8').send(errorPage(title, message));
  });
  app.setNotFoundHandler(async (_req, reply) => reply.status(404).type('text/html; charset=utf-8').send(errorPage('Not found', 'no such page')));
  return app;
}

type View = { pack: Awaited<ReturnType<typeof assembleEvidencePack>>; digest: string; status: Awaited<ReturnType<typeof readPromotionRecord>>['status'] } | { status: Awaited<ReturnType<typeof readPromotionRecord>>['status']; why: string };

async function evidenceView(deps: ConsoleDeps, metrics: ConsoleMetrics, id: string): Promise<View> {
  const record = await readPromotionRecord(deps.client, id);
  try {
    const pack = await assembleEvidencePack(deps, record);
    metrics.evidence('built');
    return { pack, digest: evidencePackDigest(pack), status: record.status };
  } catch (err) {
    if (hasCode(err, 'EVIDENCE_NOT_READY')) {
      metrics.evidence('not_ready');
      return { status: record.status, why: (err as Error).message };
    }
    metrics.evidence('failed');
    throw err;
  }
}

function promotionIdFrom(value: string): string {
  if (!PROMOTION_ID.test(value)) throw new CountersignError('BAD_INPUT', `"${value.slice(0, 120)}" is not a promotion id (promote-<target>-<16 hex digits>)`);
  return value;
}

export function fingerprintOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value) ?? '').digest('hex').slice(0, 32);
}

/** What a promotion's page shows that can change: state, timeline, votes, the evidence pack. Not the time left. */
function promotionFingerprint(status: PromotionStatus, packDigest: string | undefined): string {
  return fingerprintOf([status.state, status.timeline, status.approval.state, status.approval.votes, packDigest ?? null]);
}

function waitingFingerprint(runs: WaitingRun[]): string {
  return fingerprintOf(runs.map((r) => [r.promotionId, r.approval?.state, r.approval?.votes]));
}

/** The fingerprint a page was rendered with, as its stream URL carries it (anything else: compare with the first look). */
export function seenFrom(value: unknown): string | undefined {
  return typeof value === 'string' && /^[0-9a-f]{32}$/.test(value) ? value : undefined;
}

/**
 * A server-sent event stream that sends `change` once what `look` sees differs from what the
 * page was rendered with (or, without that, from the first look), then ends; the page reloads. A look that fails (a worker busy) is tried again next tick.
 */
export function watch(reply: FastifyReply, request: NodeJS.EventEmitter, metrics: ConsoleMetrics, seen: string | undefined, everyMs = DEFAULT_WATCH_MS, look: () => Promise<string>): void {
  reply.hijack();
  const res = reply.raw;
  metrics.streamOpened();
  res.once('close', () => metrics.streamClosed());
  res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive', ...SECURITY_HEADERS });
  res.write(': watching\n\n');
  let first = seen;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  request.on('close', () => {
    closed = true;
    clearTimeout(timer);
  });
  const tick = async () => {
    if (closed) return;
    try {
      const seen = await look();
      first ??= seen;
      if (seen !== first) {
        res.end('event: change\ndata: {}\n\n');
        closed = true;
        return;
      }
    } catch {
      // Nothing to tell the page: it keeps what it shows until a look succeeds.
    }
    if (!closed) timer = setTimeout(() => void tick(), everyMs);
  };
  void tick();
}
