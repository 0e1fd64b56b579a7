/**
 * Waiting for a promotion to end while an approver keeps their vote current. A gate drops a vote
 * when its evidence pack changes after the vote was signed (docs/approvals.md, "Votes count over
 * the pack they saw"), and the approver is asked to vote again. Promotions of one digest do this to
 * each other: each run's developer-signed provenance lands on the shared digest, so a pack read
 * when one gate opened may gain another run's statement by the time its quorum is met. Tests that
 * promote one digest many times vote again as a person would, a bounded number of times.
 */
import { waitForPromotion } from '../../src/client/promotions';
import type { PromotionStatus } from '../../workflows/promotion-messages';
import type { TestEnv } from './env';

const ENDED = new Set(['PROMOTED', 'REJECTED', 'EXPIRED', 'FAILED', 'REFUSED']);

export async function waitRevoting(env: Pick<TestEnv, 'client' | 'decideAs'>, id: string, approver: string, options: { pollMs?: number; maxRevotes?: number } = {}): Promise<PromotionStatus> {
  const maxRevotes = options.maxRevotes ?? 5;
  for (let revotes = 0; ; revotes++) {
    const status = await waitForPromotion(env.client, id, {
      pollMs: options.pollMs ?? 200,
      until: (s) => ENDED.has(s.state) || (s.state === 'AWAITING_APPROVAL' && droppedAndNotRecast(s, approver)),
    });
    if (ENDED.has(status.state)) return status;
    if (revotes >= maxRevotes) throw new Error(`${id}: ${approver}'s vote was dropped ${revotes + 1} times (${JSON.stringify(status.approval.dropped)})`);
    try {
      await env.decideAs(id, approver, 'approve');
    } catch (err) {
      // The pack moved again between reading it and voting: the next round reads it afresh.
      if ((err as { code?: string }).code !== 'EVIDENCE_STALE') throw err;
    }
  }
}

function droppedAndNotRecast(status: PromotionStatus, approver: string): boolean {
  return (status.approval.dropped ?? []).some((d) => d.approver === approver) && !(status.approval.votes ?? []).some((v) => v.approver === approver);
}
