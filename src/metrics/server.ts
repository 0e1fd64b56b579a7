/**
 * The worker's metrics endpoint: GET /metrics answers countersign's metrics followed by the
 * Temporal SDK's runtime metrics, which the SDK's own exporter serves on a loopback port only
 * this process reads, so a scraper needs one target per worker. GET /healthz answers "ok".
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { contentType } from 'prom-client';
import { CountersignError } from '../errors';
import type { CountersignMetrics } from './metrics';

/** The SDK's answer is read for at most this long, so one slow exporter never stalls a scrape. */
export const DEFAULT_SDK_SCRAPE_TIMEOUT_MS = 2_000;
/** And at most this many bytes: the SDK's metrics are a few hundred series. */
export const DEFAULT_SDK_SCRAPE_MAX_BYTES = 4 * 1024 * 1024;

export interface MetricsServerOptions {
  /** host:port to listen on ("0.0.0.0:9464" in a pod; port 0 picks a free one). */
  listen: string;
  metrics: CountersignMetrics;
  /** The SDK exporter's URL (http://127.0.0.1:PORT/metrics), when the runtime has one. */
  sdkUrl?: string;
}

export interface MetricsServer {
  /** host:port actually bound. */
  address: string;
  close(): Promise<void>;
}

/** Splits "host:port" ("[::1]:9464" for IPv6); BAD_CONFIG naming `field` otherwise. */
export function parseListen(value: string, field: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new CountersignError('BAD_CONFIG', `${field}: "${value}" is not HOST:PORT (e.g. 0.0.0.0:9464; port 0-65535)`);
  return { host: m[1] ?? m[2]!, port };
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { host, port } = parseListen(options.listen, 'metrics listen address');
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    exposition(options)
      .then((body) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body))
      .catch((err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new CountersignError('BAD_CONFIG', `metrics: cannot listen on ${options.listen}: ${err.code ?? err.message}`, { cause: err })),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function exposition(options: MetricsServerOptions): Promise<string> {
  const own = await options.metrics.text();
  if (!options.sdkUrl) return own;
  const sdk = await readSdkMetrics(options.sdkUrl);
  // A scrape that lost the SDK's half says so rather than silently dropping those series.
  const up = `# HELP countersign_sdk_metrics_up Whether the Temporal SDK's runtime metrics were read for this scrape.\n# TYPE countersign_sdk_metrics_up gauge\ncountersign_sdk_metrics_up ${sdk === undefined ? 0 : 1}\n`;
  return `${own}\n${up}${sdk ? `\n${sdk}` : ''}`;
}

async function readSdkMetrics(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(DEFAULT_SDK_SCRAPE_TIMEOUT_MS) });
    if (!res.ok || !res.body) return undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > DEFAULT_SDK_SCRAPE_MAX_BYTES) return undefined;
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch {
    return undefined;
  }
}
