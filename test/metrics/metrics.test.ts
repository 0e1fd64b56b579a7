import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CountersignMetrics, OTHER, UNRESOLVED, codeLabel, fingerprintLabel, stepLabel } from '../../src/metrics/metrics';

test('labels: codes, steps and fingerprints outside their shape become OTHER', () => {
  assert.equal(codeLabel('POLICY_MISMATCH'), 'POLICY_MISMATCH');
  for (const bad of ['policy_mismatch', 'A'.repeat(65), 'WRONG KEY', '', undefined, 7, '{x="y"}']) assert.equal(codeLabel(bad), OTHER, String(bad));
  assert.equal(stepLabel('prodSign'), 'prodSign');
  assert.equal(stepLabel('prod-sign"}'), OTHER);
  assert.equal(fingerprintLabel('ab'.repeat(32)), 'ab'.repeat(32));
  assert.equal(fingerprintLabel('sha256:abc'), OTHER);
});

test('a target label is one the configuration names now, else unresolved; a state outside the final ones is OTHER', async () => {
  const targets = ['prod'];
  const metrics = new CountersignMetrics({ knownTargets: () => targets });
  metrics.promotionEnded('prod', 'PROMOTED');
  metrics.promotionEnded('evil', 'PROMOTED');
  metrics.promotionEnded('prod', 'AWAITING_APPROVAL');
  metrics.promotionEnded(undefined, 'REFUSED');
  const text = await metrics.text();
  assert.match(text, /countersign_promotions_ended_total\{target="prod",state="PROMOTED"\} 1/);
  assert.match(text, new RegExp(`countersign_promotions_ended_total\\{target="${UNRESOLVED}",state="PROMOTED"\\} 1`));
  assert.match(text, /countersign_promotions_ended_total\{target="prod",state="OTHER"\} 1/);
  assert.match(text, new RegExp(`countersign_promotions_ended_total\\{target="${UNRESOLVED}",state="REFUSED"\\} 1`));
  assert.doesNotMatch(text, /evil/);
});

test('a gate wait that is negative or not a number is dropped; step failures count by code', async () => {
  const metrics = new CountersignMetrics({ knownTargets: () => ['prod'] });
  metrics.gateClosed('prod', 'succeeded', -5);
  metrics.gateClosed('prod', 'succeeded', Number.NaN);
  metrics.gateClosed('prod', 'expired', 3600);
  metrics.stepEnded('release', 0.5);
  metrics.stepEnded('release', 1.5, 'REGISTRY_UNREACHABLE');
  const text = await metrics.text();
  assert.match(text, /countersign_approval_wait_seconds_count\{target="prod",outcome="expired"\} 1/);
  assert.doesNotMatch(text, /countersign_approval_wait_seconds_count\{target="prod",outcome="succeeded"\}/);
  assert.match(text, /countersign_step_duration_seconds_count\{step="release",outcome="ok"\} 1/);
  assert.match(text, /countersign_step_duration_seconds_count\{step="release",outcome="failed"\} 1/);
  assert.match(text, /countersign_step_failures_total\{step="release",code="REGISTRY_UNREACHABLE"\} 1/);
});

test('two workers in one process keep their own counts (one registry each)', async () => {
  const a = new CountersignMetrics();
  const b = new CountersignMetrics();
  a.verificationRefused('WRONG_KEY');
  assert.match(await a.text(), /countersign_verification_refusals_total\{code="WRONG_KEY"\} 1/);
  assert.doesNotMatch(await b.text(), /WRONG_KEY/);
});

test('registry requests are counted by method; anything else is OTHER, so a label never grows', async () => {
  const m = new CountersignMetrics();
  for (const method of ['GET', 'GET', 'PUT', 'PROPFIND', undefined]) m.registryRequest(method);
  const text = await m.text();
  assert.match(text, /countersign_registry_requests_total\{method="GET"\} 2/);
  assert.match(text, /countersign_registry_requests_total\{method="PUT"\} 1/);
  assert.match(text, /countersign_registry_requests_total\{method="OTHER"\} 2/);
  assert.doesNotMatch(text, /PROPFIND/);
});
