/**
 * What a fault scenario is, and the pieces every scenario is made of: a promotion prepared before
 * the worker starts (its target must be in the worker's configuration), started, approved at the
 * gate, and waited for until it ends.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { getPromotionStatus, waitForPromotion } from '../../src/client/promotions';
import { buildImageFromDirectory } from '../../src/oci/build';
import { buildFacts } from '../../test/support/env';
import { waitRevoting } from '../../test/support/revote';
import type { HoldingProxy } from '../../test/support/holding-proxy';
import { stepsOf } from '../../src/client/history-steps';
import type { Run } from './measure';
import type { FaultStack } from './stack';

export interface ScenarioOptions {
  /** How many promotions (each scenario has its own default; some fix their own count). */
  promotions?: number;
  /** Progress lines (the runner prints them on stderr). */
  log?: (line: string) => void;
}

/** A scenario's promotions once they ended, and facts its test asserts on. */
export interface ScenarioOutcome {
  runs: Run[];
  facts?: Record<string, number | string>;
}

export interface Scenario {
  name: string;
  /** In the short subset CI runs (test/faults) and `npm run faults -- --short`. */
  short: boolean;
  /** Faults the whole stack (a killed worker or server, a stopped registry or KMS): runs alone on its stack. */
  exclusive: boolean;
  /** Adds its targets to the worker's configuration; the worker starts after every scenario on the stack prepared. */
  prepare(stack: FaultStack, options: ScenarioOptions): Promise<() => Promise<ScenarioOutcome>>;
}

/** A promotion prepared before the worker starts: its target, its source and (known in advance) its digest. */
export interface Prepared {
  name: string;
  dir: string;
  digest: string;
  target: string;
  repository: string;
  releaseTag: string;
  platformPem: string;
  proxy?: HoldingProxy;
}

/**
 * A promotion of its own source (so its own digest) to a target of its own, reaching the
 * registry through `proxy` when given; `overrides` change the target (a KMS platform key).
 */
export async function prepareRun(
  stack: FaultStack,
  name: string,
  options: { proxy?: HoldingProxy; overrides?: Record<string, unknown>; platformPem?: string; source?: string; repository?: string } = {},
): Promise<Prepared> {
  const dir = options.source ?? (await stack.source(name));
  const digest = (await buildImageFromDirectory(dir)).digest;
  const repository = options.repository ?? 'apps/hello';
  const releaseTag = `prod-${name}`;
  const host = options.proxy?.address ?? stack.env.stack.registry.address;
  stack.target(name, { repository: `${host}/${repository}`, releaseTag, ...options.overrides });
  const platformPem = options.platformPem ?? (await fs.readFile(path.join(stack.env.keysDir, 'platform.pub'), 'utf8'));
  return { name, dir, digest, target: name, repository, releaseTag, platformPem, proxy: options.proxy };
}

export async function startRun(stack: FaultStack, p: Prepared): Promise<Run> {
  const started = await stack.env.promote({ target: p.target, source: { directory: p.dir }, build: buildFacts() });
  if (started.digest !== p.digest) throw new Error(`${p.name}: built ${started.digest}, expected ${p.digest}`);
  return { id: started.promotionId, digest: p.digest, repository: p.repository, releaseTag: p.releaseTag, platformPem: p.platformPem };
}

/** Waits for the run to park at the gate; false when it ended before (its state is then recorded). */
export async function reachGate(stack: FaultStack, run: Run): Promise<boolean> {
  const status = await waitForPromotion(stack.env.client, run.id, { until: (s) => s.state === 'AWAITING_APPROVAL' || isTerminal(s.state), pollMs: 200 });
  if (status.state === 'AWAITING_APPROVAL') return true;
  run.state = status.state;
  run.error = status.error;
  return false;
}

export async function approve(stack: FaultStack, run: Run): Promise<void> {
  await stack.env.decideAs(run.id, 'alice', 'approve');
}

/** Parks every run at the gate and approves it there. */
export async function approveAtGate(stack: FaultStack, runs: Run[]): Promise<void> {
  await Promise.all(runs.map(async (run) => (await reachGate(stack, run)) && approve(stack, run)));
}

/** Waits until every run ended and records how. */
export async function settle(stack: FaultStack, runs: Run[]): Promise<Run[]> {
  await Promise.all(
    runs.map(async (run) => {
      // Runs of one digest see each other's provenance land: alice votes again when her vote is dropped.
      const status = await waitRevoting(stack.env, run.id, 'alice', { pollMs: 500 });
      run.state = status.state;
      run.error = status.error;
    }),
  );
  return runs;
}

export async function stateOf(stack: FaultStack, run: Run): Promise<string> {
  return (await getPromotionStatus(stack.env.client, run.id)).state;
}

function isTerminal(state: string): boolean {
  return ['PROMOTED', 'REJECTED', 'EXPIRED', 'FAILED', 'REFUSED'].includes(state);
}

/**
 * The highest attempt each activity type reached across the runs, from their histories
 * (`attempts.<activity>`): how long a fault was retried through.
 */
export async function attempts(stack: FaultStack, runs: Run[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const run of runs) {
    const events = (await stack.env.client.workflow.getHandle(run.id).fetchHistory()).events ?? [];
    for (const step of stepsOf(events)) {
      const key = `attempts.${step.name}`;
      out[key] = Math.max(out[key] ?? 0, step.attempt);
    }
  }
  return out;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
