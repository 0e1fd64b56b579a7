/**
 * A revocation's listing while a promotion's release is held: the production signature is out,
 * so the promotion is listed as signed (RELEASING, written), not as one still to be refused, and
 * as PROMOTED once the release goes through. Release is a local step, so the RELEASING state
 * reaches visibility only when the workflow task running it heartbeats (about 8 s); this test
 * waits for that rather than for the release. Real dev server, registry and worker; the holding
 * proxy holds the release tag's write.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { waitForGate, waitForPromotion } from '../../src/client/promotions';
import { pinnedTo } from '../../src/client/revocation';
import { keyFingerprint } from '../../src/keys/public-key';
import type { TrustKey } from '../../src/trust/index-file';
import { startHoldingProxy } from '../support/holding-proxy';
import { buildFacts, copyDir, useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('revocation listing while a release is held', () => {
  const env = useTestEnv();

  it('lists the promotion as signed (RELEASING) while its release tag write is held, never as in flight, then as PROMOTED', { timeout: 180_000 }, async (t) => {
    const proxy = await startHoldingProxy(env.stack.registry.address);
    t.after(() => proxy.close());
    const target = env.targetWith({ repository: `${proxy.address}/apps/hello`, releaseTag: 'prod' });
    const dir = await copyDir(HELLO, path.join(env.dir, 'releasing'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'releasing\n');
    const platformKey = { fingerprint: keyFingerprint(await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8')) } as TrustKey;

    const releaseWrite = proxy.holdNext((method, url) => method === 'PUT' && /\/manifests\/prod$/.test(url));
    const started = await env.promote({ target: target.name, source: { directory: dir }, build: buildFacts() });
    /** The listing once it lists the promotion as signed in `state` (visibility lags the run), or the last one read. */
    const listedSignedAs = async (state: string) => {
      let listed = await pinnedTo(env.client, platformKey);
      for (let i = 0; i < 120 && listed.signed.find((p) => p.promotionId === started.promotionId)?.state !== state; i++) {
        await new Promise((r) => setTimeout(r, 250));
        listed = await pinnedTo(env.client, platformKey);
      }
      return listed;
    };
    const parked = await waitForGate(env.client, started.promotionId);
    assert.equal(parked.state, 'AWAITING_APPROVAL', parked.error);
    const atGate = await pinnedTo(env.client, platformKey);
    assert.ok(atGate.inFlight.some((p) => p.promotionId === started.promotionId), 'at the gate it is in flight: its production signature would be refused');
    assert.ok(!atGate.signed.some((p) => p.promotionId === started.promotionId), 'and not signed');

    await env.decideAs(started.promotionId, 'alice', 'approve');
    await releaseWrite;
    // Held in release: the listing sees RELEASING once the workflow task heartbeats with it.
    const listed = await listedSignedAs('RELEASING');
    const releasing = listed.signed.find((p) => p.promotionId === started.promotionId);
    assert.ok(releasing, `listed as signed while its release is held: ${JSON.stringify(listed)}`);
    assert.equal(releasing.state, 'RELEASING');
    assert.equal(releasing.signature, 'written');
    assert.ok(!listed.inFlight.some((p) => p.promotionId === started.promotionId), 'a releasing promotion is not listed as one whose signature will be refused');

    proxy.releaseHeld();
    const promoted = await waitForPromotion(env.client, started.promotionId);
    assert.equal(promoted.state, 'PROMOTED', promoted.error);
    assert.equal((await listedSignedAs('PROMOTED')).signed.find((p) => p.promotionId === started.promotionId)?.state, 'PROMOTED');
  });
});
