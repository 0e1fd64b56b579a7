/**
 * The TypeScript client API: start, follow, approve, reject and list promotions from code, as the
 * CLI does (it uses this class). Everything a caller decides is the target, the artifact, claimed
 * build facts and the keys that sign their own statements; the worker decides the rest.
 *
 *   const cs = await CountersignClient.connect({ address: '127.0.0.1:7233' });
 *   const { promotionId } = await cs.start({ target: 'production', source: { image }, initiator: 'ci', signer });
 *   const done = await cs.follow(promotionId);
 */
import { Client } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { connectTemporalClient } from '../temporal/connect';
import type { TemporalTls } from '../temporal/connection';
import { temporalUiUrl, workflowUiLink } from '../temporal/ui-link';
import type { Signer } from '../keys/signer';
import {
  getApproval,
  getPromotionStatus,
  listPromotions,
  signAndDecide,
  startPromotion,
  waitForGate,
  waitForPromotion,
  waitForPromotionEnd,
  type PromoteRequest,
  type PromoteResult,
  type PromotionSummary,
} from './promotions';
import type { ApprovalView, PromotionStatus } from './types';

export interface CountersignClientOptions {
  /** Temporal frontend host:port (default 127.0.0.1:7233). */
  address?: string;
  namespace?: string;
  /** TLS or mTLS to Temporal, as src/temporal/connection.ts reads it from TEMPORAL_TLS_*. */
  tls?: TemporalTls;
  /** The Temporal Web UI, for links (src/temporal/ui-link.ts); none when omitted. */
  temporalUi?: string;
}

export interface FollowOptions {
  /** Called with each new status while following. */
  onUpdate?: (status: PromotionStatus) => void;
  /** Stop early when this holds (default: a final state). */
  until?: (status: PromotionStatus) => boolean;
  pollMs?: number;
  /** How long a worker may leave the run unanswered (status queries, or its workflow task) before the wait gives up with STACK_ERROR (default 120 s). */
  unansweredLimitMs?: number;
}

export interface Decision {
  /** The approver's roster name and the key their vote is signed with. */
  approver: string;
  signer: Signer;
  reason?: string;
  /** The evidence pack digest the approver read (countersign evidence); default: the pack the gate shows now. */
  evidence?: string;
  /** The gate's view you already hold (`waitForGate(...).approval`): signed over without asking the gate again; the run checks the vote either way. */
  view?: ApprovalView;
  /** When the vote's workflow task waits for a worker this long, STACK_ERROR (default 120 s); Temporal may still apply the vote when one comes. */
  unansweredLimitMs?: number;
}

export class CountersignClient {
  private constructor(
    /** The Temporal client underneath, for anything this API does not cover. */
    readonly temporal: Client,
    private readonly closeConnection: () => Promise<void>,
    private readonly temporalUi?: string,
  ) {}

  /** Connects to Temporal (explaining a refused TLS connection) and returns a client. */
  static async connect(options: CountersignClientOptions = {}): Promise<CountersignClient> {
    const connection = await connectTemporalClient({ address: options.address ?? '127.0.0.1:7233', tls: options.tls }, { connectTimeout: '5s' });
    // Starts and updates carry the caller's OpenTelemetry context, if the program set up tracing.
    const client = new Client({ connection, namespace: options.namespace ?? 'default', interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } });
    return new CountersignClient(client, () => connection.close(), options.temporalUi ? temporalUiUrl({ TEMPORAL_UI_URL: options.temporalUi }) : undefined);
  }

  /** Wraps a Temporal client; close() calls `options.close` (by default it leaves the caller's connection open). */
  static fromTemporalClient(client: Client, options: Pick<CountersignClientOptions, 'temporalUi'> & { close?: () => Promise<void> } = {}): CountersignClient {
    return new CountersignClient(client, options.close ?? (async () => undefined), options.temporalUi ? temporalUiUrl({ TEMPORAL_UI_URL: options.temporalUi }) : undefined);
  }

  /** Starts a promotion with a start request signed by `request.signer`, or joins the running one for the same target and digest. */
  start(request: PromoteRequest): Promise<PromoteResult> {
    return startPromotion(this.temporal, request);
  }

  /**
   * start() and waitForGate() in one call: the waitForGate update rides on the start
   * (update-with-start), so the answer comes once the run is at the gate, past it or ended, without
   * a workflow task of its own. `gate.approval` is the view to sign over.
   */
  startUntilGate(request: PromoteRequest, options: Pick<FollowOptions, 'pollMs' | 'unansweredLimitMs'> = {}): Promise<PromoteResult & { gate: PromotionStatus }> {
    return startPromotion(this.temporal, request, { untilGate: true, ...options });
  }

  status(promotionId: string): Promise<PromotionStatus> {
    return getPromotionStatus(this.temporal, promotionId);
  }

  /** Polls until a final state (or `until`), reporting each status to `onUpdate`. */
  follow(promotionId: string, options: FollowOptions = {}): Promise<PromotionStatus> {
    return waitForPromotion(this.temporal, promotionId, options);
  }

  /**
   * The promotion's final status, without polling: the server answers when the run ends (a
   * promotion waiting at the gate costs the worker nothing meanwhile). `onUpdate` gets the final
   * status.
   */
  waitForEnd(promotionId: string, options: Pick<FollowOptions, 'onUpdate' | 'unansweredLimitMs'> = {}): Promise<PromotionStatus> {
    return waitForPromotionEnd(this.temporal, promotionId, options);
  }

  /** Resolves once the promotion is at the approval gate, past it or ended: answered by the workflow when the gate opens, not by polling. */
  waitForGate(promotionId: string, options: Pick<FollowOptions, 'onUpdate' | 'pollMs' | 'unansweredLimitMs'> = {}): Promise<PromotionStatus> {
    return waitForGate(this.temporal, promotionId, options);
  }

  /** The approval gate: groups, votes, who may not vote, time left. */
  approval(promotionId: string): Promise<ApprovalView> {
    return getApproval(this.temporal, promotionId);
  }

  /** Signs an approval for this run and its digest, and sends it; APPROVAL_REFUSED says why when the gate refuses it. */
  approve(promotionId: string, decision: Decision): Promise<ApprovalView> {
    return signAndDecide(this.temporal, promotionId, { ...decision, decision: 'approve' });
  }

  /** A rejection needs a reason. */
  reject(promotionId: string, decision: Decision & { reason: string }): Promise<ApprovalView> {
    return signAndDecide(this.temporal, promotionId, { ...decision, decision: 'reject' });
  }

  /** Promotions and chart releases, newest first, by state and target. */
  list(filter: { state?: string; target?: string; limit?: number; kind?: 'promotion' | 'chart' | 'all' } = {}): Promise<PromotionSummary[]> {
    return listPromotions(this.temporal, filter);
  }

  /** The run's page in the Temporal Web UI, when the client was given the UI's address. */
  async temporalUiLink(workflowId: string): Promise<string | undefined> {
    if (!this.temporalUi) return undefined;
    const runId = await this.temporal.workflow
      .getHandle(workflowId)
      .describe()
      .then((d) => d.runId)
      .catch(() => undefined);
    return workflowUiLink(this.temporalUi, this.temporal.options.namespace, workflowId, runId);
  }

  close(): Promise<void> {
    return this.closeConnection();
  }
}
