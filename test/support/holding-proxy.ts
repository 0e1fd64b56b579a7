/**
 * A reverse proxy in front of the real registry that can hold requests matching a rule
 * unanswered, so a test can crash a worker at an exact point inside an activity (after one write,
 * before the next). Everything else passes through unchanged. This is the one place a test stands
 * between countersign and a real component: no registry can be told to stall a given request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HoldingProxy {
  /** 127.0.0.1:PORT, to use as the registry host. */
  address: string;
  /** From now on, requests for which `rule` is true are held; resolves when the first one arrives. */
  holdNext(rule: (method: string, url: string) => boolean): Promise<void>;
  /** Drops every held request's connection. */
  dropHeld(): void;
  close(): Promise<void>;
}

export async function startHoldingProxy(upstream: string): Promise<HoldingProxy> {
  let rule: ((method: string, url: string) => boolean) | undefined;
  let arrived: (() => void) | undefined;
  const held = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    if (rule?.(req.method ?? '', req.url ?? '')) {
      held.add(res);
      arrived?.();
      return; // never answered: the client waits until it gives up or is killed
    }
    const forward = http.request(`http://${upstream}${req.url}`, { method: req.method, headers: { ...req.headers, host: upstream } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', (err) => {
      res.writeHead(502).end(String(err));
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const dropHeld = () => {
    rule = undefined;
    for (const res of held) res.socket?.destroy();
    held.clear();
  };
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    holdNext(next) {
      rule = next;
      return new Promise<void>((resolve) => (arrived = resolve));
    },
    dropHeld,
    async close() {
      dropHeld();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
