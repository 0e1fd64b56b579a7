/**
 * Registry faults: the registry process stopped for 30 s or 3 minutes (after build, at the gate,
 * during production signing), and, through a fault proxy, a registry answering 500, 429 with
 * Retry-After, or answering later than the heartbeat timeout, for a while.
 */
import { BOUNDARIES, boundaryUrls } from '../boundaries';
import type { FaultAnswer, ProxyRule } from '../../../test/support/holding-proxy';
import { approve, approveAtGate, attempts, prepareRun, reachGate, settle, sleep, startRun, type Prepared, type Scenario } from '../scenario';

const boundary = (name: string) => BOUNDARIES.find((b) => b.name === name)!;

type OutageAt = 'after-build' | 'at-gate' | 'prod-sign';

/** The registry process is stopped at `at`, stays down `downMs`, and comes back on its port with its data. */
export function registryDown(label: string, downMs: number, at: OutageAt): Scenario {
  return {
    name: `registry-down-${label}-${at}`,
    short: false,
    exclusive: true,
    prepare: async (stack, options) => {
      const prepared: Prepared[] = [];
      for (let i = 0; i < (options.promotions ?? 3); i++) prepared.push(await prepareRun(stack, `down-${i}`, { proxy: await stack.registryProxy() }));
      return async () => {
        // The proxies only mark the moment (attest's first read, the platform signature's write); the outage is the process being gone.
        const mark = at === 'after-build' ? boundary('attest') : at === 'prod-sign' ? boundary('prod-sign') : undefined;
        const held = prepared.map((p) => mark?.hold && p.proxy!.holdNext(mark.hold(boundaryUrls(p.repository, p.digest, p.releaseTag))));
        const runs = await Promise.all(prepared.map((p) => startRun(stack, p)));
        if (at !== 'after-build') await Promise.all(runs.map((r) => reachGate(stack, r)));
        if (at === 'prod-sign') await Promise.all(runs.map((r) => approve(stack, r)));
        await Promise.all(held);
        await stack.stopRegistry();
        for (const p of prepared) p.proxy!.dropHeld();
        if (at === 'at-gate') await Promise.all(runs.map((r) => approve(stack, r)));
        options.log?.(`registry down for ${downMs / 1000} s`);
        await sleep(downMs);
        await stack.startRegistry();
        if (at === 'after-build') await approveAtGate(stack, runs);
        await settle(stack, runs);
        return { runs, facts: await attempts(stack, runs) };
      };
    },
  };
}

/**
 * The fault proxy in front of the registry misbehaves from production signing on, until `windowMs`
 * after approval. It arms on the first write after approval: between the vote and production
 * signing the gate reads its evidence pack once more, and a fault from the vote on would be spent
 * on that read (retried through it), leaving production signing a healthy registry.
 */
function registryFault(name: string, windowMs: number, strike: (proxy: NonNullable<Prepared['proxy']>) => void): Scenario {
  return {
    name,
    short: true,
    exclusive: false,
    prepare: async (stack, options) => {
      const proxy = await stack.registryProxy();
      const prepared: Prepared[] = [];
      for (let i = 0; i < (options.promotions ?? 3); i++) prepared.push(await prepareRun(stack, `${name}-${i}`, { proxy }));
      return async () => {
        const runs = await Promise.all(prepared.map((p) => startRun(stack, p)));
        await Promise.all(runs.map((r) => reachGate(stack, r)));
        strike(proxy);
        await Promise.all(runs.map((r) => approve(stack, r)));
        await sleep(windowMs);
        proxy.heal();
        await settle(stack, runs);
        return { runs, facts: { ...(await attempts(stack, runs)), ...prefixed(proxy.faults) } };
      };
    },
  };
}

/** Every request, from the first write on (GET and HEAD before it pass). */
const fromFirstWrite = (): ProxyRule => {
  let armed = false;
  return (method) => (armed ||= method !== 'GET' && method !== 'HEAD');
};
const distributionError = (code: string, message: string): FaultAnswer['body'] => JSON.stringify({ errors: [{ code, message }] });

/** How long the registry misbehaves in the 500 and 429 scenarios. */
export const REGISTRY_ERROR_WINDOW_MS = 30_000;
/** How late a slow registry's answers arrive: past the 30 s heartbeat timeout (and the client's 30 s request timeout). */
export const REGISTRY_SLOW_ANSWER_MS = 35_000;
export const REGISTRY_SLOW_WINDOW_MS = 40_000;

export const registry500 = registryFault('registry-500', REGISTRY_ERROR_WINDOW_MS, (proxy) =>
  proxy.failWith(fromFirstWrite(), { status: 500, body: distributionError('UNKNOWN', 'fault injected: internal error') }),
);
export const registry429 = registryFault('registry-429', REGISTRY_ERROR_WINDOW_MS, (proxy) =>
  proxy.failWith(fromFirstWrite(), { status: 429, headers: { 'retry-after': '10' }, body: distributionError('TOOMANYREQUESTS', 'fault injected: slow down') }),
);
export const registrySlow = registryFault('registry-slow', REGISTRY_SLOW_WINDOW_MS, (proxy) => proxy.delayBy(fromFirstWrite(), REGISTRY_SLOW_ANSWER_MS));

export function prefixed(faults: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(faults).map(([k, v]) => [`proxy.${k}`, v]));
}
