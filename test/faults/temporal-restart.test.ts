/**
 * The Temporal dev server SIGKILLed and started again on the same database file and port, on the
 * real stack with the worker as its own process: while steps run (a promotion held inside each
 * step by a proxy in front of the registry, released while the server is dead, so each step ends
 * with nowhere to report) and with promotions parked at the gate (approved after the restart).
 * Every promotion ends PROMOTED with exactly one platform signature, and stock cosign counts the
 * same signatures. The scenarios are the ones `npm run faults` runs (bench/faults).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ScenarioResult } from '../../bench/faults/measure';
import { runOnStack } from '../../bench/faults/run';
import { temporalRestartMidStep, temporalRestartParked } from '../../bench/faults/scenarios/kills';
import { startFaultStack, type FaultStack } from '../../bench/faults/stack';
import { BOUNDARIES } from '../../bench/faults/boundaries';
import { requireTool } from '../../src/stack/tools';
import { assertAllPromotedOnce } from './expect';

const PARKED = 3;

describe('the Temporal server killed (SIGKILL) and restarted on its database', () => {
  let stack: FaultStack;
  let results: ScenarioResult[];

  before(async () => {
    // npm test installs cosign first: a missing one is a broken toolchain, never a pass.
    requireTool('cosign');
    stack = await startFaultStack();
    results = await runOnStack(stack, [temporalRestartMidStep, temporalRestartParked], { promotions: PARKED });
  });
  after(async () => {
    await stack?.close();
  });

  it('mid-promotion, inside every step: each promotion PROMOTED once signed, as stock cosign counts too', () => {
    const [mid] = results;
    const held = BOUNDARIES.filter((b) => b.hold).length;
    assert.equal(mid.facts.misplaced, 0, 'every promotion was inside its step when the server died');
    assertAllPromotedOnce(mid, held);
    assert.equal(mid.cosign, `agrees (${held})`);
  });

  it('with promotions parked at the gate: approved after the restart, each PROMOTED with one platform signature', () => {
    const [, parked] = results;
    assert.equal(parked.facts.parked, PARKED, 'all were at the gate when the server died');
    assertAllPromotedOnce(parked, PARKED);
    assert.equal(parked.cosign, `agrees (${PARKED})`);
  });
});
