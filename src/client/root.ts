/**
 * The client side of a trust root: a governance member asks for the next root (a signed
 * request), the worker drafts it (workflows/key-root.ts), and each signer checks the draft
 * against their own copy of the configuration before signing its digest: a draft naming another
 * index key or other members is never signed, whoever answered the worker's step.
 */
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../config';
import { CountersignError } from '../errors';
import { keyFingerprint, readKeyFile } from '../keys/public-key';
import type { Signer } from '../keys/signer';
import { signDecision } from '../approval/sign';
import { parseRootRequest, ROOT_REQUEST_TYPE, rootWorkflowId, type RootRequest } from '../requests/root-request';
import { newNonce, signStatement } from '../requests/sign';
import { canonicalJson, type SignedStatement } from '../requests/statement';
import type { TrustConfig } from '../trust/config';
import { pinPeople } from '../trust/resolve';
import { latestPublishedRoot, parseRoot, rootDigest, type TrustRoot } from '../trust/root-file';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import { KEY_ROOT_WORKFLOW_TYPE, rootAnswerUpdate, rootQuery, type RootStatus } from '../../workflows/key-root-messages';
import { workflowAnswer } from './workflow-answer';

export type { RootStatus };
import { decide } from './promotions';

/** The next root's version, from the caller's copy of the published directory. */
export async function nextRootVersion(trust: TrustConfig): Promise<number> {
  return ((await latestPublishedRoot(trust.publishDir, trust.name))?.root.version ?? 0) + 1;
}

export async function signRootRequest(trust: TrustConfig, requester: string, version: number, signer: Signer, time = new Date()): Promise<SignedStatement> {
  if (!trust.root) throw new CountersignError('BAD_INPUT', `trust store ${trust.name} publishes no root: give it root: { threshold } in the configuration`);
  if (!trust.governance.includes(requester)) throw new CountersignError('BAD_INPUT', `${requester} is not a governance member of trust store ${trust.name} (${trust.governance.join(', ')})`);
  const request: RootRequest = { _type: ROOT_REQUEST_TYPE, trust: trust.name, version, requester, time: time.toISOString(), nonce: newNonce() };
  try {
    parseRootRequest({ statement: canonicalJson(request), signature: '' });
  } catch (err) {
    throw new CountersignError('BAD_INPUT', (err as Error).message);
  }
  return signStatement(request, signer);
}

/** Starts `key-root-<trust>-<version>`, or finds it running (a second request joins the first). */
export async function startRoot(client: Client, request: SignedStatement): Promise<{ rootId: string; started: boolean }> {
  const { trust, version } = parseRootRequest(request);
  const rootId = rootWorkflowId(trust, version);
  try {
    await client.workflow.start(KEY_ROOT_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: rootId, args: [{ request }] });
    return { rootId, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { rootId, started: false };
    throw err;
  }
}

export async function rootStatus(client: Client, rootId: string): Promise<RootStatus> {
  try {
    return await client.workflow.getHandle(rootId).query(rootQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CountersignError('UNKNOWN_PROMOTION', `no trust root workflow ${rootId}`);
    throw err;
  }
}

/** The states a root workflow ends in. */
export const ROOT_ENDED: readonly string[] = ['REFUSED', 'PUBLISHED', 'REJECTED', 'EXPIRED', 'FAILED'];

/** Waits until `until` holds or the root workflow has ended. */
export async function waitForRoot(client: Client, rootId: string, until: (s: RootStatus) => boolean, timeoutMs = 120_000): Promise<RootStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await rootStatus(client, rootId).catch((err) => {
      if (Date.now() > deadline) throw err;
      return undefined;
    });
    if (status && (ROOT_ENDED.includes(status.state) || until(status))) return status;
    if (Date.now() > deadline) throw new CountersignError('STACK_ERROR', `${rootId} did not get there in ${Math.round(timeoutMs / 1000)} s (is a countersign worker running?)`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The trust root once the worker has answered its request: its draft waiting for signatures, or
 * ended (refused). The workflow's waitForAnswer update answers then, so nothing polls; a worker
 * from before the update gets the status polled.
 */
export function waitForRootAnswer(client: Client, rootId: string): Promise<RootStatus> {
  return workflowAnswer(client, rootId, rootAnswerUpdate, {
    poll: () => waitForRoot(client, rootId, (s) => s.state !== 'AUTHORIZING'),
    notFound: () => new CountersignError('UNKNOWN_PROMOTION', `no trust root "${rootId}"`),
  });
}

/**
 * The draft as the caller's configuration would have it, or BAD_INPUT naming what differs:
 * the store, the members and their keys, the threshold, the index key.
 */
export async function checkDraft(config: Config, trust: TrustConfig, text: string, version: number): Promise<TrustRoot> {
  const root = parseRoot(Buffer.from(text), 'the drafted root');
  const differs = (what: string, got: unknown, want: unknown): never => {
    throw new CountersignError('BAD_INPUT', `the drafted root's ${what} is ${JSON.stringify(got)}, but your configuration gives ${JSON.stringify(want)}: not signing it`);
  };
  if (root.trust !== trust.name) differs('store', root.trust, trust.name);
  if (root.version !== version) differs('version', root.version, version);
  if (root.threshold !== trust.root?.threshold) differs('threshold', root.threshold, trust.root?.threshold);
  const people = await pinPeople(config, trust.governance, 'governance members');
  const want = trust.governance.map((n) => `${n}=${people[n].fingerprint}`);
  const got = root.governance.map((m) => `${m.name}=${m.fingerprint}`);
  if (JSON.stringify(got) !== JSON.stringify(want)) differs('governance', got, want);
  if (!trust.index) throw new CountersignError('BAD_INPUT', `trust store ${trust.name} signs no index in your configuration`);
  const indexKey = keyFingerprint(await readKeyFile(trust.index.publicKey, 'the index public key'));
  if (root.indexKey.fingerprint !== indexKey) differs('index key', root.indexKey.fingerprint, indexKey);
  return root;
}

/** Checks the running root's draft against the caller's configuration, then signs its digest as `who`. */
export async function signRoot(client: Client, config: Config, trust: TrustConfig, rootId: string, version: number, who: string, signer: Signer): Promise<RootStatus> {
  const status = await rootStatus(client, rootId);
  if (status.state !== 'AWAITING_SIGNATURES' || !status.text) throw new CountersignError('BAD_INPUT', `${rootId} is not waiting for signatures (${status.state}${status.error ? `: ${status.error}` : ''})`);
  await checkDraft(config, trust, status.text, version);
  // The digest signed is the one computed here from the text checked here, never the one the workflow states.
  const digest = rootDigest(status.text);
  if (digest !== status.approval.subject.digest) throw new CountersignError('BAD_INPUT', `${rootId} asks for signatures over ${status.approval.subject.digest}, not its draft's digest ${digest}: not signing`);
  const signed = await signDecision({ promotionId: rootId, runId: status.approval.subject.runId, digest, decision: 'approve', approver: who }, signer);
  await decide(client, rootId, signed);
  return rootStatus(client, rootId);
}
