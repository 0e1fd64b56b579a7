/**
 * KMS faults, with the platform key in local-kms: KMS stopped at approval and started again,
 * KMS answering ThrottlingException for a while, and Sign answers slower than a queued step's
 * heartbeat timeout and several of the workflow task's heartbeats, which keep the local prod sign
 * alive (trickled in by the fault proxy, so no client timeout cuts them off).
 */
import { approve, attempts, prepareRun, reachGate, settle, sleep, startRun, type Prepared, type Scenario } from '../scenario';
import type { FaultStack } from '../stack';
import type { HoldingProxy } from '../../../test/support/holding-proxy';
import { prefixed } from './registry';

export const KMS_DOWN_MS = 60_000;
export const KMS_THROTTLE_WINDOW_MS = 30_000;
/** Longer than a queued prodSign's 30 s heartbeat timeout, and than several 8 s heartbeats of the workflow task running it locally. */
export const KMS_STALL_MS = 45_000;

const isSign = (_m: string, _u: string, headers: Record<string, unknown>) => headers['x-amz-target'] === 'TrentService.Sign';

/** Promotions whose platform key is a local-kms key reached through one fault proxy; `strike` runs at approval. */
function kmsScenario(name: string, short: boolean, exclusive: boolean, strike: (stack: FaultStack, proxy: HoldingProxy) => Promise<void>): Scenario {
  return {
    name,
    short,
    exclusive,
    prepare: async (stack, options) => {
      const proxy = await stack.kmsProxy();
      const key = await stack.kmsKey(name, proxy);
      const prepared: Prepared[] = [];
      for (let i = 0; i < (options.promotions ?? 3); i++) {
        prepared.push(await prepareRun(stack, `${name}-${i}`, { platformPem: key.pem, overrides: { keys: { platform: { key: key.ref, publicKey: key.publicKey } } } }));
      }
      return async () => {
        const runs = await Promise.all(prepared.map((p) => startRun(stack, p)));
        await Promise.all(runs.map((r) => reachGate(stack, r)));
        await strike(stack, proxy);
        await Promise.all(runs.map((r) => approve(stack, r)));
        await settle(stack, runs);
        return { runs, facts: { ...(await attempts(stack, runs)), ...prefixed(proxy.faults), 'proxy.stalled': proxy.stalledCount } };
      };
    },
  };
}

export const kmsDown = kmsScenario('kms-down', false, true, async (stack) => {
  const kms = (await stack.kms())!;
  await kms.stop();
  setTimeout(() => void kms.restart(), KMS_DOWN_MS);
});

export const kmsThrottled = kmsScenario('kms-throttled', true, false, async (_stack, proxy) => {
  proxy.failWith(() => true, {
    status: 400,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'ThrottlingException' },
    body: JSON.stringify({ __type: 'ThrottlingException', message: 'fault injected: rate exceeded' }),
  });
  setTimeout(() => proxy.heal(), KMS_THROTTLE_WINDOW_MS);
});

export const kmsSlow = kmsScenario('kms-slow', true, false, async (_stack, proxy) => {
  const stalled = proxy.stallNext(isSign);
  void stalled.then(() => sleep(KMS_STALL_MS)).then(() => proxy.releaseStalled());
});
