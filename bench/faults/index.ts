/** The fault matrix, in the order `npm run faults` runs it. */
import { oneDigestManyTargets, sameTriggerTenTimes } from './scenarios/concurrency';
import { temporalRestartMidStep, temporalRestartParked, workerKill } from './scenarios/kills';
import { kmsDown, kmsSlow, kmsThrottled } from './scenarios/kms';
import { registry429, registry500, registryDown, registrySlow } from './scenarios/registry';
import type { Scenario } from './scenario';

const OUTAGES = [
  ['30s', 30_000],
  ['3m', 180_000],
] as const;

export const SCENARIOS: Scenario[] = [
  workerKill,
  temporalRestartMidStep,
  temporalRestartParked,
  ...OUTAGES.flatMap(([label, ms]) => (['after-build', 'at-gate', 'prod-sign'] as const).map((at) => registryDown(label, ms, at))),
  registry500,
  registry429,
  registrySlow,
  kmsDown,
  kmsThrottled,
  kmsSlow,
  oneDigestManyTargets,
  sameTriggerTenTimes,
];

export function scenario(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (!found) throw new Error(`no fault scenario ${JSON.stringify(name)}; one of: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return found;
}
