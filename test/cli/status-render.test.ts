import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderApproval, renderStatus } from '../../src/cli/render';
import type { ApprovalView } from '../../workflows/approval-messages';
import type { PromotionStatus } from '../../workflows/promotion-messages';

const ID = 'promote-prod-0123456789abcdef';
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** A gate half way: security met by carol, platform still short of two, alice kept out. Shaped as the `approval` query returns it. */
function blocked(): ApprovalView {
  return {
    state: 'OPEN',
    subject: { id: ID, digest: DIGEST },
    groups: [
      { name: 'platform', required: 2, have: 0, missing: 2, eligible: ['bob', 'erin'] },
      { name: 'security', required: 1, have: 1, missing: 0, eligible: ['dave'] },
    ],
    votes: [
      {
        approver: 'carol',
        decision: 'approve',
        reason: 'reviewed the SBOM',
        signedAt: '2026-11-21T21:59:58.120Z',
        acceptedAt: '2026-11-21T22:00:01.456Z',
        countedFor: 'security',
        keyFingerprint: 'c'.repeat(64),
      },
    ],
    excluded: [{ approver: 'alice', why: 'started this promotion; authored the commit' }],
    deadline: '2026-11-24T22:00:00.000Z',
    msLeft: 5 * 3_600_000,
    reminders: 1,
    notificationFailures: 0,
    summary: 'waiting for 2 more of platform',
  };
}

