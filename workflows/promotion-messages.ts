/**
 * The promotion workflow's public contract: its input, its states, and the messages (query,
 * update) that the CLI, tests and other clients use. No I/O here; safe inside the workflow bundle.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { SignedStatement } from '../src/requests/statement';
import { promotionWorkflowId } from '../src/promotion/id';
import type { ApprovalView, GateCarry } from './approval-messages';
import type { SealedPlan } from '../src/promotion/plan';
import type { VerificationReport } from '../src/promotion/steps';
import type { Sealed } from '../src/seal/seal';
import type { EvidenceCheck } from '../activities/promotion';

export { decideUpdate, approvalQuery } from './approval-messages';

export { TASK_QUEUE, PROMOTION_WORKFLOW_TYPE, SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_TYPES } from '../src/temporal-names';

export type PromotionState =
  | 'AUTHORIZING'
  | 'CHECKING_KEYS'
  | 'BUILDING'
  | 'ATTESTING'
  | 'DEV_SIGNING'
  | 'VERIFYING'
  | 'AWAITING_APPROVAL'
  | 'PROD_SIGNING'
  | 'RELEASING'
  | 'PROMOTED'
  | 'REJECTED'
  | 'EXPIRED'
  | 'FAILED'
  /** The worker refused the start request (unsigned, unknown, expired, replayed, out of scope): nothing ran. */
  | 'REFUSED';

export const TERMINAL_STATES: readonly PromotionState[] = ['PROMOTED', 'REJECTED', 'EXPIRED', 'FAILED', 'REFUSED'];

export type StepName = 'authorize' | 'keys' | 'build' | 'attest' | 'dev-sign' | 'platform-verify' | 'approval' | 'prod-sign' | 'release';
export type StepStatus = 'running' | 'succeeded' | 'skipped' | 'rejected' | 'expired' | 'failed';

export interface TimelineEntry {
  step: StepName;
  status: StepStatus;
  startedAt: string;
  finishedAt?: string;
  detail?: string;
  error?: string;
}

export type { KeyPin, KeyTrust } from '../src/promotion/plan';

/**
 * A promotion's whole input: the initiator's signed start request (target, artifact, claimed
 * build facts) and, after a rejection, a signed re-open. Everything else (policy, roster, keys,
 * repository) the worker resolves from its own configuration in the first step.
 */
export interface PromotionInput {
  request: SignedStatement;
  reopen?: SignedStatement;
  /**
   * Set only by the workflow itself when a run parked at the approval gate continues as new: the
   * plan its authorize step pinned, the status so far and the open gate. A run accepts it only
   * when it was continued from an earlier run (workflowInfo().continuedFromExecutionRunId), so a
   * caller who starts a promotion with it is refused (docs/security.md).
   */
  carried?: PromotionCarry;
}

/** What a promotion parked at the gate hands the next run of its chain. */
export interface PromotionCarry {
  /** The plan as authorize sealed it. */
  plan: SealedPlan;
  /** Platform verify's sealed report: production signing acts on nothing else. */
  report: Sealed<VerificationReport>;
  status: Omit<PromotionStatus, 'approval'>;
  gate: GateCarry;
  /** The evidence step's last sealed result: the next run's first read keeps its release pin. */
  evidence?: Sealed<EvidenceCheck>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  message: string;
}

export interface PromotionStatus {
  promotionId: string;
  state: PromotionState;
  target: string;
  digest: string;
  repository: string;
  releaseReference?: string;
  timeline: TimelineEntry[];
  checks: CheckResult[];
  /** The approval gate: groups, votes, who is excluded and why, time left. */
  approval: ApprovalView;
  /** Who started it (the signer of the accepted start request), once authorised. */
  initiator?: string;
  /**
   * The nonce of the start request this run carries, as the request claims it (read before the
   * worker checks it): a caller that sent a start compares it with its own to tell whether it
   * started this run or joined another caller's.
   */
  requestNonce?: string;
  /** Digest of the resolved target policy this run pinned. */
  policyDigest?: string;
  /** Set when this run re-opens a rejected one. */
  reopenedBy?: { reopener: string; reason: string; rejectedRunId: string };
  /** Things approvers should know that are not failed checks (e.g. the commit author is unknown). */
  notices?: string[];
  error?: string;
}

export const statusQuery = defineQuery<PromotionStatus>('status');

/**
 * States no listing filters on (the console lists AWAITING_APPROVAL, revocation the states at or
 * past production signing): the CountersignState search attribute stays AUTHORIZING through them,
 * saving a visibility write each. `status` reports them as they happen.
 */
export const UNLISTED_STATES: readonly PromotionState[] = ['CHECKING_KEYS', 'BUILDING', 'ATTESTING', 'DEV_SIGNING', 'VERIFYING'];

/**
 * Not written on its own either in runs with FEWER_WRITES_PATCH (workflows/version-marker.ts):
 * AUTHORIZING goes with the pinned plan's upsert (the client's start already set it). RELEASING
 * is still written: revocation reads it as "the production signature is out" for a run still
 * running (src/client/pinned-runs.ts), and release may retry for minutes.
 */
export const UNLISTED_SINCE_FEWER_WRITES: readonly PromotionState[] = ['AUTHORIZING'];

/** The states before the approval gate: waitForGate returns once the promotion has left them. */
export const BEFORE_GATE_STATES: readonly PromotionState[] = ['AUTHORIZING', 'CHECKING_KEYS', 'BUILDING', 'ATTESTING', 'DEV_SIGNING', 'VERIFYING'];

/**
 * Returns the status once the promotion is at the gate, past it or ended: a client learns that the
 * gate is open without polling. It reads and changes nothing (the status query's answer, later).
 */
export const waitForGateUpdate = defineUpdate<PromotionStatus>('waitForGate');

/** Workflow id for a promotion: derived from target and digest, so a repeated trigger finds it. */
export const promotionId = promotionWorkflowId;
