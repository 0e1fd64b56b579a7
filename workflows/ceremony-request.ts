/**
 * The signed request that starts a key ceremony: a governance member signs, with their roster
 * key, which trust store, which plan (its digest) and which run it is for. The ceremony checks it
 * before asking any custodian, so naming a governance member is not enough to start one: their
 * key has to sign. Pure code, safe in the workflow sandbox and in the CLI.
 */
import type { RosterEntry } from './approval-messages';
import { verifyStatementSignature } from './approval-signature';

export const CEREMONY_REQUEST_TYPE = 'https://countersign.dev/ceremony-request/v1';
/**
 * How old a request for one run (`rotation:` scope) may be when its ceremony starts. A workflow id
 * can be reused once its run has closed, so the scope alone would let a request be replayed later.
 */
export const REQUEST_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** Clocks differ: a request dated this far after the ceremony's start still counts. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

export interface CeremonyRequest {
  _type: typeof CEREMONY_REQUEST_TYPE;
  trust: string;
  planDigest: string;
  initiator: string;
  /**
   * The run the request is good for: `rotation:<rotation workflow id>` for one started by hand,
   * `schedule:<schedule id>` for every run of a rotation schedule.
   */
  scope: string;
  time: string;
}

export interface SignedCeremonyRequest {
  /** The exact statement bytes (UTF-8 JSON, canonical key order) the signature covers. */
  statement: string;
  /** Base64 DER ECDSA P-256 signature over sha256 of the statement. */
  signature: string;
}

export function canonicalCeremonyRequest(r: CeremonyRequest): string {
  return JSON.stringify({ _type: r._type, initiator: r.initiator, planDigest: r.planDigest, scope: r.scope, time: r.time, trust: r.trust });
}

export interface RequestContext {
  trust: string;
  planDigest: string;
  initiator: string;
  /** Governance members' pinned roster entries. */
  governance: Record<string, RosterEntry>;
  /** The workflow that runs the ceremony's rotation (the ceremony's parent, else the ceremony). */
  runId: string;
  /** When the ceremony started (workflow time), in ms since the epoch. */
  now: number;
}

/** Why the request does not authorise this ceremony, or undefined when it does. */
export function ceremonyRequestProblem(signed: SignedCeremonyRequest | undefined, ctx: RequestContext): string | undefined {
  if (!signed || typeof signed.statement !== 'string' || typeof signed.signature !== 'string') return 'no signed ceremony request';
  let request: CeremonyRequest;
  try {
    request = JSON.parse(signed.statement) as CeremonyRequest;
  } catch {
    return 'the ceremony request is not JSON';
  }
  if (request._type !== CEREMONY_REQUEST_TYPE) return `the ceremony request has type ${String(request._type)}, expected ${CEREMONY_REQUEST_TYPE}`;
  if (request.trust !== ctx.trust) return `the request is for trust store ${request.trust}, not ${ctx.trust}`;
  if (request.planDigest !== ctx.planDigest) return `the request is for plan ${request.planDigest}, not this ceremony's ${ctx.planDigest}`;
  if (request.initiator !== ctx.initiator) return `the request was made by ${request.initiator}, but the ceremony names ${ctx.initiator}`;
  const member = ctx.governance[request.initiator];
  if (!member) return `${request.initiator} is not a governance member of trust store ${ctx.trust} (${Object.keys(ctx.governance).join(', ')})`;
  if (!scopeCovers(request.scope, ctx.runId)) return `the request is for ${request.scope}, not for run ${ctx.runId}`;
  if (request.scope.startsWith('rotation:')) {
    const at = Date.parse(request.time);
    if (Number.isNaN(at)) return `the request's time "${String(request.time)}" is not a time`;
    if (at < ctx.now - REQUEST_MAX_AGE_MS) return `the request was signed at ${request.time}, more than 24 hours before this ceremony started (${new Date(ctx.now).toISOString()})`;
    if (at > ctx.now + CLOCK_SKEW_MS) return `the request is dated ${request.time}, after this ceremony started (${new Date(ctx.now).toISOString()})`;
  }
  if (!verifyStatementSignature(signed.statement, signed.signature, member.publicKeyHex)) {
    return `the request's signature does not verify with ${request.initiator}'s roster key (${member.fingerprint.slice(0, 16)})`;
  }
  return undefined;
}

function scopeCovers(scope: string, runId: string): boolean {
  if (scope === `rotation:${runId}`) return true;
  // A schedule's runs are named <schedule id>-<timestamp> by Temporal.
  return scope.startsWith('schedule:') && runId.startsWith(`${scope.slice('schedule:'.length)}-`);
}
