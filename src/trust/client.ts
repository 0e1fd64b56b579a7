/**
 * The client side of key management: start a ceremony (as a rotation), schedule rotations,
 * read their status, revoke a key and find what it signed.
 */
import { createHash } from 'node:crypto';
import { Client, ScheduleAlreadyRunning, ScheduleNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../config';
import { CountersignError } from '../errors';
import { pinRoster } from '../approval/roster';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import {
  ceremonyIdFor,
  ceremonyQuery,
  KEY_CEREMONY_WORKFLOW_TYPE,
  KEY_ROTATION_WORKFLOW_TYPE,
  ROTATION_SCHEDULE_PREFIX,
  rotationQuery,
  type CeremonyInput,
  type CeremonyStatus,
  type RotationInput,
  type RotationStatus,
} from '../../workflows/key-ceremony-messages';
import type { TrustConfig } from './config';
import type { TrustKey } from './index-file';
import { PINNED_LISTING_LIMIT, runsInFlight, runsSignedBy, type PinnedPromotion, type SignedPromotion } from './promotions';
import { TrustStore } from './store';
import { keyFingerprint } from '../keys/public-key';
import type { Signer } from '../keys/signer';
import { canonicalCeremonyRequest, CEREMONY_REQUEST_TYPE } from '../../workflows/ceremony-request';

export function trustConfig(config: Config, name: string | undefined): TrustConfig {
  const names = Object.keys(config.trust);
  const chosen = name ?? (names.length === 1 ? names[0] : undefined);
  if (!chosen) throw new CountersignError('BAD_INPUT', `--trust is required (trust stores in ${config.file}: ${names.join(', ') || 'none'})`);
  const trust = config.trust[chosen];
  if (!trust) throw new CountersignError('BAD_INPUT', `no trust store "${chosen}" in ${config.file} (trust stores: ${names.join(', ') || 'none'})`);
  return trust;
}

/** The workflow id of a rotation started by hand at `now`. */
export function rotationIdFor(trust: string, now: Date): string {
  return `${ROTATION_SCHEDULE_PREFIX}${trust}-${now.toISOString().replace(/\.\d+Z$/, 'Z')}`;
}

/** The id of the schedule that rotates a trust store's key. */
export function rotationScheduleId(trust: string): string {
  return `${ROTATION_SCHEDULE_PREFIX}${trust}`;
}

export interface CeremonyRequestOptions {
  /** The initiator's own key (their roster key): it signs the ceremony request. */
  signer: Signer;
  /** `rotation:<rotation id>` (rotationIdFor) or `schedule:<schedule id>` (rotationScheduleId). */
  scope: string;
  deadlineMs?: number;
  time?: Date;
}

/**
 * The ceremony plan, pinned: custodians and their keys, governance keys, key backend, publication,
 * and the initiator's request signed with their roster key. Refuses a non-governance initiator,
 * and a key that is not theirs, before anything starts.
 */
export async function ceremonyInput(config: Config, trust: TrustConfig, initiator: string, options: CeremonyRequestOptions): Promise<CeremonyInput> {
  if (!trust.governance.includes(initiator)) {
    throw new CountersignError('BAD_INPUT', `${initiator} is not in trust.${trust.name}.governance (${trust.governance.join(', ')}); only governance members start key ceremonies`);
  }
  const members = [...new Set(trust.custodians.groups.flatMap((g) => g.members))];
  const roster = await pinRoster(Object.fromEntries(members.map((m) => [m, config.roster[m]])));
  const governance = await pinRoster(Object.fromEntries(trust.governance.map((m) => [m, config.roster[m]])));
  const signerFingerprint = keyFingerprint(await options.signer.publicKeyPem());
  if (signerFingerprint !== governance[initiator].fingerprint) {
    throw new CountersignError(
      'KEY_INVALID',
      `the key given to sign the ceremony request (${signerFingerprint.slice(0, 16)}) is not ${initiator}'s roster key (${governance[initiator].fingerprint.slice(0, 16)})`,
    );
  }
  const plan = { trust: trust.name, kind: trust.kind, initiator, custodians: trust.custodians.groups, backend: trust.backend, publishDir: trust.publishDir, overlapMs: trust.overlapMs };
  const planDigest = `sha256:${createHash('sha256').update(JSON.stringify(plan)).digest('hex')}`;
  const statement = canonicalCeremonyRequest({
    _type: CEREMONY_REQUEST_TYPE,
    trust: trust.name,
    planDigest,
    initiator,
    scope: options.scope,
    time: (options.time ?? new Date()).toISOString(),
  });
  const signature = (await options.signer.sign(Buffer.from(statement, 'utf8'))).toString('base64');
  return {
    trust: trust.name,
    kind: trust.kind,
    initiator,
    request: { statement, signature },
    governance,
    planDigest,
    custodians: { ...trust.custodians, deadlineMs: options.deadlineMs ?? trust.custodians.deadlineMs, roster },
    backend: trust.backend,
    userId: trust.userId,
    publishDir: trust.publishDir,
    stateFile: trust.stateFile,
    overlapMs: trust.overlapMs,
  };
}

/** Starts a rotation now (a ceremony, then retirement of the superseded key). */
export async function startRotation(client: Client, input: RotationInput, now = new Date()): Promise<{ rotationId: string; ceremonyId: string }> {
  const rotationId = rotationIdFor(input.ceremony.trust, now);
  await client.workflow.start(KEY_ROTATION_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: rotationId, args: [input] });
  return { rotationId, ceremonyId: ceremonyIdFor(rotationId) };
}

