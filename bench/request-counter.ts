/**
 * A counting HTTP proxy in front of the bench registry, run as its own process (so its CPU is not
 * the client's): every request is forwarded unchanged, Host header included, so the registry's
 * upload Locations point back through it. The parent asks for and resets the counts over IPC.
 *   fork('bench/request-counter.ts', [registryAddress]) -> { listening: port }
 *   send('read') -> { counts: { GET: n, HEAD: n, ... } };  send('reset')
 */
import fs from 'node:fs';
import http from 'node:http';

const target = process.argv[2];
if (!target || !process.send) throw new Error('usage: fork(request-counter.ts, [host:port]) with an IPC channel');
const [host, port] = target.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
let counts: Record<string, number> = {};

/**
 * BENCH_REQUEST_LOG names a file that gets every request line, for finding which step makes which
 * request. Emptied at start: lines appended to an earlier run's file were counted with it once.
 */
const log = process.env.BENCH_REQUEST_LOG;
if (log) fs.writeFileSync(log, '');

const server = http.createServer((req, res) => {
  counts[req.method ?? '?'] = (counts[req.method ?? '?'] ?? 0) + 1;
  if (log) fs.appendFileSync(log, `${req.method} ${req.url}\n`);
  const upstream = http.request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502);
    res.end(String(err));
  });
  req.pipe(upstream);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  process.send!({ listening: (server.address() as { port: number }).port });
});
process.on('message', (message) => {
  if (message === 'read') process.send!({ counts });
  if (message === 'reset') {
    counts = {};
    process.send!({ reset: true });
  }
});
process.on('disconnect', () => process.exit(0));
