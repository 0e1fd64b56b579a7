/**
 * The client side of key ceremonies and rotation: sign a ceremony request, start a ceremony (as
 * a rotation), schedule rotations, read their status. Revocation is in revocation-client.ts.
 */
import { Client, ScheduleAlreadyRunning, ScheduleNotFoundError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../config';
import { CountersignError } from '../errors';
import { keyFingerprint } from '../keys/public-key';
import type { Signer } from '../keys/signer';
import { CEREMONY_REQUEST_TYPE, parseCeremonyRequest, type CeremonyRequest } from '../requests/ceremony-request';
import { newNonce, signStatement } from '../requests/sign';
import { canonicalJson, type SignedStatement } from '../requests/statement';
import { formatInterval, parseDuration } from '../duration';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import {
  ceremonyAnswerUpdate,
  ceremonyIdFor,
  ceremonyQuery,
  KEY_CEREMONY_WORKFLOW_TYPE,
  KEY_ROTATION_WORKFLOW_TYPE,
  ROTATION_SCHEDULE_PREFIX,
  rotationCeremonyUpdate,
  rotationQuery,
  type CeremonyStatus,
  type RotationInput,
  type RotationStatus,
} from '../../workflows/key-ceremony-messages';
import { KEY_REVOCATION_WORKFLOW_TYPE, revocationQuery, type RevocationStatus } from '../../workflows/key-revocation-messages';
import { campaignQuery, KEY_CAMPAIGN_WORKFLOW_TYPE, type CampaignStatus } from '../../workflows/key-campaign-messages';
import { KEY_ROOT_WORKFLOW_TYPE, rootQuery, type RootStatus } from '../../workflows/key-root-messages';
import type { TrustConfig } from '../trust/config';
import { rotationIdFor, rotationScheduleId } from '../trust/ids';
import { ceremonyPlanDigest, pinPeople } from '../trust/resolve';
import { workflowAnswer } from './workflow-answer';

export { rotationIdFor, rotationScheduleId };

/** The trust store `--trust` names in the caller's configuration, or the only one there is. */
export function trustConfig(config: Config, name: string | undefined): TrustConfig {
  const names = Object.keys(config.trust);
  const chosen = name ?? (names.length === 1 ? names[0] : undefined);
  if (!chosen) throw new CountersignError('BAD_INPUT', `--trust is required (trust stores in ${config.file}: ${names.join(', ') || 'none'})`);
  const trust = Object.hasOwn(config.trust, chosen) ? config.trust[chosen] : undefined;
  if (!trust) throw new CountersignError('BAD_INPUT', `no trust store "${chosen}" in ${config.file} (trust stores: ${names.join(', ') || 'none'})`);
  return trust;
}

export interface CeremonyRequestOptions {
  /** The initiator's own key (their roster key): it signs the ceremony request. */
  signer: Signer;
  /** `rotation:<rotation id>` (rotationIdFor) or `schedule:<schedule id>` (rotationScheduleId). */
  scope: string;
  /** A shorter custodians' deadline than the store's (never longer). */
  deadlineMs?: number;
  time?: Date;
}

/**
 * The initiator's signed ceremony request, naming the plan digest of the store as the caller's
 * configuration gives it. Refuses here, before anything starts, what the worker would refuse for
 * the same configuration: an initiator outside governance, a key that is not theirs.
 */
export async function signCeremonyRequest(config: Config, trust: TrustConfig, initiator: string, options: CeremonyRequestOptions): Promise<{ request: SignedStatement; planDigest: string }> {
  if (!trust.governance.includes(initiator)) {
    throw new CountersignError('BAD_INPUT', `${initiator} is not in trust.${trust.name}.governance (${trust.governance.join(', ')}); only governance members start key ceremonies`);
  }
  const own = (await pinPeople(config, [initiator], 'governance member'))[initiator];
  const signerFingerprint = keyFingerprint(await options.signer.publicKeyPem());
  if (signerFingerprint !== own.fingerprint) {
    throw new CountersignError('KEY_INVALID', `the key given to sign the ceremony request (${signerFingerprint.slice(0, 16)}) is not ${initiator}'s roster key (${own.fingerprint.slice(0, 16)})`);
  }
  const planDigest = await ceremonyPlanDigest(config, trust);
  const request: CeremonyRequest = {
    _type: CEREMONY_REQUEST_TYPE,
    trust: trust.name,
    planDigest,
    initiator,
    scope: options.scope,
    time: (options.time ?? new Date()).toISOString(),
    nonce: newNonce(),
    ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
  };
  try {
    parseCeremonyRequest({ statement: canonicalJson(request), signature: '' });
  } catch (err) {
    throw new CountersignError('BAD_INPUT', (err as Error).message);
  }
  return { request: await signStatement(request, options.signer), planDigest };
}

/** Starts a rotation at `now` (the time its request's scope names): a ceremony, then retirement of the superseded key. */
export async function startRotation(client: Client, input: RotationInput, now = new Date()): Promise<{ rotationId: string; ceremonyId: string }> {
  const rotationId = rotationIdFor(input.trust, now);
  try {
    await client.workflow.start(KEY_ROTATION_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: rotationId, args: [input] });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CountersignError('BAD_INPUT', `rotation ${rotationId} was started in this same second and is running: follow it with countersign keys status ${rotationId}`);
    throw err;
  }
  return { rotationId, ceremonyId: ceremonyIdFor(rotationId) };
}

