/**
 * The checks every signed start request goes through on the worker, whatever it starts (an image
 * promotion, a chart release): signed by an initiator the worker's configuration lists, in date,
 * for a target that initiator may start, for this very workflow id, used once, and not undoing a
 * rejection without a signed re-open. Each kind of request brings its own parser and target table.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import { CountersignError } from '../errors';
import { parseReopen, REOPEN_VALIDITY_MS } from './reopen';
import { statementSignedBy } from './sign';
import type { SignedStatement } from './statement';
import { MAX_REQUEST_VALIDITY_MS, REQUEST_CLOCK_SKEW_MS } from './start-request';

/** An earlier run of the same workflow id, as Temporal's visibility reports it. */
export interface PriorRun {
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, ... */
  status: string;
  /** The run's own final state (PROMOTED, RELEASED, REJECTED, ...) for a completed run. */
  state?: string;
  closedAt?: string;
  /** The nonce of the start request the run was started with. */
  requestNonce?: string;
}

/**
 * The earlier run a request's nonce already started, if any. A REFUSED run does not count: it ran
 * nothing past authorize, and the nonce it shows may be a copy under a signature that did not
 * verify (anyone who can reach Temporal can start a run claiming any nonce), which would otherwise
 * spend a genuine request before its owner sends it. A refused request that was genuine can be
 * sent again while it has not expired; it still starts at most one run that gets past authorize.
 */
export function runStartedWith<R extends PriorRun>(runs: R[], nonce: string): R | undefined {
  return runs.find((r) => r.requestNonce === nonce && r.state !== 'REFUSED');
}

export interface AuthorizeDeps {
  /** The worker's configuration; undefined when the worker was started without one. */
  config(): Config | undefined;
  /** Earlier runs of `workflowId`, newest first, the current run excluded. */
  priorRuns(workflowId: string, currentRunId: string): Promise<PriorRun[]>;
  now?: () => Date;
}

export interface AuthorizeInput {
  workflowId: string;
  runId: string;
  request: SignedStatement;
  reopen?: SignedStatement;
}

/** What every kind of start request says of itself. */
export interface RequestBasics {
  target: string;
  initiator: string;
  issuedAt: string;
  expiresAt: string;
  nonce: string;
}

/** How one kind of request is read and where its targets live in the worker's configuration. */
export interface RequestKind<R extends RequestBasics> {
  /** "promotion", "chart release": what the run is called in messages. */
  noun: string;
  /** The statement's shape (not its signature or authority); throws a plain Error saying what is wrong. */
  parse(signed: SignedStatement | undefined): R;
  /** The targets this kind of request may name, by name. */
  targets: Record<string, unknown>;
  /** UNKNOWN_TARGET's words for a name that is not there. */
  unknownTarget(name: string, known: string[]): string;
  /** The workflow id the request is for. */
  workflowId(request: R): string;
}

export function workerConfig(deps: AuthorizeDeps): Config {
  const config = deps.config();
  if (!config) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker): it starts nothing');
  return config;
}

/** Signed by an initiator the configuration lists, in date, for a target they may start, for this workflow. */
export function checkSignedRequest<R extends RequestBasics>(config: Config, input: AuthorizeInput, now: Date, kind: RequestKind<R>): R {
  if (!input.request || typeof input.request !== 'object') throw new CountersignError('REQUEST_UNSIGNED', `the ${kind.noun} has no signed start request`);
  let request: R;
  try {
    request = kind.parse(input.request);
  } catch (err) {
    throw new CountersignError('REQUEST_INVALID', (err as Error).message);
  }
  const initiator = config.initiators[request.initiator];
  if (!initiator) {
    throw new CountersignError('REQUEST_UNKNOWN_SIGNER', `${request.initiator} is not an initiator in the worker's configuration (initiators: in ${config.file})`);
  }
  if (!statementSignedBy(input.request, fs.readFileSync(initiator.publicKey, 'utf8'))) {
    throw new CountersignError('REQUEST_BAD_SIGNATURE', `the start request does not verify with ${request.initiator}'s key in the worker's configuration`);
  }
  const issuedAt = Date.parse(request.issuedAt);
  const expiresAt = Date.parse(request.expiresAt);
  if (expiresAt - issuedAt > MAX_REQUEST_VALIDITY_MS) {
    throw new CountersignError('REQUEST_INVALID', `the start request is valid for ${Math.round((expiresAt - issuedAt) / 60_000)} minutes; at most ${MAX_REQUEST_VALIDITY_MS / 60_000} are accepted`);
  }
  if (issuedAt > now.getTime() + REQUEST_CLOCK_SKEW_MS) throw new CountersignError('REQUEST_INVALID', `the start request was issued in the future (${request.issuedAt})`);
  if (expiresAt <= now.getTime()) throw new CountersignError('REQUEST_EXPIRED', `the start request expired at ${request.expiresAt}: sign a new one`);
  if (!Object.hasOwn(kind.targets, request.target)) throw new CountersignError('UNKNOWN_TARGET', kind.unknownTarget(request.target, Object.keys(kind.targets)));
  if (!initiator.targets.includes('*') && !initiator.targets.includes(request.target)) {
    throw new CountersignError('REQUEST_OUT_OF_SCOPE', `${request.initiator} may start ${initiator.targets.join(', ')}, not ${request.target}`);
  }
  const expectedId = kind.workflowId(request);
  if (input.workflowId !== expectedId) {
    throw new CountersignError('REQUEST_INVALID', `the start request is for ${expectedId}, but this run is ${input.workflowId}`);
  }
  return request;
}

