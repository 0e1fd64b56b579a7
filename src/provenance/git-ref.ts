/** A VCS location in SPDX download-location form: `git+<repository>[@<revision>]`. */
export interface GitUri {
  repo: string;
  /** What follows the "@": a ref, a commit, or a bare branch or tag name. */
  revision?: string;
}

/**
 * "git+https://host/org/repo@refs/heads/main" -> repo "https://host/org/repo", revision
 * "refs/heads/main". An "@" before the path (an ssh user) belongs to the host. Repository paths
 * never hold an "@" but tags may (`refs/tags/@scope/pkg@1.0.0`), so the first "@" in the path
 * starts the revision.
 */
export function parseGitUri(uri: string): GitUri {
  const bare = uri.replace(/^git\+/, '');
  const scheme = bare.indexOf('://');
  const pathStart = bare.indexOf('/', scheme >= 0 ? scheme + 3 : 0);
  const at = pathStart >= 0 ? bare.indexOf('@', pathStart) : -1;
  if (at < 0) return { repo: bare };
  const revision = bare.slice(at + 1);
  return revision === '' ? { repo: bare.slice(0, at) } : { repo: bare.slice(0, at), revision };
}

/** A revision that is hex (7 to 64 digits) names a commit, not a ref. */
export function isCommitLike(revision: string): boolean {
  return /^[0-9a-f]{7,64}$/i.test(revision);
}

/**
 * A bare name ("main") is read as the branch refs/heads/main, never as a tag: builders that
 * know they built a tag say so (GitLab's CI_COMMIT_TAG, refs/tags/ in GitHub's refs), and a
 * policy that wants tags names them as refs/tags/..., so a bare name can never pass as a tag.
 */
export function fullRef(ref: string): string {
  return ref.startsWith('refs/') ? ref : `refs/heads/${ref}`;
}
