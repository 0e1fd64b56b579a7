/**
 * The trust root workflow's public contract: input, states and query, shared by the workflow,
 * the CLI and tests. No I/O here; safe inside the workflow bundle.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { SignedStatement } from '../src/requests/statement';
import type { ApprovalView } from './approval-messages';

export { rootWorkflowId } from '../src/requests/root-request';

export const KEY_ROOT_WORKFLOW_TYPE = 'keyRoot';

/** A root's whole input: the governance member's signed request (src/requests/root-request.ts). */
export interface RootInput {
  request: SignedStatement;
}

export type RootState = 'AUTHORIZING' | 'REFUSED' | 'AWAITING_SIGNATURES' | 'PUBLISHING' | 'PUBLISHED' | 'REJECTED' | 'EXPIRED' | 'FAILED';

export interface RootStatus {
  rootId: string;
  trust: string;
  version: number;
  requester: string;
  state: RootState;
  /** The drafted root file's exact text and its sha256, once the worker drafted it: what signers approve. */
  text?: string;
  digest?: string;
  approval: ApprovalView;
  /** Once published: the file and the members whose signatures it carries. */
  file?: string;
  signers?: string[];
  error?: string;
}

export const rootQuery = defineQuery<RootStatus>('root');

/**
 * Returns the status once the worker has answered the request (the draft waits for signatures, or
 * the request was refused), so `keys root` learns it without polling. Reads and changes nothing.
 */
export const rootAnswerUpdate = defineUpdate<RootStatus>('waitForAnswer');
