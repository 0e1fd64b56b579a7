/**
 * A real HTTP server publishing a directory, as a CDN would: GET /<prefix>/<file> answers the
 * file's bytes, 404 when absent. `serve` swaps in other bytes for one path (an attacker's copy,
 * an old version) and `hang` a path that never answers.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface StaticServer {
  /** The base URL of the published directory (no trailing slash). */
  url: string;
  /** Answers `name` with these bytes instead of the file's, until `restore`. */
  serve(name: string, bytes: Buffer | string): void;
  hang(name: string): void;
  restore(name?: string): void;
  /** Paths asked for, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function serveDirectory(dir: string, prefix = '/trust'): Promise<StaticServer> {
  const swapped = new Map<string, Buffer | 'hang'>();
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push(url.pathname);
      const name = decodeURIComponent(url.pathname.slice(prefix.length + 1));
      if (!url.pathname.startsWith(`${prefix}/`) || name.includes('/') || name.startsWith('.')) return res.writeHead(404).end();
      const swap = swapped.get(name);
      if (swap === 'hang') return;
      const bytes = swap ?? (await fs.readFile(path.join(dir, name)).catch(() => undefined));
      if (!bytes) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length }).end(bytes);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`,
    serve: (name, bytes) => swapped.set(name, Buffer.from(bytes)),
    hang: (name) => swapped.set(name, 'hang'),
    restore: (name) => (name === undefined ? swapped.clear() : swapped.delete(name)),
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
