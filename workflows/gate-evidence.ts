/**
 * Evidence-bound quorum (docs/approvals.md, "Votes count over the pack they saw"): the digest of
 * the evidence pack the gate shows, what it showed before, and the votes that stopped counting
 * when it changed. No I/O: the pack is read by an activity; this only compares digests.
 */
import type { RecordedVote } from './approval-messages';

/** What an evidence step found: the pack's digest and the release pinned when the gate opened. */
export interface EvidenceFound {
  digest: string;
  release: { digest?: string };
}

/** The pack the gate shows (ApprovalView.evidence): what a vote must name to count. */
export interface GateEvidence extends EvidenceFound {
  /** When the gate last read the pack, and when it last found it changed. */
  checkedAt: string;
  changedAt?: string;
  /** Packs shown before this one, oldest first (at most MAX_EARLIER). */
  earlier: string[];
  /** Checks that could not read the pack (the registry down past the step's retries); the last pack read stands. */
  failedChecks: number;
}

/** A vote that counted over a pack the gate no longer shows. */
export interface DroppedVote {
  approver: string;
  decision: 'approve' | 'reject';
  evidence?: string;
  droppedAt: string;
  why: string;
}

const MAX_EARLIER = 50;
const MAX_DROPPED = 200;

/**
 * When a gate reads its pack again on its own: `everyMs` after the last read, scaled by 0.75 to
 * 1.25. The spread is drawn from the gate's id and the last read's time (workflow time), so gates
 * parked together do not all wake together, and a replay computes the same.
 */
export function nextEvidenceCheck(gateId: string, lastCheck: number, everyMs: number): number {
  let hash = 0x811c9dc5;
  for (const ch of `${gateId}@${lastCheck}`) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193);
  const spread = 0.75 + ((hash >>> 0) / 2 ** 32) * 0.5;
  return lastCheck + Math.round(everyMs * spread);
}

export class EvidenceBinding {
  current?: GateEvidence;
  dropped: DroppedVote[] = [];

  /** The refusal for a statement's `evidence`, or undefined when the vote may count. */
  refusal(signedOver: unknown): { type: 'EVIDENCE_STALE' | 'EVIDENCE_UNKNOWN'; message: string } | undefined {
    const current = this.current;
    if (!current) {
      return signedOver === undefined ? undefined : { type: 'EVIDENCE_UNKNOWN', message: `the statement names evidence pack ${String(signedOver).slice(0, 80)}, but this gate shows none: sign without one` };
    }
    if (signedOver === current.digest) return undefined;
    if (signedOver === undefined) {
      return { type: 'EVIDENCE_STALE', message: `the statement names no evidence pack; the gate shows ${current.digest}: read it (countersign evidence) and sign over it` };
    }
    if (typeof signedOver === 'string' && current.earlier.includes(signedOver)) {
      return { type: 'EVIDENCE_STALE', message: `signed over ${signedOver}, current ${current.digest} (changed ${current.changedAt}): read the pack again and sign over it` };
    }
    return { type: 'EVIDENCE_UNKNOWN', message: `signed over ${String(signedOver).slice(0, 80)}, which is no pack this gate has shown; current ${current.digest}` };
  }

  /**
   * Records what a check found. When the pack changed, every vote not signed over the new one is
   * taken out of `votes` (in place) and returned: those stop counting, and their approvers may vote again.
   */
  found(found: EvidenceFound, votes: RecordedVote[], now: string): RecordedVote[] {
    const before = this.current;
    if (!before) {
      this.current = { ...found, checkedAt: now, earlier: [], failedChecks: 0 };
      return [];
    }
    before.checkedAt = now;
    if (found.digest === before.digest) return [];
    // The release stays as pinned when the gate opened (src/evidence/pack.ts, ReleasePin).
    this.current = {
      digest: found.digest,
      release: before.release,
      checkedAt: now,
      changedAt: now,
      earlier: [...before.earlier, before.digest].slice(-MAX_EARLIER),
      failedChecks: before.failedChecks,
    };
    const stale = votes.filter((v) => v.evidence !== found.digest);
    for (const v of stale) votes.splice(votes.indexOf(v), 1);
    const why = `signed over evidence pack ${before.digest}; the pack is now ${found.digest}`;
    this.dropped.push(...stale.map((v) => ({ approver: v.approver, decision: v.decision, ...(v.evidence ? { evidence: v.evidence } : {}), droppedAt: now, why })));
    this.dropped = this.dropped.slice(-MAX_DROPPED);
    return stale;
  }

  failed(): void {
    if (this.current) this.current.failedChecks += 1;
  }

  carry(): { current?: GateEvidence; dropped: DroppedVote[] } {
    return { ...(this.current ? { current: { ...this.current, earlier: [...this.current.earlier] } } : {}), dropped: [...this.dropped] };
  }

  resume(carried: { current?: GateEvidence; dropped: DroppedVote[] } | undefined): void {
    if (!carried) return;
    if (carried.current) this.current = { ...carried.current, earlier: [...carried.current.earlier] };
    this.dropped = [...carried.dropped];
  }
}
