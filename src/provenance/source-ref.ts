import { fullRef, isCommitLike } from './git-ref';
import {
  COUNTERSIGN_BUILD_TYPE,
  externalParameters,
  fields,
  gitlabVariables,
  internalParameters,
  sameCommit,
  str,
  type SlsaProvenanceV1,
  type SourceFacts,
} from './predicate';

/**
 * The git ref the built commit came from (`refs/heads/main`, `refs/tags/v1.2.0`, or a bare name
 * where the builder wrote only that), read from every place real builders write it:
 *
 * - the source's git+ URI, `git+https://github.com/org/repo@refs/heads/main` (GitHub's
 *   actions/attest-build-provenance, slsa-github-generator); a hex revision there is a commit;
 * - `externalParameters.workflow.ref` (GitHub Actions workflow buildTypes);
 * - `internalParameters.GITHUB_REF` (slsa-github-generator's BYOB and container-based builders);
 * - GitLab's `externalParameters.variables` (CI_COMMIT_TAG, CI_COMMIT_BRANCH, merge request
 *   variables, CI_COMMIT_REF_NAME);
 * - `externalParameters.source.ref` when the buildType is countersign's own.
 *
 * A ref written apart from the commit (GITHUB_REF, GitLab's variables) counts only when the
 * builder wrote the commit beside it (GITHUB_SHA, CI_COMMIT_SHA) and it is the attested commit:
 * slsa-github-generator builds another commit than the trigger's when a workflow asks it to, and
 * GITHUB_REF then names the trigger's ref, not the built commit's. When the places that name a ref
 * disagree, the ref is unknown (undefined), so a policy on refs fails closed.
 */
export function readSourceRef(p: SlsaProvenanceV1, source: SourceFacts): string | undefined {
  const found = [
    source.uriRevision !== undefined && !isCommitLike(source.uriRevision) ? source.uriRevision : undefined,
    str(fields(externalParameters(p).workflow)?.ref),
    generatorRef(p, source.commit),
    gitlabRef(p, source.commit),
    p.buildDefinition.buildType === COUNTERSIGN_BUILD_TYPE ? str(fields(externalParameters(p).source)?.ref) : undefined,
  ].filter((r): r is string => r !== undefined);
  if (new Set(found.map(fullRef)).size !== 1) return undefined;
  return found.find((r) => r.startsWith('refs/')) ?? found[0];
}

function generatorRef(p: SlsaProvenanceV1, commit: string | undefined): string | undefined {
  const internal = internalParameters(p);
  return sameCommit(internal.GITHUB_SHA, commit) ? str(internal.GITHUB_REF) : undefined;
}

/**
 * GitLab sets CI_COMMIT_TAG only in tag pipelines and CI_COMMIT_BRANCH only in branch pipelines;
 * a merge request pipeline has neither but CI_MERGE_REQUEST_IID, and builds GitLab's
 * refs/merge-requests/<iid>/head (or /merge for merged results, /train for merge trains), not the
 * source branch, so it is never taken for a branch of this project (its source branch may be a
 * fork's). CI_COMMIT_REF_NAME alone is kept as the bare name it is.
 */
function gitlabRef(p: SlsaProvenanceV1, commit: string | undefined): string | undefined {
  const v = gitlabVariables(p);
  if (!sameCommit(v.CI_COMMIT_SHA, commit)) return undefined;
  if (v.CI_COMMIT_TAG) return `refs/tags/${v.CI_COMMIT_TAG}`;
  if (v.CI_COMMIT_BRANCH) return `refs/heads/${v.CI_COMMIT_BRANCH}`;
  if (v.CI_MERGE_REQUEST_IID) {
    const kind = { merged_result: 'merge', merge_train: 'train' }[v.CI_MERGE_REQUEST_EVENT_TYPE ?? ''] ?? 'head';
    return `refs/merge-requests/${v.CI_MERGE_REQUEST_IID}/${kind}`;
  }
  return v.CI_COMMIT_REF_NAME;
}
