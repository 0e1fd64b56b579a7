/**
 * Promotions pinned to a key, found through visibility by the CountersignPlatformKey search
 * attribute: in flight (the retire step waits for none) or PROMOTED (what a revoked key signed).
 */
import type { Client } from '@temporalio/client';
import { CountersignError } from '../errors';
import { PROMOTION_WORKFLOW_TYPE, SEARCH_ATTRIBUTES } from '../../workflows/promotion-messages';

export interface PinnedPromotion {
  promotionId: string;
  state: string;
  target: string;
  digest: string;
  closedAt?: string;
}

export async function promotionsPinnedTo(client: Client, fingerprint: string, which: 'in-flight' | 'promoted', limit = 1000): Promise<PinnedPromotion[]> {
  if (!/^[0-9a-f]{64}$/.test(fingerprint)) throw new CountersignError('BAD_INPUT', `"${fingerprint}" is not a cosign key fingerprint`);
  const clauses = [`WorkflowType = '${PROMOTION_WORKFLOW_TYPE}'`, `${SEARCH_ATTRIBUTES.platformKey} = '${fingerprint}'`];
  clauses.push(which === 'in-flight' ? `ExecutionStatus = 'Running'` : `${SEARCH_ATTRIBUTES.state} = 'PROMOTED'`);
  const out: PinnedPromotion[] = [];
  for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
    const attr = (name: string) => String((wf.searchAttributes?.[name] as unknown[] | undefined)?.[0] ?? '');
    out.push({
      promotionId: wf.workflowId,
      state: attr(SEARCH_ATTRIBUTES.state) || wf.status.name,
      target: attr(SEARCH_ATTRIBUTES.target),
      digest: attr(SEARCH_ATTRIBUTES.digest),
      closedAt: wf.closeTime?.toISOString(),
    });
    if (out.length >= limit) break;
  }
  return out;
}
