import {
  COUNTERSIGN_BUILD_TYPE,
  asProvenance,
  externalParameters,
  fields,
  gitlabVariables,
  internalParameters,
  readSource,
  sameCommit,
  str,
  type SlsaProvenanceV1,
} from './predicate';

/** Who authored the built commit, as the builder recorded it. */
export interface CommitAuthor {
  /** E-mail address first, then a handle; compare them with sameIdentity (src/approval/identity.ts). */
  identities: string[];
  /** The field they were read from, for the record. */
  field: string;
}

export const AUTHOR_FIELDS = {
  countersign: 'externalParameters.source.author',
  github: 'internalParameters.GITHUB_EVENT_PAYLOAD.head_commit.author',
  gitlab: 'externalParameters.variables.CI_COMMIT_AUTHOR',
} as const;

/**
 * The commit author, read only from fields real builders write (docs/approvals.md, "Separation of
 * duties: where the commit author comes from"):
 *
 * - countersign's built-in builder: `externalParameters.source.author`, only under its own
 *   buildType (another builder's `source.author` means nothing we know);
 * - slsa-github-generator (BYOB and container-based): the push event's
 *   `internalParameters.GITHUB_EVENT_PAYLOAD.head_commit.author` (`email`, `username`), when
 *   `head_commit.id` is the attested commit;
 * - GitLab (18.3+): `externalParameters.variables.CI_COMMIT_AUTHOR` ("Name <email>"), when
 *   CI_COMMIT_SHA there is the attested commit.
 *
 * Undefined when none of them is there: callers show "author unknown".
 */
export function readCommitAuthor(predicate: unknown): CommitAuthor | undefined {
  const p = asProvenance(predicate);
  return commitAuthorOf(p, readSource(p).commit);
}

/** readCommitAuthor over an already checked predicate and its attested commit. */
export function commitAuthorOf(p: SlsaProvenanceV1, commit: string | undefined): CommitAuthor | undefined {
  return ownAuthor(p) ?? githubPushAuthor(p, commit) ?? gitlabAuthor(p, commit);
}

function author(values: unknown[], field: string): CommitAuthor | undefined {
  const identities = values.filter((v): v is string => typeof v === 'string').map((v) => v.trim()).filter((v) => v !== '');
  return identities.length > 0 ? { identities, field } : undefined;
}

function ownAuthor(p: SlsaProvenanceV1): CommitAuthor | undefined {
  if (p.buildDefinition.buildType !== COUNTERSIGN_BUILD_TYPE) return undefined;
  return author([fields(externalParameters(p).source)?.author], AUTHOR_FIELDS.countersign);
}

/** head_commit is in push events only; workflow_dispatch and release payloads name no author. */
function githubPushAuthor(p: SlsaProvenanceV1, commit: string | undefined): CommitAuthor | undefined {
  const head = fields(fields(internalParameters(p).GITHUB_EVENT_PAYLOAD)?.head_commit);
  if (!head || !sameCommit(head.id, commit)) return undefined;
  const who = fields(head.author);
  return author([who?.email, who?.username], AUTHOR_FIELDS.github);
}

function gitlabAuthor(p: SlsaProvenanceV1, commit: string | undefined): CommitAuthor | undefined {
  const v = gitlabVariables(p);
  if (!sameCommit(v.CI_COMMIT_SHA, commit)) return undefined;
  const value = str(v.CI_COMMIT_AUTHOR);
  if (value === undefined) return undefined;
  // Git lets the author's e-mail be empty ("Name <>"); the name is then all there is.
  const parts = /^(.*)<([^<>]*)>\s*$/.exec(value);
  return author([parts ? parts[2].trim() || parts[1] : value], AUTHOR_FIELDS.gitlab);
}
