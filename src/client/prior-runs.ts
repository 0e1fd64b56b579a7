/**
 * Earlier runs of a workflow id, read from Temporal by the worker's authorize step: a start
 * request is used once, and a run after a REJECTED one needs a re-open.
 */
import type { Client } from '@temporalio/client';
import type { PriorRun } from '../promotion/authorize';

/** How many earlier runs are read; a workflow id with more has far bigger problems. */
export const MAX_PRIOR_RUNS = 100;

export async function listPriorRuns(client: Client, workflowId: string, currentRunId: string): Promise<PriorRun[]> {
  const runs: PriorRun[] = [];
  const escaped = workflowId.replace(/['\\]/g, '');
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${escaped}'` })) {
    // A run that continued as new handed its request and gate to the next run of its chain, which is listed too.
    if (wf.runId === currentRunId || wf.status.name === 'CONTINUED_AS_NEW') continue;
    const run: PriorRun = { runId: wf.runId, status: wf.status.name, closedAt: wf.closeTime?.toISOString() };
    const handle = client.workflow.getHandle(workflowId, wf.runId);
    const history = await handle.fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const firstArg = started?.input?.payloads?.[0];
    if (firstArg?.data) run.requestNonce = nonceOf(Buffer.from(firstArg.data).toString('utf8'));
    if (wf.status.name === 'COMPLETED') {
      const result = (await handle.result().catch(() => undefined)) as { state?: unknown } | undefined;
      if (typeof result?.state === 'string') run.state = result.state;
    }
    runs.push(run);
    if (runs.length >= MAX_PRIOR_RUNS) break;
  }
  // Newest first: the last run's outcome decides whether a re-open is needed.
  return runs.sort((a, b) => (b.closedAt ?? '9999').localeCompare(a.closedAt ?? '9999'));
}

/** The nonce of the start request a run was started with (its first history event), read without the rest of its history. */
export async function runRequestNonce(client: Client, workflowId: string, runId: string): Promise<string | undefined> {
  const page = await client.workflowService.getWorkflowExecutionHistory({ namespace: client.options.namespace, execution: { workflowId, runId }, maximumPageSize: 1 });
  const firstArg = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return firstArg?.data ? nonceOf(Buffer.from(firstArg.data).toString('utf8')) : undefined;
}

/** The nonce of the start request inside a run's JSON input (unparseable input has none). */
function nonceOf(inputJson: string): string | undefined {
  try {
    const input = JSON.parse(inputJson) as { request?: { statement?: unknown } };
    const statement = typeof input.request?.statement === 'string' ? (JSON.parse(input.request.statement) as { nonce?: unknown }) : undefined;
    return typeof statement?.nonce === 'string' ? statement.nonce : undefined;
  } catch {
    return undefined;
  }
}
