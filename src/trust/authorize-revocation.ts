/**
 * The first step of a revocation: the worker checks the governance member's signed revocation
 * request against its own configuration, finds the key among the named store's keys (another
 * store's key is refused, even in a shared directory), and resolves who else must co-sign.
 */
import crypto from 'node:crypto';
import { CountersignError } from '../errors';
import { REQUEST_CLOCK_SKEW_MS } from '../requests/start-request';
import { parseRevocationRequest, REVOCATION_REQUEST_VALIDITY_MS, revocationWorkflowId } from '../requests/revocation-request';
import type { SignedStatement } from '../requests/statement';
import { checkGovernanceSignature, checkNotReplayed, parsed, workerConfig, type GovernanceDeps } from './governance';
import type { RevocationPlan } from './plan';
import { pinPeople, trustStoreOf } from './resolve';
import { TrustStore } from './store';

/** How long further governance members have to co-sign a revocation. */
export const REVOCATION_COSIGN_DEADLINE_MS = 24 * 60 * 60_000;

export interface RevocationAuthorizeInput {
  request: SignedStatement;
  workflowId: string;
  runId: string;
}

export async function authorizeRevocation(deps: GovernanceDeps, input: RevocationAuthorizeInput): Promise<RevocationPlan> {
  const config = workerConfig(deps);
  const request = parsed(input.request, parseRevocationRequest, 'revocation');
  const store = trustStoreOf(config, request.trust);
  checkGovernanceSignature(config, store, input.request, request.requester, 'revocation request');
  const now = (deps.now ?? (() => new Date()))().getTime();
  const signedAt = Date.parse(request.time);
  if (signedAt > now + REQUEST_CLOCK_SKEW_MS) throw new CountersignError('REQUEST_INVALID', `the revocation request is dated in the future (${request.time})`);
  if (now - signedAt > REVOCATION_REQUEST_VALIDITY_MS) {
    throw new CountersignError('REQUEST_EXPIRED', `the revocation request was signed at ${request.time}; it is good for ${REVOCATION_REQUEST_VALIDITY_MS / 60_000} minutes: sign a new one`);
  }
  const expectedId = revocationWorkflowId(request.trust, request.keyId);
  if (input.workflowId !== expectedId) throw new CountersignError('REQUEST_INVALID', `the revocation request is for ${expectedId}, but this run is ${input.workflowId}`);
  await checkNotReplayed(deps, [{ workflowId: input.workflowId, runId: input.runId }], request.nonce, 'revocation request');

  const location = { name: store.name, publishDir: store.publishDir, stateFile: store.stateFile };
  const trustStore = new TrustStore(location);
  const index = await trustStore.index();
  const key = trustStore.ownKeys(index).find((k) => k.id === request.keyId && k.kind === store.kind);
  if (!key) {
    const elsewhere = index.keys.some((k) => k.id === request.keyId);
    throw new CountersignError('KEY_UNKNOWN', `key ${request.keyId} is not in trust store ${store.name}${elsewhere ? ' (it is another store\'s key)' : ` (${store.publishDir}/index.json has no such key)`}`);
  }
  if (key.fingerprint.toLowerCase() !== request.fingerprint.toLowerCase()) {
    throw new CountersignError('KEY_UNKNOWN', `key ${key.id} of trust store ${store.name} has fingerprint ${key.fingerprint}, not the request's ${request.fingerprint}`);
  }
  const others = store.governance.filter((m) => m !== request.requester);
  return {
    trust: store.name,
    keyId: key.id,
    fingerprint: key.fingerprint,
    kind: key.kind,
    reason: request.reason.trim(),
    requester: request.requester,
    requestedAt: request.time,
    requestDigest: `sha256:${crypto.createHash('sha256').update(input.request.statement, 'utf8').digest('hex')}`,
    required: store.revocation.required,
    cosigners: {
      groups: [{ name: 'governance', members: others, required: store.revocation.required - 1 }],
      // A revocation is a safety action: one member's objection is recorded, not a veto.
      vetoOnReject: false,
      deadlineMs: REVOCATION_COSIGN_DEADLINE_MS,
      roster: await pinPeople(config, store.governance, 'governance members'),
    },
    location,
    alreadyRevoked: key.status === 'revoked',
    ...(store.revocation.disableKmsKey ? { disableKmsKey: true } : {}),
    configFile: config.file,
  };
}
