/**
 * Who may sign keyless: a certificate subject (exact or a regular expression) and an OIDC issuer
 * (exact or a regular expression). Regular expressions must match the whole value: cosign's
 * `--certificate-identity-regexp` matches anywhere, so `acme/hello` there would also admit
 * `evil/acme/hello-fork`; here it must be written `.*acme/hello.*` to mean that.
 */
import type { CertificateFacts } from './certificate';

export interface KeylessIdentity {
  subject?: string;
  subjectRegExp?: string;
  issuer?: string;
  issuerRegExp?: string;
}

export type IdentityVerdict = { ok: true; identity: KeylessIdentity } | { ok: false; code: 'IDENTITY_MISMATCH' | 'ISSUER_MISMATCH'; message: string };

/** A regular expression anchored at both ends; compiled once per check (identities are few). */
export function wholeMatch(pattern: string, value: string): boolean {
  return new RegExp(`^(?:${pattern})$`, 'u').test(value);
}

/** What is wrong with a configured regular expression, or undefined. */
export function regExpProblem(pattern: string): string | undefined {
  try {
    new RegExp(`^(?:${pattern})$`, 'u');
    return undefined;
  } catch (err) {
    return `is not a regular expression (${(err as Error).message})`;
  }
}

function matches(exact: string | undefined, pattern: string | undefined, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (exact !== undefined) return exact === value;
  return pattern !== undefined && wholeMatch(pattern, value);
}

export function describeIdentity(id: KeylessIdentity): string {
  const subject = id.subject ?? `/${id.subjectRegExp}/`;
  const issuer = id.issuer ?? `/${id.issuerRegExp}/`;
  return `${subject} from ${issuer}`;
}

/**
 * The first listed identity the certificate matches. When none does, the code says which half
 * failed: ISSUER_MISMATCH when some identity's subject matched (the right name, from another
 * issuer), IDENTITY_MISMATCH otherwise.
 */
export function matchIdentity(facts: CertificateFacts, identities: readonly KeylessIdentity[]): IdentityVerdict {
  for (const id of identities) {
    if (matches(id.subject, id.subjectRegExp, facts.subject) && matches(id.issuer, id.issuerRegExp, facts.issuer)) return { ok: true, identity: id };
  }
  const signed = `certificate for ${facts.subject ?? '(no subject)'} from ${facts.issuer ?? '(no issuer)'}`;
  const expected = identities.map(describeIdentity).join(' | ');
  const subjectMatched = identities.some((id) => matches(id.subject, id.subjectRegExp, facts.subject));
  return subjectMatched
    ? { ok: false, code: 'ISSUER_MISMATCH', message: `${signed}: issuer expected ${expected}` }
    : { ok: false, code: 'IDENTITY_MISMATCH', message: `${signed}: identity expected ${expected}` };
}
