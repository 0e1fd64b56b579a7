/**
 * Key ceremony: the worker first checks the governance member's signed request against its own
 * configuration and resolves the trust store into the plan this run pins (a refusal ends it
 * REFUSED, no custodian asked); M of N custodians from that plan join through the approval gate
 * (signed statements, distinct roster identities, the initiator excluded); then the key is made
 * (file, KMS or OpenPGP) with the plan's backend and published to the plan's directory. No quorum
 * by the deadline: EXPIRED.
 */
import { proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { KeyActivities } from '../activities/keys';
import { readCeremonyClaim } from '../src/requests/ceremony-request';
import { governanceGate, passGate } from './governance-gate';
import { failureMessage } from './timeline';
import { ceremonyAnswerUpdate, ceremonyQuery, type CeremonyInput, type CeremonyStatus } from './key-ceremony-messages';
import { answerWhen } from './waiting-update';

// The worker's answer to the request; a refusal is final, visibility catching up is retried.
const { authorizeCeremony } = proxyActivities<KeyActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
});

// Key creation talks to KMS or burns CPU (RSA 4096); publication writes a few files. Both are
// idempotent (the key is named after the ceremony; publication is keyed by key id), so a KMS
// outage is waited out: attempts back off to 30 s apart for 30 minutes in all.
const { createCeremonyKey, publishCeremonyKey } = proxyActivities<KeyActivities>({
  startToCloseTimeout: '5 minutes',
  scheduleToCloseTimeout: '30 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export async function keyCeremony(input: CeremonyInput): Promise<CeremonyStatus> {
  const info = workflowInfo();
  const ceremonyId = info.workflowId;
  const runId = info.firstExecutionRunId;
  const claim = readCeremonyClaim(input?.request);
  const gate = governanceGate(ceremonyId, runId, 'key ceremony');
  const status: CeremonyStatus = {
    ceremonyId,
    trust: typeof input?.trust === 'string' ? input.trust : '',
    initiator: claim.initiator,
    state: 'AUTHORIZING',
    approval: gate.view(),
    retiring: [],
  };
  const view = (): CeremonyStatus => ({ ...status, approval: gate.view() });
  setHandler(ceremonyQuery, view);
  answerWhen(ceremonyAnswerUpdate, () => status.state !== 'AUTHORIZING', view);

  let plan;
  try {
    plan = await authorizeCeremony({
      trust: status.trust,
      request: input?.request,
      workflowId: ceremonyId,
      runId,
      ...(info.parent ? { rotation: { workflowId: info.parent.workflowId, runId: info.parent.runId } } : {}),
      startedAt: info.startTime.toISOString(),
    });
  } catch (err) {
    status.state = 'REFUSED';
    status.error = failureMessage(err);
    return status;
  }
  Object.assign(status, { kind: plan.kind, initiator: plan.initiator, planDigest: plan.planDigest, location: plan.location });
  const subject = { id: ceremonyId, runId, digest: plan.planDigest, initiator: plan.initiator, noun: 'key ceremony', role: `a custodian of store ${plan.trust}` };
  if (!(await passGate(gate, subject, plan.custodians, status, 'AWAITING_CUSTODIANS'))) return status;
  try {
    status.state = 'CREATING';
    // Each step gets the plan as authorize sealed it and checks the seal (and publication the custodians' votes) before it acts.
    const run = { runId, plan };
    const created = await createCeremonyKey(run);
    status.state = 'PUBLISHING';
    const published = await publishCeremonyKey(run, created, gate.signedVotes());
    status.key = published.key;
    status.runId = runId;
    status.publication = published;
    status.retiring = published.retiring;
    // A replayed ceremony id finds the key an earlier run published: say that, never "published".
    if (published.earlier) {
      status.state = 'NOTHING_MADE';
      status.note = published.earlier;
    } else status.state = 'PUBLISHED';
  } catch (err) {
    status.state = 'FAILED';
    status.error = failureMessage(err);
  }
  return status;
}
