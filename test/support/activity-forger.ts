/**
 * What a caller who can reach Temporal can do to a run's steps. A queued step can be answered by
 * id (RespondActivityTaskCompletedById, through the SDK's own async-completion client) before the
 * worker does, while a worker that runs workflow tasks only lets the run reach the step. A local
 * step (run beside the workflow task) is answered by running a worker of one's own on the task
 * queue. Not a fake of anything: real SDK workers and the real client API.
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import { workflowBundle } from '../../workers/worker';
import { stepsOf } from '../../src/client/history-steps';
import { activityResult } from '../../src/client/promotion-record';

export interface TestWorker {
  stop(): Promise<void>;
}

/** Runs workflow tasks (and so updates and queries) but no activity. */
export function startWorkflowsOnlyWorker(address: string): Promise<TestWorker> {
  return startWorker(address, {});
}

async function startWorker(address: string, options: Pick<WorkerOptions, 'activities' | 'enableNonLocalActivities'>): Promise<TestWorker> {
  const connection = await NativeConnection.connect({ address });
  // A worker still running a local step when it stops gives up on it a second later and goes,
  // as a killed one would: its workflow task times out and the next worker takes the run.
  const worker = await Worker.create({ connection, taskQueue: TASK_QUEUE, workflowBundle: await workflowBundle(), shutdownForceTime: '1 second', ...options });
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

/** The result the last completed activity of `type` (queued or local) returned in a run's history. */
export async function activityResultOf(client: Client, workflowId: string, runId: string, type: string): Promise<Record<string, unknown>> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const result = activityResult<Record<string, unknown>>(history.events ?? [], type);
  if (!result) throw new Error(`no completed ${type} in ${workflowId} ${runId}`);
  return result;
}

/**
 * What anyone who can reach Temporal can run: a worker of their own on the task queue, with the
 * real workflow code and their own answers for some steps. It runs only local activities (its
 * `answers`), so the steps queued through the server are left for the real worker.
 */
export function startRogueWorker(address: string, answers: Record<string, (...args: unknown[]) => Promise<unknown>>): Promise<TestWorker> {
  return startWorker(address, { activities: answers, enableNonLocalActivities: false });
}

/** Waits until a run's history holds a completed `type` step (queued or local). */
export async function waitForStep(client: Client, workflowId: string, type: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    if (stepsOf(events).some((s) => s.name === type && s.result)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${workflowId} never completed ${type}`);
}
