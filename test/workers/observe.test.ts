/**
 * The worker's metrics from real promotions on a real Temporal dev server and registry: what a
 * promotion counts, and that nothing a caller writes becomes a label.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { waitForPromotion } from '../../src/client/promotions';
import { keyFingerprint } from '../../src/keys/public-key';
import { CountersignMetrics, UNRESOLVED } from '../../src/metrics/metrics';
import { PROMOTION_WORKFLOW_TYPE, TASK_QUEUE } from '../../src/temporal-names';
import { buildFacts, copyDir, useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

/** Every sample of one metric as "label=value,..." -> value. */
async function samples(metrics: CountersignMetrics, name: string): Promise<Map<string, number>> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const out = new Map<string, number>();
  for (const v of (await metric.get()).values) {
    const labels = Object.entries(v.labels)
      .filter(([k]) => k !== 'le')
      .map(([k, val]) => `${k}=${val}`)
      .sort()
      .join(',');
    const key = 'metricName' in v && v.metricName ? `${v.metricName}{${labels}}` : `{${labels}}`;
    out.set(key, (out.get(key) ?? 0) + v.value);
  }
  return out;
}

describe('worker metrics from real promotions', () => {
  const env = useTestEnv({ worker: false });
  let metrics: CountersignMetrics;
  before(async () => {
    metrics = new CountersignMetrics({ knownTargets: () => Object.keys(env.config.targets) });
    await env.startWorker({ metrics });
  });

  it('counts a promoted run: started and ended by target, the gate wait, each step, both signatures by fingerprint', async () => {
    const started = await env.promote({ source: { directory: HELLO }, build: buildFacts() });
    await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(started.promotionId, 'alice', 'approve', 'fine');
    assert.equal((await waitForPromotion(env.client, started.promotionId)).state, 'PROMOTED');

    assert.equal((await samples(metrics, 'countersign_promotions_started_total')).get('{target=prod}'), 1);
    assert.equal((await samples(metrics, 'countersign_promotions_ended_total')).get('{state=PROMOTED,target=prod}'), 1);
    const gate = await samples(metrics, 'countersign_approval_wait_seconds');
    assert.equal(gate.get('countersign_approval_wait_seconds_count{outcome=succeeded,target=prod}'), 1);
    assert.ok((gate.get('countersign_approval_wait_seconds_sum{outcome=succeeded,target=prod}') ?? -1) >= 0);

    const steps = await samples(metrics, 'countersign_step_duration_seconds');
    for (const step of ['authorize', 'checkKeys', 'build', 'attestImage', 'devSign', 'platformVerify', 'prodSign', 'release']) {
      assert.equal(steps.get(`countersign_step_duration_seconds_count{outcome=ok,step=${step}}`), 1, `${step}: ${JSON.stringify([...steps])}`);
    }

    const dev = keyFingerprint(await fs.readFile(path.join(env.keysDir, 'dev.pub'), 'utf8'));
    const platform = keyFingerprint(await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8'));
    const signatures = await samples(metrics, 'countersign_signatures_total');
    assert.equal(signatures.get(`{fingerprint=${dev},role=developer}`), 1);
    assert.equal(signatures.get(`{fingerprint=${platform},role=production}`), 1);
  });

  it('counts a rejection at platform verify by the codes of its failed checks, with no gate wait', async () => {
    const dir = await copyDir(HELLO, path.join(env.dir, 'metrics-mismatch'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'metrics-mismatch\n');
    const started = await env.promote({ source: { directory: dir }, build: buildFacts({ sourceRepo: 'https://github.com/evil/fork' }) });
    assert.equal((await waitForPromotion(env.client, started.promotionId)).state, 'REJECTED');
    assert.equal((await samples(metrics, 'countersign_promotions_ended_total')).get('{state=REJECTED,target=prod}'), 1);
    assert.equal((await samples(metrics, 'countersign_verification_refusals_total')).get('{code=POLICY_MISMATCH}'), 1);
    const gate = await samples(metrics, 'countersign_approval_wait_seconds');
    assert.equal(gate.get('countersign_approval_wait_seconds_count{outcome=rejected,target=prod}'), undefined);
  });

  it('a refused start counts under its step failure code, and a target the worker does not know is never a label', async () => {
    // Three starts for targets no configuration names: one series, not three.
    for (const target of ['made-up-1', 'made-up-2', 'made-up-3']) {
      const started = await env.promote({ target, source: { directory: HELLO }, build: buildFacts() });
      assert.equal((await waitForPromotion(env.client, started.promotionId)).state, 'REFUSED');
    }
    const ended = await samples(metrics, 'countersign_promotions_ended_total');
    assert.equal(ended.get(`{state=REFUSED,target=${UNRESOLVED}}`), 3);
    assert.ok(![...ended.keys()].some((k) => k.includes('made-up')), JSON.stringify([...ended]));
    const started = await samples(metrics, 'countersign_promotions_started_total');
    assert.ok(![...started.keys()].some((k) => k.includes('made-up')));
    const failures = await samples(metrics, 'countersign_step_failures_total');
    assert.ok((failures.get('{code=UNKNOWN_TARGET,step=authorize}') ?? 0) >= 3, JSON.stringify([...failures]));
  });

  it('a workflow started by hand with a made-up state and target in its input adds no label of its own', async () => {
    const handle = await env.client.workflow.start(PROMOTION_WORKFLOW_TYPE, {
      taskQueue: TASK_QUEUE,
      workflowId: `metrics-forged-${Date.now()}`,
      args: [{ request: { statement: '{"target":"forged-target-name"}', signature: 'x', keyId: 'y' } }],
    });
    const result = (await handle.result()) as { state: string };
    assert.equal(result.state, 'REFUSED');
    for (const name of ['countersign_promotions_ended_total', 'countersign_promotions_started_total', 'countersign_step_failures_total']) {
      const all = [...(await samples(metrics, name)).keys()].join(' ');
      assert.ok(!all.includes('forged'), `${name}: ${all}`);
    }
  });
});
