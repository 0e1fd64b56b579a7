/**
 * The gate's evidence binding on its own (workflows/gate-evidence.ts, no Temporal API in it): which
 * statement is refused with which code, which votes a pack change drops, and what a continued
 * run carries. The gate on a real server is test/workflows/evidence-quorum.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordedVote } from '../../workflows/approval-messages';
import { EvidenceBinding, nextEvidenceCheck } from '../../workflows/gate-evidence';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const C = `sha256:${'c'.repeat(64)}`;

function vote(approver: string, evidence?: string, decision: 'approve' | 'reject' = 'approve'): RecordedVote {
  return { approver, decision, signedAt: 't', acceptedAt: 't', ...(evidence ? { evidence } : {}), signed: { statement: '{}', signature: '' }, keyFingerprint: 'f' };
}

describe('evidence binding', () => {
  it('a gate that shows no pack takes statements without one, and refuses one that names a pack', () => {
    const binding = new EvidenceBinding();
    assert.equal(binding.refusal(undefined), undefined);
    assert.deepEqual(binding.refusal(A), { type: 'EVIDENCE_UNKNOWN', message: `the statement names evidence pack ${A}, but this gate shows none: sign without one` });
  });

  it('counts a statement over the pack shown; refuses one over an earlier pack (STALE), none (STALE) or any other (UNKNOWN)', () => {
    const binding = new EvidenceBinding();
    assert.deepEqual(binding.found({ digest: A, release: { digest: C } }, [], 'T0'), []);
    assert.equal(binding.refusal(A), undefined);
    assert.equal(binding.refusal(undefined)?.type, 'EVIDENCE_STALE');
    assert.deepEqual(binding.refusal(B), { type: 'EVIDENCE_UNKNOWN', message: `signed over ${B}, which is no pack this gate has shown; current ${A}` });
    binding.found({ digest: B, release: {} }, [], 'T1');
    assert.deepEqual(binding.refusal(A), { type: 'EVIDENCE_STALE', message: `signed over ${A}, current ${B} (changed T1): read the pack again and sign over it` });
    assert.equal(binding.refusal(B), undefined);
    // A value that is not even a string is refused, and not echoed at length.
    assert.equal(binding.refusal({ digest: B })?.type, 'EVIDENCE_UNKNOWN');
    assert.ok(binding.refusal('x'.repeat(10_000))!.message.length < 300);
  });

  it('a change drops every vote not signed over the new pack, approvals and rejections alike, and keeps the release pinned at the first read', () => {
    const binding = new EvidenceBinding();
    binding.found({ digest: A, release: { digest: C } }, [], 'T0');
    const votes = [vote('alice', A), vote('bob', A, 'reject'), vote('old-run')];
    assert.deepEqual(binding.found({ digest: A, release: { digest: C } }, votes, 'T1'), [], 'the same pack drops nothing');
    assert.equal(binding.current?.checkedAt, 'T1');
    assert.equal(votes.length, 3);
    const dropped = binding.found({ digest: B, release: {} }, votes, 'T2');
    assert.deepEqual(dropped.map((v) => v.approver), ['alice', 'bob', 'old-run']);
    assert.deepEqual(votes, [], 'dropped in place');
    assert.deepEqual(binding.current, { digest: B, release: { digest: C }, checkedAt: 'T2', changedAt: 'T2', earlier: [A], failedChecks: 0 });
    assert.deepEqual(
      binding.dropped.map((d) => [d.approver, d.decision, d.evidence, d.why]),
      [
        ['alice', 'approve', A, `signed over evidence pack ${A}; the pack is now ${B}`],
        ['bob', 'reject', A, `signed over evidence pack ${A}; the pack is now ${B}`],
        ['old-run', 'approve', undefined, `signed over evidence pack ${A}; the pack is now ${B}`],
      ],
    );
    // A vote over the new pack survives the next change only if it names that one.
    const next = [vote('carol', B)];
    binding.found({ digest: C, release: {} }, next, 'T3');
    assert.deepEqual(next, []);
    assert.deepEqual(binding.current?.earlier, [A, B]);
  });

  it('a continued run carries the pack, what it showed before and the dropped votes; a failed read is counted', () => {
    const binding = new EvidenceBinding();
    binding.found({ digest: A, release: {} }, [], 'T0');
    binding.found({ digest: B, release: {} }, [vote('alice', A)], 'T1');
    binding.failed();
    const next = new EvidenceBinding();
    next.resume(JSON.parse(JSON.stringify(binding.carry())));
    assert.deepEqual(next.current, binding.current);
    assert.equal(next.current?.failedChecks, 1);
    assert.deepEqual(next.dropped, binding.dropped);
    assert.equal(next.refusal(A)?.type, 'EVIDENCE_STALE');
    // A run handed over by an earlier version carries none: the next read sets the pack.
    const fromOld = new EvidenceBinding();
    fromOld.resume(undefined);
    assert.equal(fromOld.current, undefined);
  });

  it('spreads each gate\'s next read over 0.75 to 1.25 of the interval, the same on replay, different from gate to gate', () => {
    const hour = 3_600_000;
    const at = Date.parse('2026-11-26T18:00:00Z');
    const offsets = Array.from({ length: 2000 }, (_, i) => nextEvidenceCheck(`promote-prod-${i}`, at, hour) - at);
    for (const offset of offsets) assert.ok(offset >= 0.75 * hour && offset <= 1.25 * hour, `${offset} ms is outside 45 to 75 minutes`);
    // Gates parked in the same second wake across the whole window, not together.
    const minutes = new Set(offsets.map((o) => Math.floor(o / 60_000)));
    assert.ok(minutes.size >= 29, `${minutes.size} distinct minutes of 30`);
    assert.equal(nextEvidenceCheck('promote-prod-7', at, hour), at + offsets[7], 'a replay computes the same time');
    // The next read after that one is spread again, not on the same offset.
    const later = offsets.map((o, i) => nextEvidenceCheck(`promote-prod-${i}`, at + o, hour) - (at + o));
    assert.ok(later.filter((o, i) => o !== offsets[i]).length > 1900);
  });
});
