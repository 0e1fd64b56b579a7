/**
 * What Fulcio recorded about the CI run that signed (source repository, ref, commit), held to the
 * target's policy and to the provenance: a keyless signature from the right workflow of another
 * repository, branch or commit passes no promotion.
 */
import { commitsMatch, refMatches, type TargetPolicy } from '../policy/policy';
import type { BuildFacts } from '../provenance/slsa';
import type { CertificateFacts } from './certificate';

export interface SourceCheck {
  name: 'keylessSource.repository' | 'keylessSource.ref' | 'keylessSource.commit';
  ok: boolean;
  code: 'OK' | 'SOURCE_MISMATCH';
  message: string;
}

const show = (v: string | undefined) => v ?? '(none)';
const repo = (r: string) => r.trim().replace(/\/+$/, '').replace(/\.git$/, '').toLowerCase();

/**
 * Every check runs. The certificate must name the policy's repository; with `refs` set, a ref
 * they admit; and the commit it names must be the attested (and requested) one. A fact the
 * certificate does not state fails its check: an identity without CI facts cannot vouch for a source.
 */
export function checkKeylessSource(policy: TargetPolicy, facts: CertificateFacts, attested: Partial<BuildFacts> | undefined, requestedCommit: string | undefined): SourceCheck[] {
  const who = facts.subject ?? '(no subject)';
  const check = (name: SourceCheck['name'], ok: boolean, message: string): SourceCheck => ({ name, ok, code: ok ? 'OK' : 'SOURCE_MISMATCH', message: `${message} (certificate of ${who})` });
  const out = [check('keylessSource.repository', facts.sourceRepository !== undefined && repo(facts.sourceRepository) === repo(policy.sourceRepo), `source repo expected ${policy.sourceRepo}, certificate names ${show(facts.sourceRepository)}`)];
  if (policy.refs !== undefined) {
    const ok = facts.sourceRepositoryRef !== undefined && policy.refs.some((p) => refMatches(p, facts.sourceRepositoryRef!));
    out.push(check('keylessSource.ref', ok, `ref expected one of [${policy.refs.join(', ')}], certificate names ${show(facts.sourceRepositoryRef)}`));
  }
  const commits = [attested?.commit, requestedCommit].filter((c): c is string => c !== undefined);
  if (commits.length > 0 || policy.requireCommit) {
    const cert = facts.sourceRepositoryDigest;
    const ok = cert !== undefined && commits.length > 0 && commits.every((c) => commitsMatch(c, cert, policy.commitPrefix === true));
    out.push(check('keylessSource.commit', ok, `commit ${commits.length > 0 ? `attested/requested ${commits.join(', ')}` : 'required'}, certificate names ${show(cert)}`));
  }
  return out;
}
