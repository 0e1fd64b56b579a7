/**
 * Key revocation: the worker checks the governance member's signed request against its own
 * configuration (the store, the key among that store's keys, the requester among its governance)
 * and pins the plan; when the store asks for more than one signature, further governance members
 * co-sign through the approval gate (statements naming this run and the request's digest); then
 * the key is marked revoked in the published index with every signer, the time and the reason.
 */
import { proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { KeyActivities } from '../activities/keys';
import { readRevocationClaim } from '../src/requests/revocation-request';
import { governanceGate, passGate } from './governance-gate';
import { failureMessage } from './timeline';
import { REVOCATION_BEFORE_ANSWER_STATES, revocationAnswerUpdate, revocationQuery, type RevocationInput, type RevocationStatus } from './key-revocation-messages';
import { answerWhen } from './waiting-update';

// The worker's answer to the request; a refusal is final, visibility catching up is retried.
const { authorizeRevocation } = proxyActivities<KeyActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
});

// Writing the index is local; a held lock (TRUST_BUSY) clears up, so retry for a while.
const { revokeTrustKey } = proxyActivities<KeyActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20 },
});

export async function keyRevocation(input: RevocationInput): Promise<RevocationStatus> {
  const { workflowId: revocationId, firstExecutionRunId: runId } = workflowInfo();
  const claim = readRevocationClaim(input?.request);
  const gate = governanceGate(revocationId, runId, 'key revocation');
  const status: RevocationStatus = { revocationId, ...claim, state: 'AUTHORIZING', signers: [], approval: gate.view() };
  // The requester's signature counts once the worker accepted it; co-signers' once the gate did.
  const signers = () => (status.state === 'AUTHORIZING' || status.state === 'REFUSED' ? [] : [status.requester, ...gate.record().filter((v) => v.decision === 'approve').map((v) => v.approver)]);
  const view = () => ({ ...status, approval: gate.view(), signers: signers() });
  setHandler(revocationQuery, view);
  answerWhen(revocationAnswerUpdate, () => !REVOCATION_BEFORE_ANSWER_STATES.includes(status.state), view);

  let plan;
  try {
    plan = await authorizeRevocation({ request: input?.request, workflowId: revocationId, runId });
  } catch (err) {
    status.state = 'REFUSED';
    status.error = failureMessage(err);
    return status;
  }
  Object.assign(status, { trust: plan.trust, keyId: plan.keyId, fingerprint: plan.fingerprint, requester: plan.requester, reason: plan.reason, required: plan.required });
  try {
    if (plan.required > 1 && !plan.alreadyRevoked) {
      const subject = { id: revocationId, runId, digest: plan.requestDigest, initiator: plan.requester, noun: 'key revocation', role: `a governance member of store ${plan.trust}` };
      if (!(await passGate(gate, subject, plan.cosigners, status, 'AWAITING_SIGNATURES'))) return status;
    }
    status.state = 'REVOKING';
    // The step checks the plan's seal and the co-signers' statements again before it writes.
    const revoked = await revokeTrustKey({ runId, plan }, gate.signedVotes(), new Date().toISOString());
    status.key = revoked.key;
    if (revoked.kms) status.kms = revoked.kms;
    status.state = 'REVOKED';
  } catch (err) {
    status.state = 'FAILED';
    status.error = failureMessage(err);
  }
  status.signers = signers();
  return status;
}
