/**
 * What one registry request costs the worker in CPU: undici's request API (what RegistryStore
 * uses) against Node's built-in fetch (what it used before), side by side in one run, against a
 * local HTTP server in the same process answering like a registry (a 1.5 KiB manifest to GET, an
 * upload to PUT). Ten requests in flight at a time, as a worker with several promotions has.
 *   BENCH_REQUESTS=3000 npm run bench:http
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const IN_FLIGHT = 10;
const manifest = Buffer.alloc(1536, 'm');

type Call = (url: string) => Promise<void>;

const clients: Record<string, { get: Call; put: Call }> = {
  'undici request': {
    get: async (url) => {
      const res = await request(url, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' }, signal: AbortSignal.timeout(30_000) });
      for await (const _ of res.body);
    },
    put: async (url) => {
      const res = await request(url, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/octet-stream' }, signal: AbortSignal.timeout(30_000) });
      await res.body.dump();
    },
  },
  'fetch (yardstick)': {
    get: async (url) => {
      const res = await fetch(url, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' }, signal: AbortSignal.timeout(30_000) });
      const reader = res.body!.getReader();
      while (!(await reader.read()).done);
    },
    put: async (url) => {
      const res = await fetch(url, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/octet-stream' }, signal: AbortSignal.timeout(30_000) });
      await res.body?.cancel();
    },
  },
};

/** CPU microseconds per request (client and the in-process server together), after a warm-up. */
async function measure(call: Call, url: string): Promise<number> {
  const run = (n: number) => Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    for (let i = 0; i < n / IN_FLIGHT; i++) await call(url);
  }));
  await run(Math.min(REQUESTS, 500));
  const before = process.cpuUsage();
  await run(REQUESTS);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / REQUESTS;
}

async function main(): Promise<void> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'PUT') res.writeHead(201, { 'docker-content-digest': 'sha256:0' }).end();
      else res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': manifest.length }).end(manifest);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/bench/app/manifests/sha256:0`;
  console.log(`${REQUESTS} requests each, ${IN_FLIGHT} in flight; CPU per request, client and server together`);
  console.log('| client | GET manifest | PUT manifest |');
  console.log('|---|---:|---:|');
  for (let round = 0; round < 2; round++) {
    for (const [name, client] of Object.entries(clients)) {
      const get = await measure(client.get, url);
      const put = await measure(client.put, url);
      console.log(`| ${name} | ${get.toFixed(0)} µs | ${put.toFixed(0)} µs |`);
    }
  }
  server.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
