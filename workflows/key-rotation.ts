/**
 * Key rotation, started by a Temporal Schedule (or by hand): runs the key ceremony as a child,
 * then retires each key the new one superseded, once its overlap window is over and no in-flight
 * promotion (cosign key) or chart release (OpenPGP key) is pinned to it (asked of visibility,
 * durably, every retirePollMs).
 */
import { executeChild, patched, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { KeyActivities } from '../activities/keys';
import { keyCeremony } from './key-ceremony';
import { ceremonyIdFor, DEFAULT_RETIRE_POLL_MS, rotationQuery, type RotationInput, type RotationStatus } from './key-ceremony-messages';

const { countPinnedInFlight, retireKey } = proxyActivities<KeyActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function keyRotation(input: RotationInput): Promise<RotationStatus> {
  const rotationId = workflowInfo().workflowId;
  const status: RotationStatus = { rotationId, ceremonyId: ceremonyIdFor(rotationId), state: 'CEREMONY', retiring: [] };
  setHandler(rotationQuery, () => status);

  const ceremony = await executeChild(keyCeremony, { workflowId: status.ceremonyId, args: [input.ceremony] });
  if (ceremony.state !== 'PUBLISHED') {
    status.state = ceremony.state === 'EXPIRED' || ceremony.state === 'REJECTED' || ceremony.state === 'REFUSED' ? ceremony.state : 'FAILED';
    status.error = ceremony.error;
    return status;
  }
  status.newKey = ceremony.key;
  status.state = 'RETIRING';
  status.retiring = ceremony.retiring.map((k) => ({ id: k.id, fingerprint: k.fingerprint, retireAfter: k.retireAfter, inFlight: 0 }));
  const location = { publishDir: input.ceremony.publishDir, stateFile: input.ceremony.stateFile };
  const pollMs = input.retirePollMs ?? DEFAULT_RETIRE_POLL_MS;
  for (const old of status.retiring) {
    const overlapLeft = old.retireAfter ? Date.parse(old.retireAfter) - Date.now() : 0;
    if (overlapLeft > 0) await sleep(overlapLeft);
    // Cosign keys wait for every promotion pinned to them, OpenPGP keys for every chart release
    // (rotations started before chart releases were counted skip it, as they did then).
    const countsChartReleases = patched('openpgp-retirement-waits-for-chart-releases');
    for (;;) {
      old.inFlight = ceremony.kind === 'cosign' || countsChartReleases ? await countPinnedInFlight(old.fingerprint) : 0;
      if (old.inFlight === 0) break;
      await sleep(pollMs);
    }
    const retired = await retireKey(location, old.id, `superseded by ${ceremony.key?.id}; overlap over and no promotion pinned to it`);
    old.retiredAt = retired.statusChangedAt;
  }
  status.state = 'DONE';
  return status;
}