export interface RotationSchedule {
  scheduleId: string;
  trust: string;
  every: string;
  paused: boolean;
  note?: string;
  recentRuns: string[];
  nextRuns: string[];
}

/** Creates (or replaces) the schedule `key-rotation-<trust>` that runs a rotation every `everyMs`. */
export async function scheduleRotation(client: Client, input: RotationInput, everyMs: number): Promise<string> {
  const scheduleId = rotationScheduleId(input.ceremony.trust);
  const options = {
    scheduleId,
    spec: { intervals: [{ every: everyMs }] },
    action: { type: 'startWorkflow' as const, workflowType: KEY_ROTATION_WORKFLOW_TYPE, taskQueue: TASK_QUEUE, workflowId: scheduleId, args: [input] },
    memo: { trust: input.ceremony.trust, everyMs },
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
    out.push({
      scheduleId: d.scheduleId,
      trust: d.scheduleId.slice(ROTATION_SCHEDULE_PREFIX.length),
      every: typeof every === 'number' ? `${every / 1000}s` : String(every ?? ''),
      paused: d.state.paused,
      note: d.state.note,
      recentRuns: d.info.recentActions.map((a) => a.action.workflow.workflowId),
      nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    });
  }
  return out;
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

/** Status of a ceremony or a rotation, by workflow id. */
export async function keyWorkflowStatus(client: Client, id: string): Promise<{ type: 'ceremony'; status: CeremonyStatus } | { type: 'rotation'; status: RotationStatus }> {
  const handle = client.workflow.getHandle(id);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CountersignError('UNKNOWN_PROMOTION', `no key ceremony or rotation "${id}"`);
    throw err;
  }
  const running = description.status.name === 'RUNNING';
  if (description.type === KEY_CEREMONY_WORKFLOW_TYPE) return { type: 'ceremony', status: running ? await handle.query(ceremonyQuery) : await handle.result() };
  if (description.type === KEY_ROTATION_WORKFLOW_TYPE) return { type: 'rotation', status: running ? await handle.query(rotationQuery) : await handle.result() };
  throw new CountersignError('UNKNOWN_PROMOTION', `${id} is a ${description.type}, not a key ceremony or rotation`);
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

/** Marks the key revoked at once, with no Temporal needed: prod sign re-reads the index before every signature. */
export async function revokeKey(trust: TrustConfig, which: string, reason: string): Promise<TrustKey> {
  if (!reason.trim()) throw new CountersignError('BAD_INPUT', '--reason is required: say why the key is revoked');
  return new TrustStore(trust).setStatus(which, 'revoked', reason);
}

/** What a (revoked) key signed, and what is still in flight pinned to it, from visibility. */
export async function pinnedTo(client: Client, key: TrustKey, limit = PINNED_LISTING_LIMIT): Promise<Omit<Revocation, 'key'>> {
  const [signed, running] = await Promise.all([runsSignedBy(client, key.fingerprint, limit), runsInFlight(client, key.fingerprint, limit)]);
  // A running promotion already releasing has its signature: it is listed as signed, not as one to be refused.
  const inFlight = running.promotions.filter((p) => p.state !== 'RELEASING');
  return { signed: signed.promotions, inFlight, limit, capped: { signed: signed.capped, inFlight: running.capped } };
}
