/**
 * What the revocation and campaign clients share: start the workflow a signed key request names
 * (one of an id at a time), read its status as the kind it must be, and wait for it.
 */
import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { CountersignError } from '../errors';
import type { SignedStatement } from '../requests/statement';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import { keyWorkflowStatus, waitForKeyWorkflow, type KeyWorkflowStatus } from './trust';

type Kind = KeyWorkflowStatus['type'];
type StatusOf<K extends Kind> = Extract<KeyWorkflowStatus, { type: K }>['status'];

/** Starts `workflowType` as `workflowId` with the signed request; one already running is BAD_INPUT saying `whenRunning`. */
export async function startKeyWorkflow(client: Client, workflowType: string, workflowId: string, request: SignedStatement, whenRunning: string): Promise<string> {
  try {
    await client.workflow.start(workflowType, { taskQueue: TASK_QUEUE, workflowId, args: [{ request }] });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CountersignError('BAD_INPUT', whenRunning);
    throw err;
  }
  return workflowId;
}

/** The status of key workflow `id`, running or finished; UNKNOWN_PROMOTION when it is another kind. */
export async function keyStatusOf<K extends Kind>(client: Client, id: string, kind: K): Promise<StatusOf<K>> {
  const found = await keyWorkflowStatus(client, id);
  if (found.type !== kind) throw new CountersignError('UNKNOWN_PROMOTION', `${id} is a key ${found.type}, not a ${kind}`);
  return found.status as StatusOf<K>;
}

/** Waits until the workflow's state satisfies `until` or is one of `ended`. */
export async function waitForKeyStatus<K extends Kind>(client: Client, id: string, kind: K, ended: readonly string[], until: (s: StatusOf<K>) => boolean, timeoutMs?: number): Promise<StatusOf<K>> {
  const found = await waitForKeyWorkflow(client, id, (s) => s.type === kind && (ended.includes(s.status.state) || until(s.status as StatusOf<K>)), { timeoutMs });
  return found.status as StatusOf<K>;
}
