/**
 * A revocation's two listings (what the key signed, what is still running pinned to it) read
 * visibility moments apart; a promotion passing from PROD_SIGNING to RELEASING between them is
 * listed once, as signed, whichever listing saw which state. The end-to-end case, with a release
 * really held, is test/client/revocation-releasing.test.ts (where CI met the first race).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reconcilePinned } from '../../src/client/revocation';
import type { Listing, PinnedPromotion, SignedPromotion } from '../../src/client/pinned-runs';

const run = (promotionId: string, state: string): PinnedPromotion => ({ promotionId, state, target: 'prod', digest: `sha256:${'a'.repeat(64)}` });
const signedRun = (promotionId: string, state: string): SignedPromotion => ({ ...run(promotionId, state), signature: 'written' });
const listing = <T>(promotions: T[], capped = false): Listing<T> => ({ promotions, capped, limit: 10 });
const ids = (xs: Array<{ promotionId: string }>) => xs.map((p) => p.promotionId);

describe('a revocation listing from two visibility reads', () => {
  it('seen RELEASING by the signed listing and still PROD_SIGNING by the running one: signed only', () => {
    const out = reconcilePinned(listing([signedRun('p1', 'RELEASING')]), listing([run('p1', 'PROD_SIGNING'), run('p2', 'AWAITING_APPROVAL')]), 10);
    assert.deepEqual(ids(out.signed), ['p1']);
    assert.deepEqual(ids(out.inFlight), ['p2']);
  });

  it('still PROD_SIGNING for the signed listing (not listed there) and RELEASING for the running one: signed, written', () => {
    const out = reconcilePinned(listing([]), listing([run('p1', 'RELEASING'), run('p2', 'AWAITING_APPROVAL')]), 10);
    assert.deepEqual(out.signed, [{ ...run('p1', 'RELEASING'), signature: 'written' }]);
    assert.deepEqual(ids(out.inFlight), ['p2']);
  });

  it('both listings agree: each promotion once, where it belongs', () => {
    const out = reconcilePinned(listing([signedRun('p1', 'PROMOTED'), signedRun('p3', 'RELEASING')]), listing([run('p3', 'RELEASING'), run('p2', 'PROD_SIGNING')]), 10);
    assert.deepEqual(ids(out.signed), ['p1', 'p3']);
    assert.deepEqual(ids(out.inFlight), ['p2']);
  });

  it('a signed list grown past the limit by a releasing run is cut to it and says so', () => {
    const full = Array.from({ length: 10 }, (_, i) => signedRun(`s${i}`, 'PROMOTED'));
    const out = reconcilePinned(listing(full), listing([run('r', 'RELEASING')]), 10);
    assert.equal(out.signed.length, 10);
    assert.equal(out.capped.signed, true);
    assert.equal(reconcilePinned(listing(full.slice(0, 9)), listing([run('r', 'RELEASING')]), 10).capped.signed, false);
  });
});
