/**
 * What a promotion's run recorded about itself, read from Temporal for the approval console and
 * `countersign evidence`: its status (the `status` query) and the plan and verification report its
 * own steps returned (activity results in history, or the carried state after continue-as-new).
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { CountersignError } from '../errors';
import type { PromotionPlan } from '../promotion/plan';
import type { VerificationReport } from '../promotion/steps';
import { PROMOTION_WORKFLOW_TYPE, type PromotionCarry, type PromotionInput, type PromotionStatus } from '../../workflows/promotion-messages';
import { stepResult, stepsOf } from './history-steps';
import { getPromotionStatus } from './promotions';

export type { PromotionStatus };

export interface PromotionRecord {
  status: PromotionStatus;
  /** The run every statement must name: the first execution of the chain. */
  firstRunId: string;
  /** The plan authorize returned (absent before it has, or for a refused start). */
  plan?: PromotionPlan;
  /** Platform verify's report (absent before it ran). */
  report?: VerificationReport;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Reads a promotion's status, plan and report. UNKNOWN_PROMOTION when there is no promotion `id`. */
export async function readPromotionRecord(client: Client, id: string): Promise<PromotionRecord> {
  const status = await getPromotionStatus(client, id);
  const handle = client.workflow.getHandle(id);
  const description = await handle.describe();
  if (description.type !== PROMOTION_WORKFLOW_TYPE) throw new CountersignError('UNKNOWN_PROMOTION', `no promotion with id "${id}"`);
  const history = await client.workflow.getHandle(id, description.runId).fetchHistory();
  const events = history.events ?? [];
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const firstRunId = started?.firstExecutionRunId || description.runId;
  const input = decode<PromotionInput>(started?.input?.payloads?.[0]);
  const carried: PromotionCarry | undefined = started?.continuedExecutionRunId ? input?.carried : undefined;
  if (carried) return { status, firstRunId, plan: withoutSeal(carried.plan), report: withoutSeal(carried.report) };
  return {
    status,
    firstRunId,
    plan: withoutSeal(activityResult<PromotionPlan & { seal?: string }>(events, 'authorize')),
    report: withoutSeal(activityResult<VerificationReport & { seal?: string }>(events, 'platformVerify')),
  };
}

/**
 * The result of the last completed activity of `type`, queued or local. Only a result the
 * workflow itself received is read (the completion of an attempt it scheduled, or the marker its
 * worker wrote); whether that result was genuine, the run's later steps decide by its seal
 * (docs/security.md, Sealed plans).
 */
export function activityResult<T>(events: HistoryEvent[], type: string): T | undefined {
  return stepResult<T>(stepsOf(events).filter((s) => s.name === type && s.result).at(-1));
}

function decode<T>(payload: temporal.api.common.v1.IPayload | null | undefined): T | undefined {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload<T>(payload);
  } catch {
    return undefined;
  }
}

export function withoutSeal<T extends object>(value: (T & { seal?: string }) | undefined): T | undefined {
  if (!value) return undefined;
  const { seal: _seal, ...rest } = value;
  return rest as T;
}
