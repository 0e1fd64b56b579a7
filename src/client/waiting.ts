/**
 * Promotions and chart releases parked at the approval gate, each with its gate's view (groups,
 * deadline, votes): what the approval console's first page lists.
 */
import type { Client } from '@temporalio/client';
import type { ApprovalView } from '../../workflows/approval-messages';
import { getApproval, listPromotions, type PromotionSummary } from './promotions';

/** The most runs the console lists at once. */
export const WAITING_LIMIT = 200;

export interface WaitingRun extends PromotionSummary {
  /** Undefined when the gate did not answer (the run moved on meanwhile, or no worker answered). */
  approval?: ApprovalView;
}

export async function listWaiting(client: Client, limit = WAITING_LIMIT): Promise<WaitingRun[]> {
  const parked = await listPromotions(client, { state: 'AWAITING_APPROVAL', kind: 'all', limit });
  // A run terminated at the gate keeps its last state attribute; only running ones are waiting.
  return Promise.all(
    parked.filter((run) => run.closedAt === undefined).map(async (run) => {
      try {
        return { ...run, approval: await getApproval(client, run.promotionId) };
      } catch {
        return run;
      }
    }),
  );
}
