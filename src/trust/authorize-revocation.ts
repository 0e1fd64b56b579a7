/**
 * The first step of a revocation: the worker checks the governance member's signed revocation
 * request against its own configuration, finds the key among the named store's keys (another
 * store's key is refused, even in a shared directory), and resolves who else must co-sign.
 */
import { parseRevocationRequest, REVOCATION_REQUEST_VALIDITY_MS, revocationWorkflowId } from '../requests/revocation-request';
import type { SignedStatement } from '../requests/statement';
import { checkKeyRequest, type GovernanceDeps } from './governance';
import type { RevocationPlan } from './plan';
import { pinPeople } from './resolve';

/** How long further governance members have to co-sign a revocation. */
export const REVOCATION_COSIGN_DEADLINE_MS = 24 * 60 * 60_000;

export interface RevocationAuthorizeInput {
  request: SignedStatement;
  workflowId: string;
  runId: string;
}

export async function authorizeRevocation(deps: GovernanceDeps, input: RevocationAuthorizeInput): Promise<RevocationPlan> {
  const { config, request, store, location, key, requestDigest } = await checkKeyRequest(deps, input, {
    noun: 'revocation',
    parse: parseRevocationRequest,
    validityMs: REVOCATION_REQUEST_VALIDITY_MS,
    workflowId: revocationWorkflowId,
  });
  const others = store.governance.filter((m) => m !== request.requester);
  return {
    trust: store.name,
    keyId: key.id,
    fingerprint: key.fingerprint,
    kind: key.kind,
    reason: request.reason.trim(),
    requester: request.requester,
    requestedAt: request.time,
    requestDigest,
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