/** Who may re-open a rejected run of this workflow id, in the words messages use. */
export interface ReopenRule {
  /** Roster names the target's approval.reopen lists. */
  allowed: string[];
  /** The target's name. */
  name: string;
  /** "target", "chart target". */
  subject: string;
  /** "promotions", "chart releases". */
  runs: string;
  /** Where the rule is configured, e.g. "approval.reopen". */
  setting: string;
}

export type ReopenedBy = { reopener: string; reason: string; rejectedRunId: string };

/**
 * A request is used once, and a rejection stands: a new run after a REJECTED one needs a signed
 * re-open, naming that run and the artifact's digest, by someone the target's configuration allows.
 */
export async function checkPriorRuns(
  deps: AuthorizeDeps,
  config: Config,
  input: AuthorizeInput,
  request: { nonce: string; digest: string },
  rule: ReopenRule,
  now: Date,
): Promise<ReopenedBy | undefined> {
  const runs = await deps.priorRuns(input.workflowId, input.runId);
  const lagging = runs.find((r) => r.status === 'RUNNING');
  if (lagging) {
    // Only one run of an id runs at a time: this is the previous run's record not yet closed in visibility.
    throw new CountersignError('HISTORY_LAGGING', `run ${lagging.runId} of ${input.workflowId} still shows as running; checking again`);
  }
  const reused = runStartedWith(runs, request.nonce);
  if (reused) throw new CountersignError('REQUEST_REPLAYED', `this start request already started run ${reused.runId} of ${input.workflowId}: sign a new one`);
  // A refused run ran nothing and decided nothing: it neither launders a rejection nor uses up a re-open.
  const last = runs.find((r) => r.status !== 'RUNNING' && r.state !== 'REFUSED');
  if (last?.state !== 'REJECTED') {
    if (input.reopen) throw new CountersignError('REQUEST_INVALID', `a re-open was given, but the last run of ${input.workflowId} was not REJECTED`);
    return undefined;
  }
  const how =
    rule.allowed.length > 0
      ? `a signed re-open by one of ${rule.allowed.join(', ')} (countersign reopen ${input.workflowId})`
      : `a re-open, and ${rule.subject} ${rule.name} allows none (${rule.setting})`;
  if (!input.reopen) {
    throw new CountersignError('REJECTED_BEFORE', `${input.workflowId} was REJECTED in run ${last.runId}${last.closedAt ? ` at ${last.closedAt}` : ''}; a new run needs ${how}`);
  }
  let reopen;
  try {
    reopen = parseReopen(input.reopen);
  } catch (err) {
    throw new CountersignError('REQUEST_INVALID', (err as Error).message);
  }
  if (reopen.promotionId !== input.workflowId || reopen.digest !== request.digest) {
    throw new CountersignError('REQUEST_INVALID', `the re-open is for ${reopen.promotionId} (${reopen.digest}), not ${input.workflowId} (${request.digest})`);
  }
  if (reopen.rejectedRunId !== last.runId) {
    throw new CountersignError('REQUEST_INVALID', `the re-open names run ${reopen.rejectedRunId}, but the rejected run is ${last.runId}`);
  }
  if (!rule.allowed.includes(reopen.reopener)) throw new CountersignError('REQUEST_OUT_OF_SCOPE', `${reopen.reopener} may not re-open ${rule.name} ${rule.runs}; needs ${how}`);
  const person = config.roster[reopen.reopener];
  if (!person?.publicKey || !statementSignedBy(input.reopen, fs.readFileSync(person.publicKey, 'utf8'))) {
    throw new CountersignError('REQUEST_BAD_SIGNATURE', `the re-open does not verify with ${reopen.reopener}'s roster key`);
  }
  const signedAt = Date.parse(reopen.time);
  if (signedAt > now.getTime() + REQUEST_CLOCK_SKEW_MS || now.getTime() - signedAt > REOPEN_VALIDITY_MS) {
    throw new CountersignError('REQUEST_EXPIRED', `the re-open was signed at ${reopen.time}; re-opens are valid for ${REOPEN_VALIDITY_MS / 3_600_000} hours`);
  }
  return { reopener: reopen.reopener, reason: reopen.reason, rejectedRunId: last.runId };
}

/**
 * `dir`'s real path when it is absolute and lies in (or is) one of `roots` after following every
 * link on both sides, so a symlink cannot lead outside; undefined otherwise.
 */
export function realpathUnder(dir: string, roots: string[]): string | undefined {
  if (!path.isAbsolute(dir)) return undefined;
  const real = realpathOrUndefined(dir);
  const allowed = roots.map(realpathOrUndefined).filter((d): d is string => d !== undefined);
  return real !== undefined && allowed.some((root) => real === root || real.startsWith(`${root}${path.sep}`)) ? real : undefined;
}

function realpathOrUndefined(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}
