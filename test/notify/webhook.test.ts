import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CountersignError } from '../../src/errors';
import { postWebhook, type Notification } from '../../src/notify/webhook';

const NOTIFICATION: Notification = {
  kind: 'reminder',
  subject: 'promote-prod-0123456789abcdef',
  digest: `sha256:${'ab'.repeat(32)}`,
  to: ['alice', 'bob'],
  summary: 'waiting for 1 more of approvers',
  deadline: '2026-11-21T22:00:00.000Z',
  reminders: 1,
  at: '2026-11-20T22:00:00.000Z',
};

/** Whether the gate's activity retries is decided by the code alone (activities/failure.ts). */
const failsWith = (code: string, retryable: boolean, message: RegExp) => (e: unknown) =>
  e instanceof CountersignError && e.code === code && e.retryable === retryable && message.test(e.message);

describe('webhook notifications against a real HTTP server', () => {
  let server: http.Server;
  let base: string;
  /** The status the server answers with next, per path. */
  const answers = new Map<string, number[]>();
  const received: Array<{ path: string; headers: http.IncomingHttpHeaders; body: string }> = [];

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body });
        if (req.url === '/silent') return; // never answers: the client's timeout must end it
        const status = answers.get(req.url ?? '')?.shift() ?? 204;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 400 ? 'nope' : '');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('POSTs the notification as JSON', async () => {
    await postWebhook(`${base}/ok`, NOTIFICATION);
    const got = received.find((r) => r.path === '/ok');
    assert.ok(got);
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['user-agent'], 'countersign');
    assert.deepEqual(JSON.parse(got.body), NOTIFICATION);
  });

  it('fails retryably while the receiver answers 5xx or 429, and goes through once it recovers', async () => {
    answers.set('/flaky', [500, 503, 429]);
    for (const status of [500, 503, 429]) {
      await assert.rejects(postWebhook(`${base}/flaky`, NOTIFICATION), failsWith('NOTIFY_UNAVAILABLE', true, new RegExp(`webhook ${base}/flaky answered HTTP ${status} to the reminder notification`)));
    }
    await postWebhook(`${base}/flaky`, NOTIFICATION);
    assert.equal(received.filter((r) => r.path === '/flaky').length, 4);
  });

  it('fails for good on another 4xx: the receiver refused it, asking again will not help', async () => {
    answers.set('/gone', [410]);
    await assert.rejects(postWebhook(`${base}/gone`, NOTIFICATION), failsWith('NOTIFY_REJECTED', false, /answered HTTP 410 to the reminder notification/));
  });

  it('fails retryably when nothing listens or the receiver does not answer in time', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/hook`;
    await new Promise((r) => closed.close(r));
    await assert.rejects(postWebhook(deadUrl, NOTIFICATION), failsWith('NOTIFY_UNAVAILABLE', true, new RegExp(`webhook ${deadUrl} unreachable`)));

    // The receiver never answers: only the 300 ms timeout can end the request, and the error says so.
    await assert.rejects(postWebhook(`${base}/silent`, NOTIFICATION, 300), failsWith('NOTIFY_UNAVAILABLE', true, /unreachable: .*(timeout|aborted)/i));
  });
});
