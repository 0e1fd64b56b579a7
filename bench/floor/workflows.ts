/**
 * The floor: a workflow of a promotion's shape with none of its work. Five no-op activities, a gate
 * that one update opens, two more no-op activities: what Temporal itself costs per promotion on
 * this machine, the yardstick `npm run bench` divides countersign's figures by.
 */
import { condition, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';
import type { FloorActivities } from './activities';

export const FLOOR_TASK_QUEUE = 'countersign-bench-floor';
/** Returns once the gate is open and the approval is taken, so the client needs no polling. */
export const floorApprove = defineUpdate<void>('approve');
/**
 * Returns once the gate is open, as countersign's waitForGate does: for BENCH_FLOOR_VOTE=at-gate,
 * a floor whose client votes after the gate opens, as an approver must (docs/benchmarks.md).
 */
export const floorWaitForGate = defineUpdate<void>('waitForGate');

const { step } = proxyActivities<FloorActivities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 3 } });

export async function floorPromotion(): Promise<string> {
  let gateOpen = false;
  let approved = false;
  setHandler(floorApprove, async () => {
    await condition(() => gateOpen);
    approved = true;
  });
  setHandler(floorWaitForGate, () => condition(() => gateOpen));
  for (const name of ['authorize', 'build', 'attest', 'developer-sign', 'verify']) await step(name);
  gateOpen = true;
  if (!(await condition(() => approved, '1 hour'))) return 'EXPIRED';
  for (const name of ['production-sign', 'record']) await step(name);
  return 'PROMOTED';
}
