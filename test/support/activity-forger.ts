/**
 * What a caller who can reach Temporal can do to a run's steps. A queued step can be answered by
 * id (RespondActivityTaskCompletedById, through the SDK's own async-completion client) before the
 * worker does, while a worker that runs workflow tasks only lets the run reach the step. A local
 * step (run beside the workflow task) is answered by running a worker of one's own on the task
 * queue. Not a fake of anything: real SDK workers and the real client API.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import { workflowBundle } from '../../workers/worker';
import { stepsOf } from '../../src/client/history-steps';
import { activityResult } from '../../src/client/promotion-record';
import { TSX_LOADER, waitForWorker } from '../../src/stack/worker-process';

export interface TestWorker {
  stop(): Promise<void>;
}

/** Runs workflow tasks (and so updates and queries) but no activity. */
export function startWorkflowsOnlyWorker(address: string): Promise<TestWorker> {
  return startWorker(address, {});
}

async function startWorker(address: string, options: Pick<WorkerOptions, 'activities' | 'enableNonLocalActivities'>): Promise<TestWorker> {
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({ connection, taskQueue: TASK_QUEUE, workflowBundle: await workflowBundle(), ...options });
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
 * An attacker's worker, as its own process, whose authorize step answers `plan` and whose keys
 * check never answers (test/support/rogue-worker.ts): it holds the run's workflow task, so the run
 * goes on only once `kill()` has killed it (-9) and the task has timed out (10 s). Resolves once
 * it polls the task queue.
 */
export async function startRogueWorkerProcess(address: string, plan: unknown, dir: string): Promise<{ kill(): Promise<void> }> {
  await fs.mkdir(dir, { recursive: true });
  const planFile = path.join(dir, `plan-${process.hrtime.bigint()}.json`);
  await fs.writeFile(planFile, JSON.stringify(plan));
  const logFile = `${planFile}.log`;
  const out = await fs.open(logFile, 'a');
  const child = spawn(process.execPath, ['--import', TSX_LOADER, path.join(__dirname, 'rogue-worker.ts'), address, planFile], { stdio: ['ignore', out.fd, out.fd] });
  await out.close();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForWorker(address, { pid: child.pid, logFile });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
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
