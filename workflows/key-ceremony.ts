/**
 * Key ceremony: a governance member starts it with a signed request (checked first; a request that
 * does not verify ends it REFUSED, no custodian asked); M of N custodians join through the approval gate
 * (signed statements, distinct roster identities, the initiator excluded); then the key is made
 * (file, KMS or OpenPGP) and published to the trust directory. No quorum by the deadline: EXPIRED.
 */
import { proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { KeyActivities } from '../activities/keys';
import { ApprovalGate } from './approval-gate';
import { ceremonyRequestProblem } from './ceremony-request';
import { failureMessage } from './timeline';
import { ceremonyQuery, type CeremonyInput, type CeremonyStatus } from './key-ceremony-messages';

// Key creation talks to KMS or burns CPU (RSA 4096); publication writes a few files. Both are
// idempotent (the key is named after the ceremony; publication is keyed by key id).
const { createCeremonyKey, publishCeremonyKey } = proxyActivities<KeyActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

export async function keyCeremony(input: CeremonyInput): Promise<CeremonyStatus> {
  const info = workflowInfo();
  const ceremonyId = info.workflowId;
  const gate = new ApprovalGate({ id: ceremonyId, runId: info.firstExecutionRunId, digest: input.planDigest, initiator: input.initiator, noun: 'key ceremony' }, input.custodians);
  const status: CeremonyStatus = {
    ceremonyId,
    trust: input.trust,
    kind: input.kind,
    initiator: input.initiator,
    state: 'AWAITING_CUSTODIANS',
    approval: gate.view(),
    retiring: [],
  };
  setHandler(ceremonyQuery, () => ({ ...status, approval: gate.view() }));

  // Schedules made before requests were signed carry none: they are refused until re-created.
  const refused = ceremonyRequestProblem(input.request, {
    trust: input.trust,
    planDigest: input.planDigest,
    initiator: input.initiator,
    governance: input.governance ?? {},
    runId: info.parent?.workflowId ?? info.workflowId,
    now: Date.now(),
  });
  if (refused) {
    status.state = 'REFUSED';
    status.error = `CEREMONY_REFUSED: ${refused}`;
    return status;
  }

  const outcome = await gate.run();
  status.approval = gate.view();
  if (outcome.state !== 'APPROVED') {
    status.state = outcome.state;
    status.error = `${outcome.state}: ${outcome.summary}`;
    return status;
  }
  try {
    status.state = 'CREATING';
    const created = await createCeremonyKey({ kind: input.kind, backend: input.backend, name: ceremonyId, userId: input.userId });
    status.state = 'PUBLISHING';
    const published = await publishCeremonyKey({ publishDir: input.publishDir, stateFile: input.stateFile }, created, ceremonyId, input.overlapMs);
    status.key = published.key;
    status.retiring = published.retiring;
    status.state = 'PUBLISHED';
  } catch (err) {
    status.state = 'FAILED';
    status.error = failureMessage(err);
  }
  return status;
}

