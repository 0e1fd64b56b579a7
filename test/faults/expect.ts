/** The exact counts a fault scenario must end with: every promotion PROMOTED, one platform signature per image, nothing lost. */
import assert from 'node:assert/strict';
import type { ScenarioResult } from '../../bench/faults/measure';

export function assertAllPromotedOnce(r: ScenarioResult, promotions: number): void {
  const what = `${r.scenario}: ${r.notes.join('; ')}`;
  assert.equal(r.promotions, promotions, what);
  assert.equal(r.promoted, promotions, `${what}: every promotion PROMOTED`);
  assert.equal(r.failedCleanly, 0, what);
  assert.equal(r.lost, 0, `${what}: nothing lost`);
  assert.equal(r.duplicate, 0, `${what}: nothing signed twice`);
  assert.deepEqual(r.signaturesPerImage, Array(promotions).fill(1), `${what}: exactly one platform signature per image`);
}
