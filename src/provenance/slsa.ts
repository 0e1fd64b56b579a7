import { commitAuthorOf } from './commit-author';
import { COUNTERSIGN_BUILD_TYPE, SLSA_PROVENANCE_V1, asProvenance, externalParameters, readSource, str, type SlsaProvenanceV1 } from './predicate';
import { readSourceRef } from './source-ref';
import type { Statement } from './statement';
import { createStatement } from './statement';

export { COUNTERSIGN_BUILD_TYPE, SLSA_PROVENANCE_V1, type SlsaProvenanceV1 };
export { readCommitAuthor, type CommitAuthor } from './commit-author';

export interface BuildFacts {
  sourceRepo: string;
  commit: string;
  buildCommand: string;
  builderId: string;
  /** The git ref the commit was built from, e.g. refs/heads/main or refs/tags/v1.2.0. */
  ref?: string;
  /** Who authored the commit (email or handle); approvals exclude them. */
  commitAuthor?: string;
}

export interface ProvenanceInput extends BuildFacts {
  subjectName: string;
  digest: string;
  buildType?: string;
  /** Inputs other than the source commit, e.g. a base image, as uri + sha256. */
  materials?: Array<{ uri: string; digest: Record<string, string> }>;
  invocationId: string;
  startedOn: string;
  finishedOn: string;
}

/**
 * An in-toto statement carrying SLSA v1 provenance for one image digest. The source dependency
 * stays pinned by commit (`git+<repo>@<commit>`): that is what the committed cosign vectors and
 * their verifiers read, and a commit names the source exactly where a ref would not; the ref is
 * written beside the commit as `source.ref`.
 */
export function createProvenance(input: ProvenanceInput): Statement<SlsaProvenanceV1> {
  return createStatement(input.subjectName, input.digest, SLSA_PROVENANCE_V1, {
    buildDefinition: {
      buildType: input.buildType ?? COUNTERSIGN_BUILD_TYPE,
      externalParameters: {
        source: {
          repository: input.sourceRepo,
          commit: input.commit,
          ...(input.ref ? { ref: input.ref } : {}),
          ...(input.commitAuthor ? { author: input.commitAuthor } : {}),
        },
        buildCommand: input.buildCommand,
      },
      resolvedDependencies: [
        { uri: `git+${input.sourceRepo}@${input.commit}`, digest: { gitCommit: input.commit } },
        ...(input.materials ?? []),
      ],
    },
    runDetails: {
      builder: { id: input.builderId },
      metadata: { invocationId: input.invocationId, startedOn: input.startedOn, finishedOn: input.finishedOn },
    },
  });
}

/**
 * Reads the facts a policy checks out of a SLSA v1 predicate: our own layout, GitHub's workflow
 * buildTypes, slsa-github-generator's and GitLab's (see readSource, readSourceRef and
 * readCommitAuthor for where each comes from). Missing facts come back as undefined; `ref` and
 * `commitAuthor` are left out when unknown.
 */
export function readBuildFacts(predicate: unknown): Partial<BuildFacts> {
  const p = asProvenance(predicate);
  const source = readSource(p);
  const ref = readSourceRef(p, source);
  const author = commitAuthorOf(p, source.commit);
  return {
    sourceRepo: source.sourceRepo,
    commit: source.commit,
    buildCommand: str(externalParameters(p).buildCommand),
    builderId: str(p.runDetails.builder?.id),
    ...(ref !== undefined ? { ref } : {}),
    ...(author !== undefined ? { commitAuthor: author.identities[0] } : {}),
  };
}