describe('status output: why is this approval blocked?', () => {
  it('shows group progress, who can still approve, the votes, who is excluded and why, and time left', () => {
    assert.deepEqual(renderApproval(blocked()), [
      '  approval:   open: waiting for 2 more of platform',
      '    group platform: 0/2; can still approve: bob, erin',
      '    group security: 1/1',
      '    approved by carol (for security) at 2026-11-21 22:00:01Z: reviewed the SBOM',
      '    alice may not approve: started this promotion; authored the commit',
      '    deadline 2026-11-24T22:00:00.000Z (5h left), 1 reminder(s) sent',
    ]);
  });

  it('names the evidence pack a vote must be signed over, when it changed, and the votes that stopped counting', () => {
    const first = `sha256:${'1'.repeat(64)}`;
    const second = `sha256:${'2'.repeat(64)}`;
    const changed: ApprovalView = {
      ...blocked(),
      votes: [],
      evidence: { digest: second, release: {}, checkedAt: '2026-11-22T10:00:00.500Z', changedAt: '2026-11-22T09:00:00.000Z', earlier: [first], failedChecks: 0 },
      dropped: [{ approver: 'carol', decision: 'approve', evidence: first, droppedAt: '2026-11-22T09:00:00.000Z', why: `signed over evidence pack ${first}; the pack is now ${second}` }],
    };
    const lines = renderApproval(changed);
    assert.ok(lines.includes(`    evidence pack ${second} (a vote counts signed over it; checked at 2026-11-22 10:00:00Z, changed at 2026-11-22 09:00:00Z)`), lines.join('\n'));
    assert.ok(lines.includes(`    no longer counts: carol's approve (signed over evidence pack ${first}; the pack is now ${second})`), lines.join('\n'));
    assert.ok(!renderApproval(blocked()).some((l) => /evidence pack|no longer counts/.test(l)), 'a gate that shows no pack says nothing of one');
  });

  it('says when it escalated, and stops counting down once the gate has closed', () => {
    const escalated = { ...blocked(), reminders: 3, escalatedAt: '2026-11-23T22:00:00.250Z', msLeft: 90_000 };
    assert.equal(renderApproval(escalated).at(-1), '    deadline 2026-11-24T22:00:00.000Z (90s left), 3 reminder(s) sent, escalated at 2026-11-23 22:00:00Z');

    const rejected: ApprovalView = {
      ...blocked(),
      state: 'REJECTED',
      msLeft: undefined,
      groups: [
        { name: 'platform', required: 2, have: 0, missing: 2, eligible: ['erin'] },
        { name: 'security', required: 1, have: 1, missing: 0, eligible: ['dave'] },
      ],
      votes: [
        ...blocked().votes,
        { approver: 'bob', decision: 'reject', reason: 'flaky tests', signedAt: '2026-11-21T22:10:00.000Z', acceptedAt: '2026-11-21T22:10:02.000Z', keyFingerprint: 'b'.repeat(64) },
      ],
      summary: 'rejected by bob: flaky tests',
    };
    const lines = renderApproval(rejected);
    assert.equal(lines[0], '  approval:   rejected: rejected by bob: flaky tests');
    assert.ok(lines.includes('    rejected by bob at 2026-11-21 22:10:02Z: flaky tests'), lines.join('\n'));
    assert.ok(!lines.some((l) => /deadline|left/.test(l)), `no countdown on a closed gate:\n${lines.join('\n')}`);
  });

  it('puts the approval section in the status of a waiting promotion, and leaves it out before the gate', () => {
    const status: PromotionStatus = {
      promotionId: ID,
      state: 'AWAITING_APPROVAL',
      target: 'prod',
      digest: DIGEST,
      repository: '127.0.0.1:5000/apps/hello',
      timeline: [{ step: 'approval', status: 'running', startedAt: '2026-11-21T22:00:00.000Z' }],
      checks: [],
      approval: blocked(),
    };
    const text = renderStatus(status);
    for (const line of renderApproval(status.approval)) assert.ok(text.includes(`${line}\n`), `status shows "${line.trim()}":\n${text}`);
    assert.ok(text.indexOf('approval:   open') < text.indexOf('timeline:'), 'the approval section comes before the timeline');

    const early = renderStatus({ ...status, state: 'BUILDING', approval: { ...blocked(), state: 'WAITING', summary: 'not yet at the approval step' } });
    assert.doesNotMatch(early, /approval:|can still approve|may not approve/);
  });

  it('says who started it, the pinned policy, a re-open, and what approvers should know', () => {
    const status: PromotionStatus = {
      promotionId: ID,
      state: 'AWAITING_APPROVAL',
      target: 'prod',
      digest: DIGEST,
      repository: '127.0.0.1:5000/apps/hello',
      timeline: [],
      checks: [],
      approval: blocked(),
      initiator: 'ci',
      policyDigest: `sha256:${'cd'.repeat(32)}`,
      reopenedBy: { reopener: 'dave', reason: 'fixed upstream', rejectedRunId: 'run-1' },
      notices: ['the commit author is unknown (the provenance names none): separation of duties covers the initiator and the developer key only'],
    };
    const text = renderStatus(status);
    assert.match(text, /^ {2}started by: ci \(signed start request\)$/m);
    assert.match(text, new RegExp(`^  policy: +sha256:${'cd'.repeat(32)} \\(the worker's configuration, pinned at start\\)$`, 'm'));
    assert.match(text, /^ {2}re-opened: +by dave after run run-1: fixed upstream$/m);
    assert.match(text, /^ {2}note: +the commit author is unknown/m);
  });

  it('shows a refused start with its reason and no image repository it never resolved', () => {
    const text = renderStatus({
      promotionId: ID,
      state: 'REFUSED',
      target: 'prod',
      digest: DIGEST,
      repository: '',
      timeline: [{ step: 'authorize', status: 'failed', startedAt: '2026-11-21T22:00:00.000Z', finishedAt: '2026-11-21T22:00:00.100Z', error: 'REQUEST_EXPIRED: the start request expired' }],
      checks: [],
      approval: { ...blocked(), state: 'WAITING', summary: 'not yet at the approval step' },
      error: 'REQUEST_EXPIRED: the start request expired',
    });
    assert.match(text, /^ {2}state: +REFUSED$/m);
    assert.match(text, new RegExp(`^  image: +${DIGEST}$`, 'm'));
    assert.match(text, /^ {2}\[!!\] authorize +failed/m);
  });
});
