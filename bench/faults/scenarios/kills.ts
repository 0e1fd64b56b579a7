/**
 * Processes killed mid-promotion: the worker (kill -9) at every step boundary, and the Temporal dev
 * server (SIGKILL, then started again on the same database file and port) while steps run and while
 * promotions are parked at the gate.
 */
import { BOUNDARIES, boundaryUrls, type Boundary } from '../boundaries';
import type { Run } from '../measure';
import { approve, approveAtGate, prepareRun, reachGate, settle, sleep, startRun, stateOf, type Prepared, type Scenario } from '../scenario';
import type { FaultStack } from '../stack';

/** How long the Temporal server stays dead before it is started again. */
const TEMPORAL_DOWN_MS = 5_000;

/**
 * One promotion per boundary, each held there by its own registry proxy (or parked at the gate);
 * once every one is in place, `fault` strikes; then each run is approved where it was not yet and
 * waited for.
 */
function atBoundaries(name: string, short: boolean, boundaries: Boundary[], fault: (stack: FaultStack, prepared: Prepared[]) => Promise<void>): Scenario {
  return {
    name,
    short,
    exclusive: true,
    prepare: async (stack) => {
      const prepared: Prepared[] = [];
      for (const b of boundaries) prepared.push(await prepareRun(stack, `${name}-${b.name}`, { proxy: await stack.registryProxy() }));
      return async () => {
        const held = boundaries.map((b, i) => {
          const p = prepared[i];
          return b.hold ? p.proxy!.holdNext(b.hold(boundaryUrls(p.repository, p.digest, p.releaseTag))) : undefined;
        });
        const runs: Run[] = [];
        for (const p of prepared) runs.push(await startRun(stack, p));
        await Promise.all(
          boundaries.map(async (b, i) => {
            if (b.approveFirst || !held[i]) await reachGate(stack, runs[i]);
            if (b.approveFirst) await approve(stack, runs[i]);
            await held[i];
          }),
        );
        // Asked all at once: a run held inside a local step answers only at its workflow task's next
        // heartbeat (up to 8 s), and one after another the last held request would time out first.
        const states = await Promise.all(runs.map((run) => stateOf(stack, run)));
        const misplaced = boundaries.filter((b, i) => states[i] !== b.state).length;
        await fault(stack, prepared);
        await approveAtGate(stack, runs.filter((_, i) => !boundaries[i].approveFirst));
        return { runs: await settle(stack, runs), facts: { misplaced } };
      };
    },
  };
}

export const workerKill = atBoundaries('worker-kill', false, BOUNDARIES, async (stack, prepared) => {
  await stack.killWorkers();
  for (const p of prepared) p.proxy!.dropHeld();
  await stack.startWorker();
});

export const temporalRestartMidStep = atBoundaries(
  'temporal-restart-mid-step',
  true,
  BOUNDARIES.filter((b) => b.hold),
  async (stack, prepared) => {
    await stack.killTemporal();
    // The held steps go on and finish while the server is dead: their completions have nowhere to go.
    for (const p of prepared) p.proxy!.releaseHeld();
    await sleep(TEMPORAL_DOWN_MS);
    await stack.restartTemporal();
  },
);

export const temporalRestartParked: Scenario = {
  name: 'temporal-restart-parked',
  short: true,
  exclusive: true,
  prepare: async (stack, options) => {
    const prepared: Prepared[] = [];
    for (let i = 0; i < (options.promotions ?? 5); i++) prepared.push(await prepareRun(stack, `parked-${i}`));
    return async () => {
      const runs = await Promise.all(prepared.map((p) => startRun(stack, p)));
      const parked = (await Promise.all(runs.map((r) => reachGate(stack, r)))).filter(Boolean).length;
      await stack.killTemporal();
      await sleep(TEMPORAL_DOWN_MS);
      await stack.restartTemporal();
      await approveAtGate(stack, runs);
      return { runs: await settle(stack, runs), facts: { parked } };
    };
  },
};
