/**
 * `npm run faults`: the fault matrix on the real stack (Temporal dev server, registry, local-kms,
 * the worker as its own process), each scenario on a fresh stack, and a table of what it left:
 * scenario, promotions, PROMOTED, FAILED cleanly, platform signatures per image, lost, duplicate,
 * and whether stock cosign counts the same signatures. Exits 1 when a promotion was lost, an image
 * was signed twice, or cosign disagreed. The figures are in docs/reliability.md.
 *
 *   npm run faults [-- --short] [--only NAME[,NAME]] [--promotions N] [--json]
 */
import { parseArgs } from 'node:util';
import type { ScenarioResult } from './measure';
import { holds, resultTable, runOnStack } from './run';
import { SCENARIOS, scenario } from './index';
import { startFaultStack } from './stack';

const USAGE = `Usage: npm run faults -- [--short] [--only NAME[,NAME...]] [--promotions N] [--json]

Runs the fault matrix on the real stack and prints a table per scenario.
  --short          only the subset CI runs as tests (test/faults)
  --only NAMES     only these scenarios (comma-separated)
  --promotions N   promotions per scenario, 1..50 (scenarios with a fixed count ignore it)
  --json           print the results as JSON instead of a table

Scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      short: { type: 'boolean' },
      only: { type: 'string' },
      promotions: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let promotions: number | undefined;
  if (values.promotions !== undefined) {
    promotions = Number(values.promotions);
    if (!Number.isInteger(promotions) || promotions < 1 || promotions > 50) {
      console.error(`--promotions: must be a whole number from 1 to 50 (got ${values.promotions.length > 12 ? 'a longer value' : JSON.stringify(values.promotions)})`);
      return 2;
    }
  }
  let selected = values.short ? SCENARIOS.filter((s) => s.short) : SCENARIOS;
  if (values.only !== undefined) {
    try {
      selected = values.only.split(',').map((name) => scenario(name.trim()));
    } catch (err) {
      console.error((err as Error).message);
      return 2;
    }
  }
  const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  const results: ScenarioResult[] = [];
  for (const s of selected) {
    const stack = await startFaultStack();
    try {
      results.push(...(await runOnStack(stack, [s], { promotions, log })));
    } catch (err) {
      // One scenario that could not run is reported as such; the others still run.
      log(`${s.name}: could not run: ${(err as Error).stack ?? err}`);
      results.push(unfinished(s.name, err));
    } finally {
      await stack.close().catch((err) => log(`${s.name}: closing the stack: ${(err as Error).message}`));
    }
  }
  if (values.json) console.log(JSON.stringify(results, null, 2));
  else {
    console.log(resultTable(results));
    for (const r of results) for (const note of r.notes) console.log(`- ${r.scenario}: ${note}`);
  }
  return results.every(holds) ? 0 : 1;
}

function unfinished(scenario: string, err: unknown): ScenarioResult {
  return { scenario, promotions: 0, promoted: 0, failedCleanly: 0, signaturesPerImage: [], lost: 0, duplicate: 0, cosign: '-', seconds: 0, facts: {}, notes: [`could not run: ${(err as Error).message}`], error: true };
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
