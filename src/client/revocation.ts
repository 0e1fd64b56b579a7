/**
 * The client side of revocation: a governance member signs a revocation request, the worker
 * decides (workflows/key-revocation.ts), and what the key signed is listed from visibility.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Signer } from '../keys/signer';
import { parseRevocationRequest, REVOCATION_REQUEST_TYPE, revocationWorkflowId } from '../requests/revocation-request';
import type { SignedStatement } from '../requests/statement';
import { KEY_REVOCATION_WORKFLOW_TYPE, REVOCATION_BEFORE_ANSWER_STATES, revocationAnswerUpdate, type RevocationStatus } from '../../workflows/key-revocation-messages';
import { CountersignError } from '../errors';
import { workflowAnswer } from './workflow-answer';
import type { TrustConfig } from '../trust/config';
import type { TrustKey } from '../trust/index-file';
import { PINNED_LISTING_LIMIT, runsInFlight, runsSignedBy, type Listing, type PinnedPromotion, type SignedPromotion } from './pinned-runs';
import { signKeyRequest } from './key-request';
import { keyStatusOf, startKeyWorkflow, waitForKeyStatus } from './key-workflow';

export interface RevocationRequestOptions {
  /** The requester's own key (their roster key). */
  signer: Signer;
  time?: Date;
}

/**
 * The requester's signed revocation request for one key of `trust`, found (by id, fingerprint or
 * a unique fingerprint prefix) among that store's keys in the caller's copy of its index.
 */
export function signRevocationRequest(config: Config, trust: TrustConfig, requester: string, which: string, reason: string, options: RevocationRequestOptions) {
  return signKeyRequest(
    { type: REVOCATION_REQUEST_TYPE, noun: 'revocation request', why: 'why the key is revoked', act: 'revoke its keys', parse: parseRevocationRequest },
    config,
    trust,
    requester,
    which,
    reason,
    options,
  );
}

/**
 * Sends a signed revocation request to the worker: the workflow `key-revocation-<trust>-<key id>`.
 * One already waiting for co-signers is not started again: co-sign it instead.
 */
export async function requestRevocation(client: Client, request: SignedStatement): Promise<string> {
  const { trust, keyId } = parseRevocationRequest(request);
  const workflowId = revocationWorkflowId(trust, keyId);
  return startKeyWorkflow(client, KEY_REVOCATION_WORKFLOW_TYPE, workflowId, request, `${workflowId} is already waiting for signatures: co-sign it with countersign approve ${workflowId} --as NAME --key FILE`);
}

/** A revocation's status, running or finished. */
export function getRevocationStatus(client: Client, id: string): Promise<RevocationStatus> {
  return keyStatusOf(client, id, 'revocation');
}

const REVOCATION_ENDED = ['REFUSED', 'REVOKED', 'EXPIRED', 'REJECTED', 'FAILED'];

/** Waits until the revocation's state satisfies `until` or it has ended. */
export function waitForRevocation(client: Client, id: string, until: (s: RevocationStatus) => boolean, timeoutMs?: number): Promise<RevocationStatus> {
  return waitForKeyStatus(client, id, 'revocation', REVOCATION_ENDED, until, timeoutMs);
}

/**
 * The revocation once the worker has answered its request: waiting for co-signers, or ended
 * (revoked when the store asks for one signature, or refused). The workflow's waitForAnswer
 * update answers then, so nothing polls; a worker from before the update gets the status polled.
 */
export function waitForRevocationAnswer(client: Client, id: string): Promise<RevocationStatus> {
  return workflowAnswer(client, id, revocationAnswerUpdate, {
    poll: () => waitForRevocation(client, id, (s) => !REVOCATION_BEFORE_ANSWER_STATES.includes(s.state)),
    notFound: () => new CountersignError('UNKNOWN_PROMOTION', `no revocation "${id}"`),
  });
}

export interface Revocation {
  key: TrustKey;
  /**
   * Promotions whose images carry (or may carry) this key's production signature: PROMOTED ones,
   * and those that failed or stopped after prod-sign (at release). Re-sign or quarantine them.
   */
  signed: SignedPromotion[];
  /** Promotions still running pinned to it and not yet signed: their production signature will be refused. */
  inFlight: PinnedPromotion[];
  /** Each list holds at most `limit` promotions; `capped` says which lists had more. */
  limit: number;
  capped: { signed: boolean; inFlight: boolean };
}

/** What a (revoked) key signed, and what is still in flight pinned to it, from visibility. */
export async function pinnedTo(client: Client, key: TrustKey, limit = PINNED_LISTING_LIMIT): Promise<Omit<Revocation, 'key'>> {
  const [signed, running] = await Promise.all([runsSignedBy(client, key.fingerprint, limit), runsInFlight(client, key.fingerprint, limit)]);
  return reconcilePinned(signed, running, limit);
}

/**
 * One answer from the two listings. They read visibility moments apart, so a promotion passing
 * from PROD_SIGNING to RELEASING between them can be seen signing by one and releasing by the
 * other: it must be listed once, as signed (its production signature is out), never in neither
 * list and never as one whose signature will still be refused.
 */
export function reconcilePinned(signed: Listing<SignedPromotion>, running: Listing<PinnedPromotion>, limit: number): Omit<Revocation, 'key'> {
  const signedIds = new Set(signed.promotions.map((p) => p.promotionId));
  // Releasing in the running listing though the signed listing saw it still signing: signed.
  const releasing: SignedPromotion[] = running.promotions.filter((p) => p.state === 'RELEASING' && !signedIds.has(p.promotionId)).map((p) => ({ ...p, signature: 'written' }));
  const all = [...signed.promotions, ...releasing];
  // A running promotion already releasing has its signature: listed as signed, not as one to be refused.
  const inFlight = running.promotions.filter((p) => p.state !== 'RELEASING' && !signedIds.has(p.promotionId));
  return { signed: all.slice(0, limit), inFlight, limit, capped: { signed: signed.capped || all.length > limit, inFlight: running.capped } };
}
