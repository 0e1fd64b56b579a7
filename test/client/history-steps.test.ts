/**
 * Reading a run's steps and results from its history, in both forms a promotion's history takes:
 * committed histories recorded on the real stack before and after the short steps became local
 * activities (test/workflows/histories).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { stepsOf } from '../../src/client/history-steps';
import { activityResult } from '../../src/client/promotion-record';
import type { PromotionPlan } from '../../src/promotion/plan';
import type { VerificationReport } from '../../src/promotion/steps';

const DIR = path.resolve(__dirname, '../workflows/histories');
const eventsOf = (name: string) => historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, `${name}.json`), 'utf8'))).events ?? [];

describe('the steps of a promotion, read from its history', () => {
  it('lists queued and local steps in order, each with its attempt', () => {
    const steps = stepsOf(eventsOf('promoted'));
    assert.deepEqual(
      steps.map((s) => `${s.name}${s.local ? ' (local)' : ''}`),
      ['authorize (local)', 'checkKeys (local)', 'build (local)', 'attestImage (local)', 'devSign (local)', 'platformVerify (local)', 'evidence (local)', 'evidence (local)', 'prodSign', 'release (local)'],
    );
    for (const s of steps) assert.equal(s.attempt, 1, s.name);
    // Only queued steps have event times: scheduled, then completed.
    for (const s of steps.filter((x) => !x.local)) assert.ok(s.completedAtMs! >= s.scheduledAtMs! && s.scheduledAtMs! > 0, s.name);
    for (const s of steps.filter((x) => x.local)) assert.equal(s.scheduledAtMs, undefined, s.name);
  });

  it('reads a history from before local steps as all queued', () => {
    const steps = stepsOf(eventsOf('promoted-queued-steps'));
    assert.deepEqual(steps.map((s) => s.name), ['authorize', 'checkKeys', 'build', 'attestImage', 'devSign', 'platformVerify', 'evidence', 'evidence', 'prodSign', 'release']);
    assert.ok(steps.every((s) => !s.local));
  });

  it('finds the plan and the report the run received in either form (what `countersign evidence` and the console show)', () => {
    for (const name of ['promoted', 'promoted-queued-steps']) {
      const events = eventsOf(name);
      const plan = activityResult<PromotionPlan & { seal?: string }>(events, 'authorize');
      assert.equal(plan?.target, 'prod', name);
      assert.match(plan?.digest ?? '', /^sha256:[0-9a-f]{64}$/, name);
      assert.equal(typeof plan?.seal, 'string', `${name}: the sealed plan as the worker returned it`);
      const report = activityResult<VerificationReport>(events, 'platformVerify');
      assert.equal(report?.ok, true, name);
      assert.ok((report?.checks.length ?? 0) > 0, name);
    }
  });

  it('a step that did not complete has no result', () => {
    // verify-rejected ends at platform verify: no evidence, prod sign or release step ran.
    const events = eventsOf('verify-rejected');
    assert.equal(activityResult(events, 'prodSign'), undefined);
    assert.equal(activityResult<VerificationReport>(events, 'platformVerify')?.ok, false);
  });
});