export interface RotationSchedule {
  scheduleId: string;
  trust: string;
  /** The interval as it was given: 90d, 12h, 30s. */
  every: string;
  everyMs?: number;
  paused: boolean;
  note?: string;
  recentRuns: string[];
  nextRuns: string[];
}

/**
 * The first run of a schedule made at `now`: `start` when given (it must be in the future),
 * else one interval from now. Whole seconds, as Temporal's calendar works in seconds.
 */
export function firstRotationAt(everyMs: number, now: Date, start?: Date): Date {
  if (start && start.getTime() <= now.getTime()) throw new CountersignError('BAD_INPUT', `--start ${start.toISOString()} is not in the future`);
  const first = start ?? new Date(now.getTime() + everyMs);
  return new Date(Math.ceil(first.getTime() / 1000) * 1000);
}

/**
 * Creates (or replaces) the schedule `key-rotation-<trust>` that runs a rotation every `everyMs`,
 * first at `firstAt`. Temporal aligns intervals to the epoch, so the offset puts the runs at
 * `firstAt + n * every`, and `startAt` skips the matching times before it. Its action carries only
 * the store's name and the request signed for the schedule: each run is resolved from the
 * worker's configuration as it stands then.
 */
export async function scheduleRotation(client: Client, input: RotationInput, everyMs: number, firstAt = firstRotationAt(everyMs, new Date())): Promise<string> {
  const scheduleId = rotationScheduleId(input.trust);
  const spec = { intervals: [{ every: everyMs, offset: firstAt.getTime() % everyMs }], startAt: firstAt };
  const options = {
    scheduleId,
    spec,
    action: { type: 'startWorkflow' as const, workflowType: KEY_ROTATION_WORKFLOW_TYPE, taskQueue: TASK_QUEUE, workflowId: scheduleId, args: [input] },
    memo: { trust: input.trust, everyMs, firstAt: firstAt.toISOString() },
  };
  try {
    await client.schedule.create(options);
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec: options.spec, action: options.action }));
  }
  return scheduleId;
}

export async function listRotationSchedules(client: Client): Promise<RotationSchedule[]> {
  const out: RotationSchedule[] = [];
  for await (const summary of client.schedule.list()) {
    if (!summary.scheduleId.startsWith(ROTATION_SCHEDULE_PREFIX)) continue;
    const d = await client.schedule.getHandle(summary.scheduleId).describe();
    const every = d.spec.intervals?.[0]?.every;
    const everyMs = typeof every === 'number' ? every : typeof every === 'string' ? msOrUndefined(every) : undefined;
    out.push({
      scheduleId: d.scheduleId,
      trust: d.scheduleId.slice(ROTATION_SCHEDULE_PREFIX.length),
      every: everyMs === undefined ? String(every ?? '') : formatInterval(everyMs),
      ...(everyMs !== undefined ? { everyMs } : {}),
      paused: d.state.paused,
      note: d.state.note,
      recentRuns: d.info.recentActions.map((a) => a.action.workflow.workflowId),
      nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    });
  }
  return out;
}

