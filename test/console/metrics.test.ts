/**
 * The console's /metrics on a real Temporal dev server (no worker needed: nothing waits): each
 * request is counted under its route template, so a caller requesting many different ids or
 * paths adds no series; the waiting-list gauge follows what the list read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createConsole } from '../../src/console/server';
import { ConsoleMetrics } from '../../src/console/metrics';
import { RegistryStore } from '../../src/oci/registry';
import { useTestEnv } from '../support/env';

describe('console metrics', () => {
  // Registered before the environment's, so the console closes while Temporal is up.
  after(() => app?.close());
  const env = useTestEnv({ worker: false });
  let app: ReturnType<typeof createConsole>;
  before(() => {
    app = createConsole({ client: env.client, storeFor: (host) => new RegistryStore(host), metrics: new ConsoleMetrics({ processMetrics: false }), access: { login: false, passkeys: {} } });
  });

  it('counts requests by route template, never by the path a caller chose', async () => {
    assert.equal((await app.inject({ url: '/' })).statusCode, 200);
    for (let i = 0; i < 5; i++) {
      const id = `promote-prod-${i.toString(16).padStart(16, '0')}`;
      assert.equal((await app.inject({ url: `/promotions/${id}` })).statusCode, 404);
      assert.equal((await app.inject({ url: `/no/such/page/${i}` })).statusCode, 404);
    }
    assert.equal((await app.inject({ url: '/promotions/<script>' })).statusCode, 400);
    const res = await app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/plain/);
    const body = res.body;
    assert.match(body, /^countersign_console_requests_total\{route="\/",status="2xx"\} 1$/m);
    assert.match(body, /^countersign_console_requests_total\{route="\/promotions\/:id",status="4xx"\} 6$/m);
    assert.match(body, /^countersign_console_requests_total\{route="unmatched",status="4xx"\} 5$/m);
    assert.match(body, /^countersign_console_waiting_runs 0$/m);
    assert.match(body, /^countersign_console_event_streams 0$/m);
    assert.ok(!/promote-prod-0|no\/such|script/.test(body), 'no caller-chosen text in any label');
  });
});
