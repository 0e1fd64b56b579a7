/**
 * A registry answering 500, answering 429 with Retry-After, and answering later than the heartbeat
 * timeout, each for a while from production signing's first write on (a fault proxy in front of the real registry; the
 * slow one passes every request on at once, so writes land and only their answers are late).
 * Production signing retries through it and every promotion ends PROMOTED with exactly one
 * platform signature. The scenarios are the ones `npm run faults` runs (bench/faults); the three
 * run at once on one stack, each behind its own proxy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ScenarioResult } from '../../bench/faults/measure';
import { runOnStack } from '../../bench/faults/run';
import { registry429, registry500, registrySlow } from '../../bench/faults/scenarios/registry';
import { startFaultStack, type FaultStack } from '../../bench/faults/stack';
import { assertAllPromotedOnce } from './expect';

const PROMOTIONS = 2;

describe('a registry that errs or answers late for a while', () => {
  let stack: FaultStack;
  let results: ScenarioResult[];

  before(async () => {
    stack = await startFaultStack();
    results = await runOnStack(stack, [registry500, registry429, registrySlow], { promotions: PROMOTIONS });
  });
  after(async () => {
    await stack?.close();
  });

  for (const [i, name] of ['500', '429 with Retry-After'].entries()) {
    it(`answering ${name}: production signing is retried through it, PROMOTED with one signature each`, () => {
      const r = results[i];
      assert.ok(Number(r.facts['proxy.failed']) >= PROMOTIONS, `the proxy answered in the registry's place (${r.facts['proxy.failed']} times)`);
      assert.ok(Number(r.facts['attempts.prodSign']) >= 2, `prod sign retried (attempt ${r.facts['attempts.prodSign']})`);
      assertAllPromotedOnce(r, PROMOTIONS);
    });
  }

  it('answering later than the heartbeat timeout: the late writes are found, not repeated, PROMOTED with one signature each', () => {
    const r = results[2];
    assert.ok(Number(r.facts['proxy.delayed']) >= PROMOTIONS, `answers were delayed (${r.facts['proxy.delayed']})`);
    assert.ok(Number(r.facts['attempts.prodSign']) >= 2, `prod sign retried after its requests timed out (attempt ${r.facts['attempts.prodSign']})`);
    assertAllPromotedOnce(r, PROMOTIONS);
  });
});
