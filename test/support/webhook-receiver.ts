/**
 * A real HTTP webhook receiver on loopback for workflow tests: it keeps every JSON body it is
 * posted, in order, and answers each with the status `answer` gives for the nth request (from 1;
 * 204 by default), so a test can also make the receiver fail for a while.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookReceiver<T> {
  /** The URL to configure as a webhook (`/<path>` on the receiver). */
  url: string;
  /** Every body received, parsed, in arrival order, beside the status it was answered with. */
  received: T[];
  statuses: number[];
  close(): Promise<void>;
}

export async function startWebhookReceiver<T = Record<string, any>>(options: { path?: string; answer?: (n: number) => number } = {}): Promise<WebhookReceiver<T>> {
  const received: T[] = [];
  const statuses: number[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const status = options.answer?.(received.length + 1) ?? 204;
      received.push(JSON.parse(body) as T);
      statuses.push(status);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/${options.path ?? 'hook'}`,
    received,
    statuses,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
