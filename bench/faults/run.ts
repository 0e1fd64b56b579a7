/**
 * Runs scenarios on one fault stack: each prepares its targets, one worker process starts, then
 * the scenarios that fault only their own proxies run at once and those that fault the whole
 * stack run one after another. Each is measured on the real registry as soon as it ends.
 */
import { measure, type ScenarioResult } from './measure';
import type { Scenario, ScenarioOptions } from './scenario';
import type { FaultStack } from './stack';

export async function runOnStack(stack: FaultStack, scenarios: Scenario[], options: ScenarioOptions = {}): Promise<ScenarioResult[]> {
  const ready: Array<{ scenario: Scenario; go: Awaited<ReturnType<Scenario['prepare']>> }> = [];
  for (const scenario of scenarios) ready.push({ scenario, go: await scenario.prepare(stack, options) });
  await stack.startWorker();
  const one = async ({ scenario, go }: (typeof ready)[number]) => {
    options.log?.(`${scenario.name}: started`);
    const began = Date.now();
    const outcome = await go();
    const result = await measure(stack, scenario.name, outcome.runs, { seconds: (Date.now() - began) / 1000, facts: outcome.facts });
    options.log?.(`${scenario.name}: ${result.promoted}/${result.promotions} PROMOTED, ${result.lost} lost, ${result.duplicate} duplicate (${result.seconds} s) ${JSON.stringify(result.facts)}`);
    return result;
  };
  const results = await Promise.all(ready.filter((r) => !r.scenario.exclusive).map(one));
  for (const r of ready.filter((x) => x.scenario.exclusive)) results.push(await one(r));
  return scenarios.map((s) => results.find((r) => r.scenario === s.name)!);
}

/** Platform signatures per image as a short text: "1 (x3)" when every image has one. */
export function signaturesText(counts: number[]): string {
  const groups = new Map<number, number>();
  for (const c of counts) groups.set(c, (groups.get(c) ?? 0) + 1);
  return [...groups.entries()].map(([count, images]) => `${count} (x${images})`).join(', ');
}

export function resultTable(results: ScenarioResult[]): string {
  const header = ['scenario', 'promotions', 'PROMOTED', 'FAILED cleanly', 'platform signatures per image', 'lost', 'duplicate', 'stock cosign', 'seconds'];
  const rows = results.map((r) => [r.scenario, r.promotions, r.promoted, r.failedCleanly, signaturesText(r.signaturesPerImage), r.lost, r.duplicate, r.cosign, r.seconds]);
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? ':---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Whether a result keeps the promises: nothing lost, nothing signed twice, stock cosign agreeing. */
export function holds(r: ScenarioResult): boolean {
  return !r.error && r.lost === 0 && r.duplicate === 0 && !r.cosign.startsWith('DISAGREES');
}
