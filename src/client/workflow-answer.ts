/**
 * A workflow's answer to a read-only waiting update (a promotion's or a chart release's
 * `waitForGate`, a campaign's `waitForPlan`, a rotation's `waitForCeremony`, a ceremony's, a
 * revocation's or a trust root's `waitForAnswer`): the run answers when it gets there, so the
 * client does not poll its status meanwhile.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { CountersignError } from '../errors';
import { describeOrUndefined } from './run-description';
import { answeredByWorker } from './worker-watchdog';

export interface AnswerOptions<T> {
  /** Asked instead when the update cannot answer: a worker from before it, a run closed or continued as new meanwhile. */
  poll: () => Promise<T>;
  /** The error for an id no run has, running or closed (else the poll's own status read says so). */
  notFound?: () => CountersignError;
  /** How long the run's workflow task may wait for a worker before STACK_ERROR (src/client/worker-watchdog.ts). */
  unansweredLimitMs?: number;
}

export async function workflowAnswer<T>(client: Client, id: string, update: UpdateDefinition<T, []>, options: AnswerOptions<T>): Promise<T> {
  for (let asked = 1; ; asked++) {
    try {
      return await answeredByWorker(client, id, () => client.workflow.getHandle(id).executeUpdate(update), { limitMs: options.unansweredLimitMs });
    } catch (err) {
      // No worker took the run's task in time: said, not polled for as long again.
      if (err instanceof CountersignError && err.code === 'STACK_ERROR') throw err;
      if (!(err instanceof WorkflowNotFoundError) || asked > 1) return options.poll();
      // The server says "not found" for a run that has closed too (an update needs a running run):
      // only an id with no run at all is unknown; a closed run's status is read. A description
      // that cannot be read now (a restarting server) leaves it to the poll, which waits that out.
      const run = await describeOrUndefined(client, id).catch(() => 'unread' as const);
      if (!run && options.notFound) throw options.notFound();
      // A run started after the update was refused (a caller waiting on a start in flight) is
      // asked once more, so the answer still comes from the run rather than from polling it.
      if (run === 'unread' || run?.status.name !== 'RUNNING') return options.poll();
    }
  }
}
