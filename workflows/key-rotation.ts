/**
 * Key rotation, started by a Temporal Schedule (or by hand): runs the key ceremony as a child
 * (with the same two things the rotation got: the store's name and the signed request), then
 * retires each key the new one superseded, once its overlap window is over and no in-flight
 * promotion (cosign key) or chart release (OpenPGP key) is pinned to it (asked of visibility,
 * durably, every retirePollMs), in the directory the ceremony's plan resolved.
 */
import { proxyActivities, setHandler, sleep, startChild, workflowInfo } from '@temporalio/workflow';
import type { KeyActivities } from '../activities/keys';
import { keyCeremony } from './key-ceremony';
import { failureMessage } from './timeline';
import { ceremonyIdFor, DEFAULT_RETIRE_POLL_MS, MIN_RETIRE_POLL_MS, rotationCeremonyUpdate, rotationQuery, type RotationInput, type RotationStatus } from './key-ceremony-messages';
import { answerWhen } from './waiting-update';

const { countPinnedInFlight, retireKey } = proxyActivities<KeyActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function keyRotation(input: RotationInput): Promise<RotationStatus> {
  const rotationId = workflowInfo().workflowId;
  const status: RotationStatus = { rotationId, ceremonyId: ceremonyIdFor(rotationId), state: 'CEREMONY', retiring: [] };
  setHandler(rotationQuery, () => status);
  let ceremonyStarted = false;
  answerWhen(rotationCeremonyUpdate, () => ceremonyStarted, () => status);

  const child = await startChild(keyCeremony, { workflowId: status.ceremonyId, args: [{ trust: input?.trust, request: input?.request }] });
  ceremonyStarted = true;
  const ceremony = await child.result();
  if (ceremony.state === 'NOTHING_MADE') {
    status.state = 'NOTHING_MADE';
    status.note = ceremony.note;
    return status;
  }
  if (ceremony.state !== 'PUBLISHED' || !ceremony.location) {
    status.state = ceremony.state === 'EXPIRED' || ceremony.state === 'REJECTED' || ceremony.state === 'REFUSED' ? ceremony.state : 'FAILED';
    status.error = ceremony.error;
    return status;
  }
  status.newKey = ceremony.key;
  status.state = 'RETIRING';
  status.retiring = ceremony.retiring.map((k) => ({ id: k.id, fingerprint: k.fingerprint, retireAfter: k.retireAfter, inFlight: 0 }));
  // The one number a caller chooses; a tight loop on visibility is not among the choices.
  const pollMs = Math.max(MIN_RETIRE_POLL_MS, Number(input.retirePollMs) || DEFAULT_RETIRE_POLL_MS);
  for (const old of status.retiring) {
    const overlapLeft = old.retireAfter ? Date.parse(old.retireAfter) - Date.now() : 0;
    if (overlapLeft > 0) await sleep(overlapLeft);
    // Cosign keys wait for every promotion pinned to them, OpenPGP keys for every chart release.
    for (;;) {
      old.inFlight = await countPinnedInFlight(old.fingerprint);
      if (old.inFlight === 0) break;
      await sleep(pollMs);
    }
    try {
      const retired = await retireKey({ workflowId: status.ceremonyId, runId: ceremony.runId!, publication: ceremony.publication! }, old.id, `superseded by ${ceremony.key?.id}; overlap over and no promotion pinned to it`);
      old.retiredAt = retired.statusChangedAt;
    } catch (err) {
      // A refusal (a publication the worker did not seal) ends the rotation with what it said, not a bare workflow failure.
      status.state = 'FAILED';
      status.error = failureMessage(err);
      return status;
    }
  }
  status.state = 'DONE';
  return status;
}
