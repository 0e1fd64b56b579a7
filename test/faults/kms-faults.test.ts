/**
 * The platform key in KMS (local-kms), behind a fault proxy: KMS answering ThrottlingException
 * for a while from approval on, and Sign answers slower than a queued prodSign's heartbeat timeout
 * (trickled, so no client timeout cuts them off). Throttling is retried through; the slow attempt
 * (a local step: the workflow task running it heartbeats) is never taken for dead, and signs once. The scenarios are the ones
 * `npm run faults` runs (bench/faults), run at once on one stack, each behind its own proxy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ScenarioResult } from '../../bench/faults/measure';
import { runOnStack } from '../../bench/faults/run';
import { kmsSlow, kmsThrottled } from '../../bench/faults/scenarios/kms';
import { startFaultStack, type FaultStack } from '../../bench/faults/stack';
import { localKmsPath } from '../support/local-kms';
import { assertAllPromotedOnce } from './expect';

const PROMOTIONS = 2;

describe('a KMS that throttles or is slower than the heartbeat', { skip: localKmsPath() ? false : 'local-kms not installed (bash scripts/toolchain.sh local-kms)' }, () => {
  let stack: FaultStack;
  let results: ScenarioResult[];

  before(async () => {
    stack = await startFaultStack();
    results = await runOnStack(stack, [kmsThrottled, kmsSlow], { promotions: PROMOTIONS });
  });
  after(async () => {
    await stack?.close();
  });

  it('throttled (ThrottlingException): production signing retries until KMS answers, PROMOTED with one signature each', () => {
    const [r] = results;
    assert.ok(Number(r.facts['proxy.failed']) >= PROMOTIONS, `KMS calls were throttled (${r.facts['proxy.failed']})`);
    assert.ok(Number(r.facts['attempts.prodSign']) >= 2, `prod sign retried (attempt ${r.facts['attempts.prodSign']})`);
    assertAllPromotedOnce(r, PROMOTIONS);
  });

  it('slower than the heartbeat timeout: one Sign call and one prodSign attempt per promotion, PROMOTED with one signature each', () => {
    const [, r] = results;
    assert.equal(r.facts['proxy.stalled'], PROMOTIONS, 'one Sign call per promotion was made while stalled: no second attempt signed beside the first');
    assert.equal(r.facts['attempts.prodSign'], 1, 'the slow attempt was never taken for a dead one');
    assertAllPromotedOnce(r, PROMOTIONS);
  });
});
