/** A promotion's status, and waiting on it: until a state (polling), until the gate opens (the waitForGate update), or until it ends (its result). */
import type { Client } from '@temporalio/client';
import { CountersignError } from '../errors';
import { finalResult } from './final-result';
import { describeOrUndefined } from './run-description';
import { workflowAnswer } from './workflow-answer';
import { pollTolerantly, type PollOptions } from './tolerant-poll';
import { BEFORE_GATE_STATES, PROMOTION_WORKFLOW_TYPE, TERMINAL_STATES, statusQuery, waitForGateUpdate, type PromotionStatus } from '../../workflows/promotion-messages';

/** Current status of a promotion, running or finished. */
export async function getPromotionStatus(client: Client, id: string): Promise<PromotionStatus> {
  const handle = client.workflow.getHandle(id);
  const description = await describeOrUndefined(client, id);
  if (!description || description.type !== PROMOTION_WORKFLOW_TYPE) {
    throw new CountersignError('UNKNOWN_PROMOTION', `no promotion with id "${id}" (see countersign list)`);
  }
  if (description.status.name === 'COMPLETED') return (await handle.result()) as PromotionStatus;
  if (description.status.name === 'RUNNING') {
    try {
      return await handle.query(statusQuery);
    } catch (cause) {
      throw new CountersignError('STACK_ERROR', `no worker answered the status query for ${id} in time (is a countersign worker running and keeping up?)`, { cause });
    }
  }
  throw new CountersignError('INTERNAL', `promotion ${id} ended as ${description.status.name} without a result`);
}

/** Waits until the promotion reaches a terminal state or `until` holds, polling its status. */
export async function waitForPromotion(
  client: Client,
  id: string,
  options: PollOptions<PromotionStatus> & { until?: (status: PromotionStatus) => boolean } = {},
): Promise<PromotionStatus> {
  const until = options.until ?? ((s: PromotionStatus) => TERMINAL_STATES.includes(s.state));
  return pollTolerantly(() => getPromotionStatus(client, id), (s) => (until(s) || TERMINAL_STATES.includes(s.state) ? s : undefined), options);
}

/**
 * Waits until the promotion is at the approval gate, past it or ended, without polling: the
 * waitForGate update returns when the gate opens. Falls back to the tolerant poll when the update
 * cannot answer: a worker without the handler, a run that ended or continued as new meanwhile, or
 * the SDK's update/timer replay error (temporalio/sdk-typescript#1966).
 */
export async function waitForGate(client: Client, id: string, options: PollOptions<PromotionStatus> = {}): Promise<PromotionStatus> {
  const status = await workflowAnswer(client, id, waitForGateUpdate, {
    poll: () => waitForPromotion(client, id, { ...options, until: (s) => !BEFORE_GATE_STATES.includes(s.state) }),
    unansweredLimitMs: options.unansweredLimitMs,
  });
  options.onUpdate?.(status);
  return status;
}

/**
 * Waits for the promotion's final status without polling: the run's result, which the server
 * sends when the run closes (across continue-as-new). A promotion waits at the gate for hours or
 * days, and nothing a status poll shows changes before the gate ends; each poll would have a worker
 * answer a query (replaying the run when it is no longer cached) every few hundred ms all that
 * time. Falls back to the tolerant poll when the result is not a promotion's final status (an id
 * of something else, a run terminated by an operator, the connection lost meanwhile): that poll
 * says which.
 */
export async function waitForPromotionEnd(client: Client, id: string, options: PollOptions<PromotionStatus> = {}): Promise<PromotionStatus> {
  const final = await finalResult<PromotionStatus>(client, id, TERMINAL_STATES, options.unansweredLimitMs);
  if (!final) return waitForPromotion(client, id, options);
  options.onUpdate?.(final);
  return final;
}
