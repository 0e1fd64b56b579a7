import { CountersignError } from '../errors';
import type { Statement } from './statement';
import { createStatement } from './statement';

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** What countersign's built-in builder declares as its build type. */
export const COUNTERSIGN_BUILD_TYPE = 'https://countersign.dev/buildtypes/directory/v1';

export interface BuildFacts {
  sourceRepo: string;
  commit: string;
  buildCommand: string;
  builderId: string;
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

export interface SlsaProvenanceV1 {
  buildDefinition: {
    buildType: string;
    externalParameters: Record<string, unknown>;
    internalParameters?: Record<string, unknown>;
    resolvedDependencies?: Array<{ uri?: string; digest?: Record<string, string>; name?: string }>;
  };
  runDetails: {
    builder: { id: string; version?: Record<string, string> };
    metadata?: { invocationId?: string; startedOn?: string; finishedOn?: string };
  };
}

/** An in-toto statement carrying SLSA v1 provenance for one image digest. */
export function createProvenance(input: ProvenanceInput): Statement<SlsaProvenanceV1> {
  return createStatement(input.subjectName, input.digest, SLSA_PROVENANCE_V1, {
    buildDefinition: {
      buildType: input.buildType ?? COUNTERSIGN_BUILD_TYPE,
      externalParameters: {
        source: { repository: input.sourceRepo, commit: input.commit, ...(input.commitAuthor ? { author: input.commitAuthor } : {}) },
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
 * Reads the facts a policy checks out of a SLSA v1 predicate. Besides our own layout it accepts
 * the common ones (GitHub Actions' workflow.repository / ref, a git+ resolved dependency) so that
 * provenance written by other builders can be checked too. Missing facts come back as undefined.
 */
export function readBuildFacts(predicate: unknown): Partial<BuildFacts> {
  const p = predicate as SlsaProvenanceV1;
  if (typeof p?.buildDefinition !== 'object' || typeof p?.runDetails !== 'object') {
    throw new CountersignError('ATTESTATION_INVALID', 'predicate is not SLSA v1 provenance (no buildDefinition/runDetails)');
  }
  const ext = (p.buildDefinition.externalParameters ?? {}) as Record<string, any>;
  const gitDep = (p.buildDefinition.resolvedDependencies ?? []).find((d) => typeof d?.uri === 'string' && d.uri.startsWith('git+'));
  const depRepo = gitDep?.uri ? stripGitRef(gitDep.uri.replace(/^git\+/, '')) : undefined;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    sourceRepo: str(ext.source?.repository) ?? str(ext.workflow?.repository) ?? str(depRepo),
    commit: str(ext.source?.commit) ?? str(gitDep?.digest?.gitCommit) ?? str(gitDep?.digest?.sha1),
    buildCommand: str(ext.buildCommand),
    builderId: str(p.runDetails.builder?.id),
    ...(str(ext.source?.author) ? { commitAuthor: str(ext.source?.author) } : {}),
  };
}

/** "https://host/org/repo@refs/heads/main" -> "https://host/org/repo"; an "@" in the host part (ssh user) stays. */
function stripGitRef(uri: string): string {
  const scheme = uri.indexOf('://');
  const pathStart = uri.indexOf('/', scheme >= 0 ? scheme + 3 : 0);
  const at = uri.lastIndexOf('@');
  return pathStart >= 0 && at > pathStart ? uri.slice(0, at) : uri;
}
