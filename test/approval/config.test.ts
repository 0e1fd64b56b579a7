/**
 * Reminder bounds by gate: a gate that keeps its whole history in one run (chart releases,
 * ceremonies, campaigns) may not be asked for more reminders than that history holds; a
 * promotion's gate continues as new, so any rate the floor allows is fine there.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseApproval } from '../../src/approval/config';
import { MAX_REMINDERS_ONE_HISTORY } from '../../src/limits';

const roster = { alice: { publicKey: '/dev/null', identities: [], signingKeys: [] } } as never;
const problems = (raw: Record<string, unknown>, options?: { continuesAsNew?: boolean }) => {
  const found: string[] = [];
  parseApproval({ approvers: ['alice'], ...raw }, 'charts.web.approval', roster, (field, problem) => found.push(`${field}: ${problem}`), options);
  return found;
};

test('a one-history gate refuses more reminders than its history holds, and says how often it may remind', () => {
  assert.deepEqual(problems({ deadline: '90d', reminderEvery: '1m' }), [
    `charts.web.approval.reminderEvery: 1m until the deadline (90d) is 129600 reminders; this gate keeps its whole history in one run, where at most ${MAX_REMINDERS_ONE_HISTORY} fit: remind at most every 65m or shorten the deadline`,
  ]);
  assert.deepEqual(problems({ deadline: '90d', reminderEvery: '65m' }), []);
  assert.deepEqual(problems({ deadline: '24h', reminderEvery: '1m' }), []);
});

test("a promotion's gate, which continues as new, takes any rate the one-minute floor allows", () => {
  assert.deepEqual(problems({ deadline: '90d', reminderEvery: '1m' }, { continuesAsNew: true }), []);
});
