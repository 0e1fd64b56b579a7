/**
 * Starting and following chart releases from a Temporal client. The chart is packaged here first
 * (deterministically) so the initiator's signed request names its sha256; the worker packages it
 * again and signs nothing before approval. Everything else (keys, keyring, publish locations,
 * approvers, staging) is the chart target's in the worker's configuration. Decisions go through
 * the approval gate like a promotion's: `signAndDecide` in src/client/promotions.
 */
import path from 'node:path';
import { Client, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { DIGEST_KEY, STATE_KEY, TARGET_KEY } from './promotions';
import { runRequestNonce } from './prior-runs';
import { finalResult } from './final-result';
import { workflowAnswer } from './workflow-answer';
import { pollTolerantly, type PollOptions } from './tolerant-poll';
import { CountersignError } from '../errors';
import type { Signer } from '../keys/signer';
import { CHART_START_REQUEST_TYPE, parseChartStartRequest, type ChartStartRequest } from '../requests/chart-start-request';
import { signStartRequest } from '../requests/sign';
import type { SignedStatement } from '../requests/statement';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import {
  CHART_BEFORE_GATE_STATES,
  CHART_RELEASE_WORKFLOW_TYPE,
  CHART_TERMINAL_STATES,
  chartWaitForGateUpdate,
  chartReleaseId,
  chartStatusQuery,
  type ChartReleaseInput,
  type ChartReleaseStatus,
} from '../../workflows/chart-release-messages';
import { packageChart } from '../helm/package';

export interface ChartReleaseRequest {
  /** The chart target's name in the worker's configuration (charts:). */
  target: string;
  chartDir: string;
  /** Who is asking (an initiator in the worker's configuration), and the key that signs the request. */
  initiator: string;
  signer: Signer;
  /** A shorter approval deadline than the chart target's (ms); never longer. */
  deadlineMs?: number;
  /** A signed re-open (countersign reopen), when the last run for this chart target and chart was REJECTED. */
  reopen?: SignedStatement;
  /** How long the signed request stays valid (default 10 minutes). */
  validityMs?: number;
}

export interface StartedChartRelease {
  releaseId: string;
  /** True when a release of the same chart to the same chart target was already running and this joined it. */
  attached: boolean;
  name: string;
  version: string;
  fileName: string;
  sha256: string;
}

/** Starts the release with a signed start request (or attaches to the running one for the same chart target and chart). */
export async function startChartRelease(client: Client, request: ChartReleaseRequest): Promise<StartedChartRelease> {
  const chartDir = path.resolve(request.chartDir);
  const pkg = await packageChart(chartDir);
  const statement: Omit<ChartStartRequest, 'issuedAt' | 'expiresAt' | 'nonce'> = {
    _type: CHART_START_REQUEST_TYPE,
    target: request.target,
    chartDir,
    name: pkg.metadata.name,
    version: pkg.metadata.version,
    sha256: pkg.sha256,
    ...(request.deadlineMs !== undefined ? { deadlineMs: request.deadlineMs } : {}),
    initiator: request.initiator,
  };
  const { signed, nonce } = await signStartRequest(statement, parseChartStartRequest, request.signer, request.validityMs);
  const input: ChartReleaseInput = { request: signed, ...(request.reopen ? { reopen: request.reopen } : {}) };
  const releaseId = chartReleaseId(request.target, pkg.metadata.name, pkg.metadata.version, pkg.sha256);
  const handle = await client.workflow.start(CHART_RELEASE_WORKFLOW_TYPE, {
    taskQueue: TASK_QUEUE,
    workflowId: releaseId,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    // The same search attributes as promotions, so `countersign list` shows releases too; the
    // worker sets them again (and the signing key's fingerprint) once it has authorised the request.
    typedSearchAttributes: new TypedSearchAttributes([
      { key: STATE_KEY, value: 'AUTHORIZING' },
      { key: TARGET_KEY, value: `chart:${request.target}` },
      { key: DIGEST_KEY, value: `sha256:${pkg.sha256}` },
    ]),
  });
  // Joined, not started, when the run carries another caller's request (see startPromotion).
  const attached = (await runRequestNonce(client, releaseId, handle.firstExecutionRunId)) !== nonce;
  return { releaseId, attached, name: pkg.metadata.name, version: pkg.metadata.version, fileName: pkg.fileName, sha256: pkg.sha256 };
}

/** The run's description, when `id` is a chart release; UNKNOWN_PROMOTION when there is none, or it is something else. */
async function describeChartRelease(client: Client, id: string) {
  let description;
  try {
    description = await client.workflow.getHandle(id).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CountersignError('UNKNOWN_PROMOTION', `no chart release with id "${id}"`);
    throw err;
  }
  if (description.type !== CHART_RELEASE_WORKFLOW_TYPE) throw new CountersignError('UNKNOWN_PROMOTION', `${id} is not a chart release`);
  return description;
}

/** Current status of a release, running or finished. */
export async function getChartReleaseStatus(client: Client, id: string): Promise<ChartReleaseStatus> {
  const handle = client.workflow.getHandle(id);
  const description = await describeChartRelease(client, id);
  if (description.status.name === 'COMPLETED') return (await handle.result()) as ChartReleaseStatus;
  try {
    return await handle.query(chartStatusQuery);
  } catch (cause) {
    throw new CountersignError('STACK_ERROR', `no worker answered the status query for ${id} in time (is a countersign worker running and keeping up?)`, { cause });
  }
}

/** Polls until the release ends or `until` holds. */
export async function waitForChartRelease(
  client: Client,
  id: string,
  options: PollOptions<ChartReleaseStatus> & { until?: (s: ChartReleaseStatus) => boolean } = {},
): Promise<ChartReleaseStatus> {
  return pollTolerantly(
    () => getChartReleaseStatus(client, id),
    async (status) => {
      if (options.until?.(status)) return status;
      // The state is final before the run's cleanup step has removed what it staged: the result is the whole story.
      if (CHART_TERMINAL_STATES.includes(status.state)) return (await client.workflow.getHandle(id).result()) as ChartReleaseStatus;
      return undefined;
    },
    options,
  );
}

/**
 * Resolves once the release is at the gate, past it or ended: the waitForGate update, answered by
 * the worker when the run leaves authorisation and packaging (seconds), so nothing polls. A worker
 * without the update (one from before it) gets the status polled instead; no worker taking the
 * run's task in time is STACK_ERROR, as for promotions.
 */
export async function waitForChartReleaseGate(client: Client, id: string, options: PollOptions<ChartReleaseStatus> = {}): Promise<ChartReleaseStatus> {
  const status = await workflowAnswer(client, id, chartWaitForGateUpdate, {
    poll: () => waitForChartRelease(client, id, { ...options, until: (s) => !CHART_BEFORE_GATE_STATES.includes(s.state) }),
    unansweredLimitMs: options.unansweredLimitMs,
  });
  options.onUpdate?.(status);
  return status;
}

/**
 * Waits for the release's final status without polling: the run's result, which the server sends
 * when the run ends (its cleanup included). A release waits at the gate for hours; a status poll
 * all that time would have a worker answer a query (replaying the run once it has left the
 * cache) every few hundred ms. When the result cannot be read: an id that is not a chart
 * release, or a run ended without a result (terminated by an operator), is said; a run still
 * going (the connection was lost meanwhile) is waited for by the tolerant poll.
 */
export async function waitForChartReleaseEnd(client: Client, id: string, options: PollOptions<ChartReleaseStatus> = {}): Promise<ChartReleaseStatus> {
  const final = await finalResult<ChartReleaseStatus>(client, id, CHART_TERMINAL_STATES, options.unansweredLimitMs);
  if (final) {
    options.onUpdate?.(final);
    return final;
  }
  const description = await describeChartRelease(client, id);
  if (description.status.name !== 'RUNNING' && description.status.name !== 'COMPLETED') {
    throw new CountersignError('INTERNAL', `chart release ${id} ended as ${description.status.name} without a result`);
  }
  return waitForChartRelease(client, id, options);
}
