import { fullRef } from '../provenance/git-ref';
import type { BuildFacts } from '../provenance/slsa';

/** What a target demands of the provenance before anything is promoted to it (docs/policy.md). */
export interface TargetPolicy {
  /** The only source repository allowed, e.g. https://github.com/acme/hello. */
  sourceRepo: string;
  /** Builder ids allowed to have built the image. */
  builderIds: string[];
  /** When set, the attested build command must equal it exactly. */
  buildCommand?: string;
  /** When true (the default), the promotion must name a commit and the attested one must match it. */
  requireCommit: boolean;
  /**
   * When set, the attested ref must be there and match one of these: exact (`refs/heads/main`) or
   * ending in `*` (`refs/tags/v*`, the rest of the ref, slashes included). A bare name (`main`) is
   * the branch refs/heads/main; tags are always written refs/tags/....
   */
  refs?: string[];
  /**
   * When true, an abbreviated requested commit (7 or more hex digits) may match the attested
   * full commit it starts. Default false: the requested commit must be the attested one.
   */
  commitPrefix?: boolean;
}

export interface PolicyCheck {
  name: 'sourceRepo' | 'commit' | 'buildCommand' | 'builderId' | 'ref';
  ok: boolean;
  message: string;
}

const show = (v: string | undefined) => (v === undefined ? '(none)' : v);

/**
 * Compares attested facts with the target policy and with what the promotion was asked to
 * promote. Every check runs; each failure says expected versus attested.
 */
export function evaluatePolicy(policy: TargetPolicy, attested: Partial<BuildFacts>, requestedCommit?: string): PolicyCheck[] {
  const checks: PolicyCheck[] = [];

  const repoOk = attested.sourceRepo !== undefined && normaliseRepo(attested.sourceRepo) === normaliseRepo(policy.sourceRepo);
  checks.push({
    name: 'sourceRepo',
    ok: repoOk,
    message: `source repo expected ${policy.sourceRepo}, attested ${show(attested.sourceRepo)}`,
  });

  const builderOk = attested.builderId !== undefined && policy.builderIds.includes(attested.builderId);
  checks.push({
    name: 'builderId',
    ok: builderOk,
    message: `builder id expected one of [${policy.builderIds.join(', ')}], attested ${show(attested.builderId)}`,
  });

  if (policy.buildCommand !== undefined) {
    checks.push({
      name: 'buildCommand',
      ok: attested.buildCommand === policy.buildCommand,
      message: `build command expected "${policy.buildCommand}", attested ${attested.buildCommand === undefined ? '(none)' : `"${attested.buildCommand}"`}`,
    });
  }

  if (policy.requireCommit || requestedCommit !== undefined) {
    checks.push(commitCheck(requestedCommit, attested.commit, policy.commitPrefix === true));
  }
  if (policy.refs !== undefined) checks.push(refCheck(policy.refs, attested.ref));
  return checks;
}

function normaliseRepo(repo: string): string {
  return repo.trim().replace(/\/+$/, '').replace(/\.git$/, '').replace(/\/+$/, '').toLowerCase();
}

const FULL_COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const ABBREVIATED_COMMIT = /^[0-9a-f]{7,64}$/;

/**
 * Whether the requested commit names the attested one. The attested commit must be a full
 * revision (40 hex digits, or 64 in a SHA-256 repository); the requested one must equal it (any
 * case) or, only when allowPrefix, be an abbreviation of at least 7 hex digits that it starts.
 */
export function commitsMatch(requested: string, attested: string, allowPrefix = false): boolean {
  const r = requested.toLowerCase();
  const a = attested.toLowerCase();
  if (!FULL_COMMIT.test(a) || !ABBREVIATED_COMMIT.test(r)) return false;
  return r === a || (allowPrefix && r.length < a.length && a.startsWith(r));
}

function commitCheck(requested: string | undefined, attested: string | undefined, allowPrefix: boolean): PolicyCheck {
  const message = `commit expected ${show(requested)}, attested ${show(attested)}`;
  const ok = requested !== undefined && attested !== undefined && commitsMatch(requested, attested, allowPrefix);
  if (ok || requested === undefined || attested === undefined) return { name: 'commit', ok, message };
  const a = attested.toLowerCase();
  const r = requested.toLowerCase();
  let why = '';
  if (!FULL_COMMIT.test(a)) why = ': the attested commit is not a full revision';
  else if (!allowPrefix && ABBREVIATED_COMMIT.test(r) && r.length < a.length) {
    why = ': this target requires the full revision (commitPrefix is off)';
  } else if (!ABBREVIATED_COMMIT.test(r)) why = `: ${requested} is not a commit`;
  return { name: 'commit', ok: false, message: `${message}${why}` };
}

/** Whether a policy pattern (exact, or ending in `*`) admits an attested ref; bare names are branches. */
export function refMatches(pattern: string, ref: string): boolean {
  const p = normaliseRefPattern(pattern);
  const r = fullRef(ref);
  const star = p.indexOf('*');
  if (star === -1) return p === r;
  return star === p.length - 1 && r.startsWith(p.slice(0, -1));
}

/** A bare name in a policy (`main`, `release-*`) means the branch: refs/heads/main. */
export function normaliseRefPattern(pattern: string): string {
  return fullRef(pattern);
}

/** What is wrong with a ref pattern as configured, or undefined. */
export function refPatternProblem(pattern: string): string | undefined {
  if (/\s/.test(pattern)) return `"${pattern}" must not contain blanks`;
  const star = pattern.indexOf('*');
  if (star !== -1 && star !== pattern.length - 1) return `"${pattern}": * is allowed only at the end`;
  return undefined;
}

function refCheck(patterns: string[], attested: string | undefined): PolicyCheck {
  const expected = `ref expected one of [${patterns.map(normaliseRefPattern).join(', ')}]`;
  const shown = attested === undefined || attested.startsWith('refs/') ? show(attested) : `${attested} (a bare name, read as ${fullRef(attested)})`;
  const ok = attested !== undefined && patterns.some((p) => refMatches(p, attested));
  return { name: 'ref', ok, message: `${expected}, attested ${shown}` };
}
