/**
 * The chart release workflow's public contract: input, states and the `status` query. Approval
 * goes through the shared approval gate (workflows/approval-gate.ts): its `decide` update takes
 * signed statements, its `approval` query shows progress; `waitForGate` answers once the gate is
 * open. No I/O here; safe inside the bundle.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ReleaseCheck } from '../src/helm/release';
import { chartReleaseWorkflowId } from '../src/helm/id';
import type { SignedStatement } from '../src/requests/statement';
import type { ApprovalView } from './approval-messages';

export const CHART_RELEASE_WORKFLOW_TYPE = 'chartRelease';

export type ChartReleaseState =
  | 'AUTHORIZING'
  | 'PACKAGING'
  | 'AWAITING_APPROVAL'
  | 'SIGNING'
  | 'VERIFYING'
  | 'PUBLISHING'
  | 'RELEASED'
  | 'REJECTED'
  | 'EXPIRED'
  | 'FAILED'
  /** The worker refused the start request (unsigned, unknown, expired, replayed, out of scope, outside the sources): nothing ran. */
  | 'REFUSED';

export const CHART_TERMINAL_STATES: readonly ChartReleaseState[] = ['RELEASED', 'REJECTED', 'EXPIRED', 'FAILED', 'REFUSED'];

export type ChartStepName = 'authorize' | 'package' | 'approval' | 'sign' | 'verify' | 'publish' | 'cleanup';

export interface ChartTimelineEntry {
  step: ChartStepName;
  status: 'running' | 'succeeded' | 'rejected' | 'expired' | 'failed';
  startedAt: string;
  finishedAt?: string;
  detail?: string;
  error?: string;
}

/**
 * A chart release's whole input: the initiator's signed chart start request (chart target, chart
 * directory, name, version, sha256) and, after a rejection, a signed re-open. Keys, keyring,
 * publish locations, approvers and the staging directory are the worker's (its `charts:`
 * configuration and environment), resolved in the first step.
 */
export interface ChartReleaseInput {
  request: SignedStatement;
  reopen?: SignedStatement;
}

export interface ChartReleaseStatus {
  releaseId: string;
  state: ChartReleaseState;
  /** The chart target (what the request names until the worker has authorised it). */
  target: string;
  name: string;
  version: string;
  sha256: string;
  timeline: ChartTimelineEntry[];
  /** The package's checks (before approval), then the signatures' (after signing). */
  checks: ReleaseCheck[];
  approval: ApprovalView;
  /** Who started it (the signer of the accepted start request), once authorised. */
  initiator?: string;
  /** Digest of the chart target's resolution this run pinned. */
  policyDigest?: string;
  /** Set when this run re-opens a rejected one. */
  reopenedBy?: { reopener: string; reason: string; rejectedRunId: string };
  published?: { repositoryDir?: string; ociReference?: string; ociDigest?: string };
  error?: string;
}

export const chartStatusQuery = defineQuery<ChartReleaseStatus>('status');

/** The states before the approval gate: the authorisation and the packaging, seconds long. */
export const CHART_BEFORE_GATE_STATES: readonly ChartReleaseState[] = ['AUTHORIZING', 'PACKAGING'];

/**
 * Returns the status once the release is at the gate, past it or ended, so a client learns the
 * worker's answer to its request (and that the gate is open) without polling. Reads and changes
 * nothing. Named as the promotion's update is.
 */
export const chartWaitForGateUpdate = defineUpdate<ChartReleaseStatus>('waitForGate');

/** Workflow id: derived from the chart target and the chart's name, version and content. */
export const chartReleaseId = chartReleaseWorkflowId;
