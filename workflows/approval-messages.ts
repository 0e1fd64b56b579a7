/**
 * The approval gate's contract, shared by every workflow that asks for approval (image
 * promotion, chart release) and by the CLI. No I/O: safe inside the workflow bundle.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

import type { ApprovalConfig, ApprovalGroupConfig } from '../src/approval/config';
import { APPROVAL_PREDICATE_TYPE, APPROVAL_STATEMENT_TYPE } from '../src/approval/constants';
import type { DroppedVote, GateEvidence } from './gate-evidence';
export type { DroppedVote, EvidenceFound, GateEvidence } from './gate-evidence';
export { canonicalStatement, type ApprovalStatement } from '../src/approval/statement';

export { APPROVAL_PREDICATE_TYPE, APPROVAL_STATEMENT_TYPE };

export type { PinnedRosterEntry as RosterEntry } from '../src/promotion/plan';
import type { PinnedRosterEntry as RosterEntry } from '../src/promotion/plan';

export type ApprovalGroup = ApprovalGroupConfig;

/** The approval policy as configured, with the roster's keys pinned into the workflow input at start. */
export interface ApprovalPolicy extends ApprovalConfig {
  roster: Record<string, RosterEntry>;
}

/** Who the gate is about; used for separation of duties. */
export interface GateSubject {
  /** The workflow id the statement must name. */
  id: string;
  /** The run a statement must name (the first run id of this execution chain): a vote counts in one run only. */
  runId?: string;
  digest: string;
  initiator: string;
  developerKeyFingerprint?: string;
  /** What the subject is, for messages ("promotion" by default, "chart release", "key ceremony"). */
  noun?: string;
  /** What a voter must be, for refusals ("a custodian of store platform"); "in the approver roster" by default. */
  role?: string;
}


import type { SignedStatement } from '../src/requests/statement';

/**
 * A decision: the statement with a file-key signature, or, from the console, with a passkey: then
 * `signature` is the WebAuthn assertion's (base64url) and `passkey` the rest of the assertion
 * (src/approval/passkey-assertion.ts). The gate's validator checks either before the vote counts.
 */
export type SignedDecision = SignedStatement & { passkey?: { credentialId: string; authenticatorData: string; clientDataJSON: string } };

export interface RecordedVote {
  approver: string;
  decision: 'approve' | 'reject';
  reason?: string;
  /** Time the approver put in the statement. */
  signedAt: string;
  /** Workflow time the vote was accepted. */
  acceptedAt: string;
  /** The group the approval counts toward, once quorum arithmetic assigns it. */
  countedFor?: string;
  /** The evidence pack's digest the statement names (absent on gates that show none). */
  evidence?: string;
  signed: SignedDecision;
  keyFingerprint: string;
}

export type GateState = 'WAITING' | 'OPEN' | 'APPROVED' | 'REJECTED' | 'EXPIRED';

/**
 * An open gate's state as one run hands it to the next when its history has grown long
 * (continue-as-new): the votes with their signed statements, who is excluded and why, and the
 * timers as absolute times, so the deadline and the reminder count go on where they were.
 */
export interface GateCarry {
  votes: RecordedVote[];
  excluded: Array<{ approver: string; why: string }>;
  openedAt: number;
  deadlineAt: number;
  reminders: number;
  escalatedAt?: string;
  notificationFailures: number;
  /** The pack the gate shows and the votes dropped when it changed (gates that show one). */
  evidence?: { current?: GateEvidence; dropped: DroppedVote[] };
}

export interface GroupProgress {
  name: string;
  required: number;
  have: number;
  missing: number;
  eligible: string[];
}

export interface ApprovalView {
  state: GateState;
  /** The workflow id, run and digest a statement must name. */
  subject: { id: string; runId?: string; digest: string };
  groups: GroupProgress[];
  votes: Array<Omit<RecordedVote, 'signed'>>;
  /** People who may not approve this subject, and why. */
  excluded: Array<{ approver: string; why: string }>;
  deadline?: string;
  msLeft?: number;
  reminders: number;
  escalatedAt?: string;
  notificationFailures: number;
  /** One line: why the gate is still closed, or how it ended. */
  summary: string;
  /** The evidence pack a vote must be signed over (a promotion's gate, once it has read it). */
  evidence?: GateEvidence;
  /** Votes that stopped counting because the pack changed after they were signed, and why. */
  dropped?: DroppedVote[];
}

export const decideUpdate = defineUpdate<ApprovalView, [SignedDecision]>('decide');
export const approvalQuery = defineQuery<ApprovalView>('approval');

