/**
 * The approval console on the real stack: a release (promoted through the gate), then a second
 * promotion of the same repository parked at the gate, needing two of alice, bob and carol, with
 * a claimed ref carrying markup (build facts are the initiator's to claim, so the page must show
 * it as text), and the console serving both on a free loopback port.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before } from 'node:test';
import { waitForPromotion } from '../../src/client/promotions';
import { createConsole } from '../../src/console/server';
import { RegistryStore } from '../../src/oci/registry';
import { buildFacts, copyDir, useTestEnv, type TestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

/** A claimed ref that would run script if a page put it in as markup. */
export const XSS_REF = `refs/heads/<script>window.__pwned='script'</script><img src=x onerror="window.__pwned='img'">`;

/** The commit the second promotion claims (the release was built from support/env's COMMIT). */
export const NEXT_COMMIT = '9b1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d';

export interface ConsoleFixture {
  env: TestEnv;
  url: string;
  released: { promotionId: string; digest: string };
  parked: { promotionId: string; digest: string };
}

export function useConsoleFixture(): ConsoleFixture {
  let close: (() => Promise<void>) | undefined;
  // after() hooks run in the order they are registered: this one, registered before the
  // environment's, stops the console (and its event streams) while Temporal is still up.
  after(async () => {
    await close?.();
  });
  const env = useTestEnv();
  const fixture = { env } as ConsoleFixture;
  before(async () => {
    const v1 = await copyDir(HELLO, path.join(env.dir, 'hello-v1'));
    const first = await env.promote({ source: { directory: v1 }, build: buildFacts() });
    await waitForPromotion(env.client, first.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(first.promotionId, 'alice', 'approve', 'first release');
    assert.equal((await waitForPromotion(env.client, first.promotionId)).state, 'PROMOTED');
    fixture.released = { promotionId: first.promotionId, digest: first.digest };

    const v2 = await copyDir(HELLO, path.join(env.dir, 'hello-v2'));
    await fs.writeFile(path.join(v2, 'CHANGELOG'), 'v2: a new file\n');
    await fs.appendFile(path.join(v2, 'index.html'), '<!-- v2 -->\n');
    const target = env.targetWith({ approval: { approvers: ['alice', 'bob', 'carol'], required: 2 } }, 'prod-two');
    const second = await env.promote({ target, source: { directory: v2 }, build: { ...buildFacts({ commit: NEXT_COMMIT }), ref: XSS_REF } });
    const status = await waitForPromotion(env.client, second.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(status.state, 'AWAITING_APPROVAL', status.error);
    fixture.parked = { promotionId: second.promotionId, digest: second.digest };

    const app = createConsole({ client: env.client, storeFor: (host) => new RegistryStore(host), watchMs: 200, access: { login: false, passkeys: {} } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    fixture.url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = () => app.close();
  });
  return fixture;
}
