/**
 * A reverse proxy in front of a real component (the registry, a KMS API server) that can hold
 * requests matching a rule unanswered, so a test can crash a worker at an exact point inside an
 * activity (after one write, before the next), or let two writers race in a chosen order. It can
 * also stall answers: the upstream's response is sent as a trickle of whitespace until the test
 * releases it, which makes a JSON API (KMS) slower than any timeout without ever going idle long
 * enough for a client's socket timeout. Everything else passes through unchanged. This is the one
 * place a test stands between countersign and a real component: no registry or KMS can be told to
 * stall a given request.
 *
 * As a fault injector it can also answer in the upstream's place (a registry's 500 or 429, KMS's
 * ThrottlingException) without the request reaching it, or pass a request on at once and hold
 * back the upstream's answer for a while (a write that lands but is answered too late).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ProxyRule = (method: string, url: string, headers: http.IncomingHttpHeaders) => boolean;

export interface HoldingProxy {
  /** 127.0.0.1:PORT, to use as the registry host or KMS endpoint. */
  address: string;
  /** From now on, requests for which `rule` is true are held; resolves when the first one arrives. */
  holdNext(rule: ProxyRule): Promise<void>;
  /** Drops every held request's connection. */
  dropHeld(): void;
  /** Stops holding and sends every held request on to the upstream, as if it had just arrived. */
  releaseHeld(): void;
  /**
   * From now on, answers to requests for which `rule` is true are stalled: sent as whitespace, a
   * byte a second, until releaseStalled(). Resolves when the first one is stalled. JSON bodies only.
   */
  stallNext(rule: ProxyRule): Promise<void>;
  /** Stops stalling and finishes every stalled answer with the upstream's body. */
  releaseStalled(): void;
  /** How many requests matched the stall rule so far (each was answered by the upstream). */
  readonly stalledCount: number;
  /** From now on, requests for which `rule` is true get `answer` from the proxy, never reaching the upstream. */
  failWith(rule: ProxyRule, answer: FaultAnswer): void;
  /** From now on, answers to requests for which `rule` is true are sent `ms` after the upstream gave them (the request itself goes on at once). */
  delayBy(rule: ProxyRule, ms: number): void;
  /** From now on, answers to requests for which `rule` is true carry these headers too (a registry claiming what it does not do). */
  addHeaders(rule: ProxyRule, headers: Record<string, string>): void;
  /** Ends failWith, delayBy and addHeaders (answers already delayed still arrive late). */
  heal(): void;
  /** How many requests were answered by failWith, and how many answers were delayed. */
  readonly faults: { failed: number; delayed: number };
  /** Every request that reached the proxy, as `METHOD /path?query`, oldest first; a test may empty it. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** What the proxy answers in the upstream's place. */
export interface FaultAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** How often a stalled answer sends a byte: well under any client's idle-socket timeout. */
const TRICKLE_MS = 1_000;