function msOrUndefined(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/**
 * Starts a rotation now from its schedule and returns the run it started (the schedule's recent
 * actions, watched for one that was not there before).
 */
export async function triggerRotation(client: Client, which: string, options: { timeoutMs?: number } = {}): Promise<{ scheduleId: string; rotationId: string; ceremonyId: string }> {
  const scheduleId = which.startsWith(ROTATION_SCHEDULE_PREFIX) ? which : `${ROTATION_SCHEDULE_PREFIX}${which}`;
  const handle = client.schedule.getHandle(scheduleId);
  const runs = async () => {
    try {
      return (await handle.describe()).info.recentActions.map((a) => a.action.workflow.workflowId);
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw new CountersignError('BAD_INPUT', `no rotation schedule ${scheduleId} (see countersign keys schedules)`);
      throw err;
    }
  };
  const before = new Set(await runs());
  await handle.trigger();
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const started = (await runs()).find((id) => !before.has(id));
    if (started) return { scheduleId, rotationId: started, ceremonyId: ceremonyIdFor(started) };
    if (Date.now() > deadline) throw new CountersignError('STACK_ERROR', `${scheduleId} was triggered, but no run showed up in ${Math.round((options.timeoutMs ?? 30_000) / 1000)} s: see countersign keys schedules`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** pause / unpause / trigger (run now) a rotation schedule, by schedule id or trust name. */
export async function controlSchedule(client: Client, which: string, action: 'pause' | 'unpause' | 'trigger', note?: string): Promise<string> {
  const scheduleId = which.startsWith(ROTATION_SCHEDULE_PREFIX) ? which : `${ROTATION_SCHEDULE_PREFIX}${which}`;
  const handle = client.schedule.getHandle(scheduleId);
  try {
    if (action === 'pause') await handle.pause(note);
    else if (action === 'unpause') await handle.unpause(note);
    else await handle.trigger();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new CountersignError('BAD_INPUT', `no rotation schedule ${scheduleId} (see countersign keys schedules)`);
    throw err;
  }
  return scheduleId;
}

export type KeyWorkflowStatus =
  | { type: 'ceremony'; status: CeremonyStatus }
  | { type: 'rotation'; status: RotationStatus }
  | { type: 'revocation'; status: RevocationStatus }
  | { type: 'campaign'; status: CampaignStatus }
  | { type: 'root'; status: RootStatus };

/** Status of a ceremony, a rotation, a revocation, a campaign or a trust root, by workflow id (its latest run, or the run named). */
export async function keyWorkflowStatus(client: Client, id: string, runId?: string): Promise<KeyWorkflowStatus> {
  const handle = client.workflow.getHandle(id, runId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CountersignError('UNKNOWN_PROMOTION', `no key ceremony, rotation, revocation, campaign or trust root "${id}"`);
    throw err;
  }
  const running = description.status.name === 'RUNNING';
  if (description.type === KEY_CEREMONY_WORKFLOW_TYPE) return { type: 'ceremony', status: running ? await handle.query(ceremonyQuery) : await handle.result() };
  if (description.type === KEY_ROTATION_WORKFLOW_TYPE) return { type: 'rotation', status: running ? await handle.query(rotationQuery) : await handle.result() };
  if (description.type === KEY_REVOCATION_WORKFLOW_TYPE) return { type: 'revocation', status: running ? await handle.query(revocationQuery) : await handle.result() };
  if (description.type === KEY_CAMPAIGN_WORKFLOW_TYPE) return { type: 'campaign', status: running ? await handle.query(campaignQuery) : await handle.result() };
  if (description.type === KEY_ROOT_WORKFLOW_TYPE) return { type: 'root', status: running ? await handle.query(rootQuery) : await handle.result() };
  throw new CountersignError('UNKNOWN_PROMOTION', `${id} is a ${description.type}, not a key ceremony, rotation, revocation, campaign or trust root`);
}

/**
 * Polls a ceremony, rotation or revocation until `until` holds (or `timeoutMs` passes, then
 * STACK_ERROR). A workflow not started yet (a rotation's child ceremony) is waited for.
 */
export async function waitForKeyWorkflow(client: Client, id: string, until: (s: KeyWorkflowStatus) => boolean, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<KeyWorkflowStatus> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    let last: unknown;
    try {
      const status = await keyWorkflowStatus(client, id);
      if (until(status)) return status;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      if (last instanceof CountersignError && last.code !== 'UNKNOWN_PROMOTION') throw last;
      throw new CountersignError('STACK_ERROR', `${id} did not get there in ${Math.round((options.timeoutMs ?? 120_000) / 1000)} s (is a countersign worker running?)`, { cause: last });
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
  }
}

/**
 * The ceremony once the worker has answered its request: REFUSED, or past it (custodians asked).
 * The rotation's waitForCeremony update answers once the ceremony has started, then the
 * ceremony's waitForAnswer once the request is checked, so nothing polls; a worker from before
 * those updates gets the ceremony's status polled.
 */
export async function waitForCeremonyAuthorization(client: Client, started: { rotationId: string; ceremonyId: string }): Promise<CeremonyStatus> {
  const polled = async () => (await waitForKeyWorkflow(client, started.ceremonyId, (s) => s.type === 'ceremony' && s.status.state !== 'AUTHORIZING')).status as CeremonyStatus;
  const notFound = () => new CountersignError('UNKNOWN_PROMOTION', `no rotation "${started.rotationId}"`);
  const rotation: RotationStatus | undefined = await workflowAnswer<RotationStatus | undefined>(client, started.rotationId, rotationCeremonyUpdate, { poll: async () => undefined, notFound });
  if (!rotation) return polled();
  return workflowAnswer(client, started.ceremonyId, ceremonyAnswerUpdate, { poll: polled });
}
