/**
 * The first step of every key ceremony: the worker checks the governance member's signed ceremony
 * request against its own configuration and resolves the trust store into the plan the run pins.
 * Custodians, their keys, the key backend (KMS endpoint included), the directories and the overlap
 * come from the worker's `trust:` entry for the store the request names, never from the caller.
 */
import { CountersignError } from '../errors';
import { CEREMONY_REQUEST_MAX_AGE_MS, parseCeremonyRequest, type CeremonyRequest } from '../requests/ceremony-request';
import { REQUEST_CLOCK_SKEW_MS } from '../requests/start-request';
import type { SignedStatement } from '../requests/statement';
import { checkGovernanceSignature, checkNotReplayed, parsed, workerConfig, type GovernanceDeps } from './governance';
import { ceremonyIdFor, isRotationOf, rotationIdOf, rotationScheduleId } from './ids';
import type { CeremonyPlan, StoreLocation } from './plan';
import { ceremonyPlanDigest, pinPeople, trustStoreOf } from './resolve';
import { TrustStore } from './store';

export interface CeremonyAuthorizeInput {
  /** The trust store the workflow input names; the request must name the same. */
  trust: string;
  request: SignedStatement;
  /** The ceremony's workflow id and first run id. */
  workflowId: string;
  runId: string;
  /** The rotation running this ceremony as its child, when one does. */
  rotation?: { workflowId: string; runId: string };
  /** When the ceremony started (workflow time, ISO). */
  startedAt: string;
}

export async function authorizeCeremony(deps: GovernanceDeps, input: CeremonyAuthorizeInput): Promise<CeremonyPlan> {
  const config = workerConfig(deps);
  const request = parsed(input.request, parseCeremonyRequest, 'key ceremony');
  if (request.trust !== input.trust) throw new CountersignError('REQUEST_INVALID', `the request is for trust store ${request.trust}, but the ceremony was started for ${input.trust}`);
  const store = trustStoreOf(config, request.trust);
  checkGovernanceSignature(config, store, input.request, request.initiator, 'ceremony request');
  checkRun(input, request);
  checkTime(request, Date.parse(input.startedAt));
  if (request.scope.startsWith('rotation:')) {
    // The ceremony's id and its rotation's: a request used by one of them is used.
    const runs = [{ workflowId: input.workflowId, runId: input.runId }, ...(input.rotation ? [input.rotation] : [])];
    await checkNotReplayed(deps, runs, request.nonce, 'ceremony request');
  }
  const planDigest = await ceremonyPlanDigest(config, store);
  if (request.planDigest !== planDigest) {
    throw new CountersignError(
      'REQUEST_INVALID',
      `the request is for plan ${request.planDigest}, but the worker's configuration of trust store ${store.name} gives plan ${planDigest}: the configuration changed since it was signed (sign a new request)`,
    );
  }
  const location = { name: store.name, publishDir: store.publishDir, stateFile: store.stateFile };
  await checkNotMadeBefore(location, input.workflowId);
  const custodians = [...new Set(store.custodians.groups.flatMap((g) => g.members))];
  return {
    trust: store.name,
    kind: store.kind,
    initiator: request.initiator,
    custodians: {
      ...store.custodians,
      deadlineMs: Math.min(request.deadlineMs ?? store.custodians.deadlineMs, store.custodians.deadlineMs),
      roster: await pinPeople(config, custodians, 'custodians'),
    },
    backend: store.backend,
    ...(store.userId ? { userId: store.userId } : {}),
    location,
    overlapMs: store.overlapMs,
    planDigest,
    scope: request.scope,
    configFile: config.file,
  };
}

/**
 * The run is a rotation of the request's store (the ceremony's parent, or the rotation its id
 * names), the ceremony is that rotation's, and the request's scope covers it: its one rotation,
 * or any run of the store's schedule (a ceremony started on its own is no schedule's run).
 */
function checkRun(input: CeremonyAuthorizeInput, request: CeremonyRequest): void {
  const rotationId = input.rotation?.workflowId ?? rotationIdOf(input.workflowId);
  if (!rotationId || !isRotationOf(rotationId, request.trust) || input.workflowId !== ceremonyIdFor(rotationId)) {
    throw new CountersignError('REQUEST_INVALID', `${input.workflowId} is not a key ceremony of trust store ${request.trust} (key-ceremony-${request.trust}-<time>, run by key-rotation-${request.trust}-<time>)`);
  }
  if (request.scope === `rotation:${rotationId}`) return;
  // Temporal names a schedule's runs <schedule id>-<time>.
  if (request.scope === `schedule:${rotationScheduleId(request.trust)}` && input.rotation) return;
  throw new CountersignError('REQUEST_OUT_OF_SCOPE', `the request is for ${request.scope}, not for run ${rotationId}`);
}

/**
 * A ceremony id makes one key. A rotation run again under an id whose ceremony published a key
 * (a schedule's request is not spent, so it can be replayed) is refused before custodians are asked.
 */
async function checkNotMadeBefore(location: StoreLocation, ceremonyId: string): Promise<void> {
  const store = new TrustStore(location);
  const made = store.ownKeys(await store.index()).find((k) => k.ceremony === ceremonyId);
  if (made) {
    throw new CountersignError(
      'REQUEST_REPLAYED',
      `${ceremonyId} already published key ${made.id} at ${made.validFrom} (${made.status} now): a ceremony makes one key, nothing was made; start a new rotation for another`,
    );
  }
}

function checkTime(request: CeremonyRequest, startedAt: number): void {
  const at = Date.parse(request.time);
  const started = new Date(startedAt).toISOString();
  if (at > startedAt + REQUEST_CLOCK_SKEW_MS) throw new CountersignError('REQUEST_INVALID', `the request is dated ${request.time}, after this ceremony started (${started})`);
  // A schedule's request stands for every run of the schedule; one run's request is good for a day.
  if (request.scope.startsWith('rotation:') && at < startedAt - CEREMONY_REQUEST_MAX_AGE_MS) {
    throw new CountersignError('REQUEST_EXPIRED', `the request was signed at ${request.time}, more than 24 hours before this ceremony started (${started})`);
  }
}
