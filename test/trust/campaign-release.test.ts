/**
 * A compromise campaign maps an OCI-only chart release's archive digest to its chart name, version
 * and OCI namespace from the release run's sealed plan only. Anyone who can reach Temporal can
 * start a run of the chart release type whose history holds a plan of their own (naming the tag
 * where they pushed a chart signed with the stolen key): an unsealed plan, one sealed for another
 * run or workflow, or a sealed plan for another archive or chart target gives nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHART_SEALS, type ChartReleasePlan } from '../../src/helm/plan';
import { sealValue } from '../../src/seal/seal';
import { chartReleaseOf } from '../../src/trust/campaign-release';
import { memoryKeyring } from '../support/sealed-plan';

describe('the chart release a campaign acts on comes from its sealed plan', () => {
  const keyring = memoryKeyring();
  const sha256 = 'a'.repeat(64);
  const run = { promotionId: 'chart-release-demo', target: 'chart:oci-only', digest: `sha256:${sha256}` };
  const firstRunId = '11111111-1111-1111-1111-111111111111';
  const plan = { target: 'oci-only', name: 'demo', version: '1.2.3', fileName: 'demo-1.2.3.tgz', sha256, publish: { oci: 'registry.example/charts', created: '2026-01-01T00:00:00Z' } } as unknown as ChartReleasePlan;
  const seal = (value: ChartReleasePlan, workflowId = run.promotionId, runId = firstRunId) => sealValue(keyring, { kind: CHART_SEALS.plan, workflowId, runId }, value);

  it("takes the name, version and OCI namespace from the worker's sealed plan", () => {
    assert.deepEqual(chartReleaseOf(keyring, run, { firstRunId, plan: seal(plan) }), { release: { name: 'demo', version: '1.2.3', oci: 'registry.example/charts', releaseId: run.promotionId } });
    const noOci = { ...plan, publish: { repositoryDir: '/srv/charts', created: plan.publish.created } };
    assert.deepEqual(chartReleaseOf(keyring, run, { firstRunId, plan: seal(noOci) }).release, { name: 'demo', version: '1.2.3', releaseId: run.promotionId });
  });

  it('a forged, moved or foreign plan gives no release, only a note saying why', () => {
    const forged = { ...plan, publish: { ...plan.publish, oci: 'registry.example/thief' } };
    const cases: Array<[string, ChartReleasePlan & { seal?: string }, RegExp]> = [
      ['no seal', forged, /^SEAL_INVALID: the chart release plan of chart-release-demo carries no worker seal/],
      ['changed after sealing', { ...forged, seal: seal(plan).seal }, /does not match its seal/],
      ["another workflow's", seal(plan, 'chart-release-other'), /does not match its seal/],
      ["another run's", seal(plan, run.promotionId, '22222222-2222-2222-2222-222222222222'), /does not match its seal/],
      ['sealed by another deployment', sealValue(memoryKeyring(), { kind: CHART_SEALS.plan, workflowId: run.promotionId, runId: firstRunId }, plan), /sealed with seal key .* which this worker does not hold/],
      ['another archive', seal({ ...plan, sha256: 'b'.repeat(64) }), new RegExp(`sealed plan is for chart:oci-only sha256:${'b'.repeat(64)}, not chart:oci-only sha256:${sha256}; not used`)],
      ['another chart target', seal({ ...plan, target: 'elsewhere' }), /sealed plan is for chart:elsewhere sha256:a+, not chart:oci-only/],
    ];
    for (const [what, given, note] of cases) {
      const out = chartReleaseOf(keyring, run, { firstRunId, plan: given });
      assert.equal(out.release, undefined, what);
      assert.match(out.note ?? '', note, what);
    }
    assert.match(chartReleaseOf(keyring, run, { firstRunId }).note ?? '', /no plan in its history/);
  });
});
