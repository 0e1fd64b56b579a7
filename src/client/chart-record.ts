/**
 * What a chart release's run recorded about itself, for the approval console and `countersign
 * evidence`: its status (the `status` query, or the result once it ended) and the plan its own
 * authorize step returned (an activity result in history; chart releases never continue as new).
 */
import type { Client } from '@temporalio/client';
import type { ChartReleasePlan } from '../helm/plan';
import type { ChartReleaseStatus } from '../../workflows/chart-release-messages';

export type { ChartReleaseStatus };
import { getChartReleaseStatus } from './chart-releases';
import { activityResult, withoutSeal } from './promotion-record';

export interface ChartReleaseRecord {
  status: ChartReleaseStatus;
  /** The run every statement must name: the first execution of the chain. */
  firstRunId: string;
  /** The plan chartAuthorize returned (absent before it has, or for a refused start). */
  plan?: ChartReleasePlan;
}

/** Reads a chart release's status and plan. UNKNOWN_PROMOTION when there is no chart release `id`. */
export async function readChartReleaseRecord(client: Client, id: string): Promise<ChartReleaseRecord> {
  const status = await getChartReleaseStatus(client, id);
  const description = await client.workflow.getHandle(id).describe();
  const history = await client.workflow.getHandle(id, description.runId).fetchHistory();
  const events = history.events ?? [];
  const firstRunId = events[0]?.workflowExecutionStartedEventAttributes?.firstExecutionRunId || description.runId;
  return { status, firstRunId, plan: withoutSeal(activityResult<ChartReleasePlan & { seal?: string }>(events, 'chartAuthorize')) };
}

/**
 * The plan a chart release's authorize step returned, seal and all, and the run it is sealed for:
 * a compromise campaign checks the seal (a run anyone could start with a result of their own is
 * no record of what the worker released).
 */
export async function readSealedChartPlan(client: Client, id: string): Promise<{ firstRunId: string; plan?: ChartReleasePlan & { seal?: string } }> {
  const description = await client.workflow.getHandle(id).describe();
  const events = (await client.workflow.getHandle(id, description.runId).fetchHistory()).events ?? [];
  const firstRunId = events[0]?.workflowExecutionStartedEventAttributes?.firstExecutionRunId || description.runId;
  return { firstRunId, plan: activityResult<ChartReleasePlan & { seal?: string }>(events, 'chartAuthorize') };
}
