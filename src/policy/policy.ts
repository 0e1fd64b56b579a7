import type { BuildFacts } from '../provenance/slsa';

/** What a target demands of the provenance before anything is promoted to it. */
export interface TargetPolicy {
  /** The only source repository allowed, e.g. https://github.com/acme/hello. */
  sourceRepo: string;
  /** Builder ids allowed to have built the image. */
  builderIds: string[];
  /** When set, the attested build command must equal it exactly. */
  buildCommand?: string;
  /** When true (the default), the promotion must name a commit and the attested one must match it. */
  requireCommit: boolean;
}

export interface PolicyCheck {
  name: 'sourceRepo' | 'commit' | 'buildCommand' | 'builderId';
  ok: boolean;
  message: string;
}

/**
 * Compares attested facts with the target policy and with what the promotion was asked to
 * promote. Every check runs; each failure says expected versus attested.
 */
export function evaluatePolicy(policy: TargetPolicy, attested: Partial<BuildFacts>, requestedCommit?: string): PolicyCheck[] {
  const checks: PolicyCheck[] = [];
  const show = (v: string | undefined) => (v === undefined ? '(none)' : v);

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
    const ok =
      requestedCommit !== undefined && attested.commit !== undefined && commitsMatch(requestedCommit, attested.commit);
    checks.push({ name: 'commit', ok, message: `commit expected ${show(requestedCommit)}, attested ${show(attested.commit)}` });
  }
  return checks;
}

function normaliseRepo(repo: string): string {
  return repo.trim().replace(/\/+$/, '').replace(/\.git$/, '').replace(/\/+$/, '').toLowerCase();
}

/** An abbreviated commit (at least 7 hex digits) matches the full one it starts. */
export function commitsMatch(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (!/^[0-9a-f]{7,64}$/.test(x) || !/^[0-9a-f]{7,64}$/.test(y)) return false;
  return x.length <= y.length ? y.startsWith(x) : x.startsWith(y);
}
