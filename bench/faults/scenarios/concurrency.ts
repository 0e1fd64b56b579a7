/**
 * Promotions racing each other: one digest promoted to many targets at once (every target
 * appends to the same signature manifest), and the same promotion triggered many times at once.
 */
import { buildFacts } from '../../../test/support/env';
import type { Run } from '../measure';
import { approveAtGate, prepareRun, settle, startRun, type Prepared, type Scenario } from '../scenario';

export const oneDigestManyTargets: Scenario = {
  name: 'one-digest-20-targets',
  short: false,
  exclusive: true,
  prepare: async (stack, options) => {
    const source = await stack.source('one-digest');
    const prepared: Prepared[] = [];
    for (let i = 0; i < (options.promotions ?? 20); i++) prepared.push(await prepareRun(stack, `one-digest-${i}`, { source, repository: 'apps/one-digest' }));
    return async () => {
      const runs = await Promise.all(prepared.map((p) => startRun(stack, p)));
      await approveAtGate(stack, runs);
      return { runs: await settle(stack, runs), facts: { targets: prepared.length } };
    };
  },
};

export const sameTriggerTenTimes: Scenario = {
  name: 'same-promotion-10-triggers',
  short: false,
  exclusive: true,
  prepare: async (stack, options) => {
    const p = await prepareRun(stack, 'triggered');
    const triggers = options.promotions ?? 10;
    return async () => {
      const started = await Promise.all(Array.from({ length: triggers }, () => stack.env.promote({ target: p.target, source: { directory: p.dir }, build: buildFacts() })));
      const runs: Run[] = started.map((s) => ({ id: s.promotionId, digest: s.digest, repository: p.repository, releaseTag: p.releaseTag, platformPem: p.platformPem }));
      let executions = 0;
      for await (const _ of stack.env.client.workflow.list({ query: `WorkflowId = '${runs[0].id}'` })) executions += 1;
      await approveAtGate(stack, runs.slice(0, 1));
      await settle(stack, runs);
      return { runs, facts: { triggers, executions, started: started.filter((s) => !s.attached).length, attached: started.filter((s) => s.attached).length } };
    };
  },
};
