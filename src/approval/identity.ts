// Imports nothing: workflow code (the approval gate's separation of duties) uses this in the sandbox.

/**
 * The form in which two names for a person are compared: an e-mail address, a GitHub or GitLab
 * handle, or a roster name.
 *
 * - Surrounding blanks are dropped: they come from copy-paste and YAML, never from an identity.
 * - E-mail addresses are lower-cased entirely. The domain is case-insensitive by definition, and
 *   although RFC 5321 lets a server treat the local part case-sensitively, every mainstream
 *   provider (Gmail, Microsoft, GitHub's noreply addresses, corporate directories) does not, so
 *   `Alice@ACME.com` and `alice@acme.com` are the same mailbox.
 * - Handles are lower-cased too: GitHub and GitLab usernames are case-insensitive (`github.com/Alice`
 *   is `github.com/alice`, and neither site lets two accounts differ only in case).
 *
 * Folding case can only make two identities match that would otherwise not. This is used to
 * exclude people (the commit author may not approve), where a match too many excludes someone
 * and a match too few lets an author approve their own change; never use it to grant anything.
 * NFC makes the same text typed on two systems (composed or decomposed accents) compare equal.
 */
export function normaliseIdentity(identity: string): string {
  return identity.trim().normalize('NFC').toLowerCase();
}

/** Whether two identities name the same person; a missing or blank identity matches nothing. */
export function sameIdentity(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const x = normaliseIdentity(a);
  return x !== '' && x === normaliseIdentity(b);
}