export async function startHoldingProxy(upstream: string): Promise<HoldingProxy> {
  let rule: ProxyRule | undefined;
  let arrived: (() => void) | undefined;
  let stallRule: ProxyRule | undefined;
  let stallArrived: (() => void) | undefined;
  let stalledCount = 0;
  const held = new Map<http.ServerResponse, http.IncomingMessage>();
  const stalled = new Set<() => void>();
  let failRule: { rule: ProxyRule; answer: FaultAnswer } | undefined;
  let delayRule: { rule: ProxyRule; ms: number } | undefined;
  let headerRule: { rule: ProxyRule; headers: Record<string, string> } | undefined;
  const faults = { failed: 0, delayed: 0 };
  const requests: string[] = [];
  const delays = new Set<NodeJS.Timeout>();

  // An upstream that answers with an absolute URL of its own (distribution's upload Location) is
  // sent back through the proxy, as a reverse proxy rewrites it: otherwise the next request would bypass it.
  const throughProxy = (headers: http.IncomingHttpHeaders): http.IncomingHttpHeaders => {
    const location = headers.location;
    if (typeof location !== 'string' || !location.startsWith(`http://${upstream}/`)) return headers;
    return { ...headers, location: `http://${address}${location.slice(`http://${upstream}`.length)}` };
  };
  let address = '';

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, stall: boolean, delayMs = 0) => {
    const extra = headerRule?.rule(req.method ?? '', req.url ?? '', req.headers) ? headerRule.headers : {};
    const upstreamReq = http.request(`http://${upstream}${req.url}`, { method: req.method, headers: { ...req.headers, host: upstream } }, (up) => {
      if (!stall && delayMs > 0) {
        // Read the whole answer now (the upstream has acted on the request), send it later.
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const timer = setTimeout(() => {
            delays.delete(timer);
            if (res.destroyed) return;
            res.writeHead(up.statusCode ?? 502, throughProxy(up.headers));
            res.end(Buffer.concat(chunks));
          }, delayMs);
          delays.add(timer);
        });
        return;
      }
      if (!stall) {
        res.writeHead(up.statusCode ?? 502, { ...throughProxy(up.headers), ...extra });
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const { 'content-length': _length, 'transfer-encoding': _encoding, ...headers } = throughProxy(up.headers);
        res.writeHead(up.statusCode ?? 502, headers);
        const trickle = setInterval(() => res.write(' '), TRICKLE_MS);
        const finish = () => {
          clearInterval(trickle);
          stalled.delete(finish);
          if (!res.destroyed) res.end(Buffer.concat(chunks));
        };
        res.on('close', () => {
          clearInterval(trickle);
          stalled.delete(finish);
        });
        stalled.add(finish);
        stallArrived?.();
      });
    });
    upstreamReq.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstreamReq);
  };

  const server = http.createServer((req, res) => {
    const method = req.method ?? '';
    const url = req.url ?? '';
    requests.push(`${method} ${url}`);
    if (rule?.(method, url, req.headers)) {
      held.set(res, req);
      arrived?.();
      return; // not answered until released or dropped: the client waits until it gives up or is killed
    }
    if (failRule?.rule(method, url, req.headers)) {
      faults.failed += 1;
      const { status, headers, body } = failRule.answer;
      req.resume();
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body ?? '');
      return;
    }
    const stall = stallRule?.(method, url, req.headers) ?? false;
    if (stall) stalledCount += 1;
    const delayMs = !stall && delayRule?.rule(method, url, req.headers) ? delayRule.ms : 0;
    if (delayMs > 0) faults.delayed += 1;
    forward(req, res, stall, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dropHeld = () => {
    rule = undefined;
    for (const res of held.keys()) res.socket?.destroy();
    held.clear();
  };
  const releaseStalled = () => {
    stallRule = undefined;
    for (const finish of [...stalled]) finish();
  };
  return {
    address,
    holdNext(next) {
      rule = next;
      return new Promise<void>((resolve) => (arrived = resolve));
    },
    dropHeld,
    releaseHeld() {
      rule = undefined;
      const waiting = [...held];
      held.clear();
      for (const [res, req] of waiting) forward(req, res, false);
    },
    stallNext(next) {
      stallRule = next;
      return new Promise<void>((resolve) => (stallArrived = resolve));
    },
    releaseStalled,
    get stalledCount() {
      return stalledCount;
    },
    failWith(rule, answer) {
      failRule = { rule, answer };
    },
    delayBy(rule, ms) {
      delayRule = { rule, ms };
    },
    addHeaders(rule, headers) {
      headerRule = { rule, headers };
    },
    heal() {
      failRule = undefined;
      delayRule = undefined;
      headerRule = undefined;
    },
    get faults() {
      return { ...faults };
    },
    requests,
    async close() {
      dropHeld();
      releaseStalled();
      for (const timer of delays) clearTimeout(timer);
      delays.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
