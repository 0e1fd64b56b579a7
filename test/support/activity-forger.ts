/**
 * What a caller allowed to complete activities by id can do (RespondActivityTaskCompletedById,
 * through the SDK's own async-completion client): answer a step before the worker does. A
 * worker that runs workflow tasks only lets a run reach the step while no one executes it.
 * Not a fake of anything: a real SDK worker without activities, and the real client API.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import { workflowBundle } from '../../workers/worker';

export interface WorkflowsOnlyWorker {
  stop(): Promise<void>;
}

/** Runs workflow tasks (and so updates and queries) but no activity. */
export async function startWorkflowsOnlyWorker(address: string): Promise<WorkflowsOnlyWorker> {
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({ connection, taskQueue: TASK_QUEUE, workflowBundle: await workflowBundle() });
  const running = worker.run();
  return {
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
}

/** The latest run id of `workflowId`. */
export async function latestRunId(client: Client, workflowId: string): Promise<string> {
  return (await client.workflow.getHandle(workflowId).describe()).runId;
}

/** Waits until the run has scheduled an activity of `type`, then completes it with `result` as the worker would. */
export async function completeActivityById(client: Client, workflowId: string, type: string, result: unknown): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const description = await client.workflow.getHandle(workflowId).describe();
    const pending = description.raw.pendingActivities?.find((a) => a.activityType?.name === type);
    if (pending?.activityId) {
      await client.activity.complete({ workflowId, runId: description.runId, activityId: pending.activityId }, result);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${workflowId} never scheduled ${type}`);
}

/** The result the first completed activity of `type` returned in a run's history. */
export async function activityResultOf(client: Client, workflowId: string, runId: string, type: string): Promise<Record<string, unknown>> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type);
  const completed = events.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled?.eventId));
  if (!completed) throw new Error(`no completed ${type} in ${workflowId} ${runId}`);
  return defaultPayloadConverter.fromPayload(completed.activityTaskCompletedEventAttributes!.result!.payloads![0]) as Record<string, unknown>;
}
