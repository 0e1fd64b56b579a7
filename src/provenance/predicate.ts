import { CountersignError } from '../errors';
import { parseGitUri } from './git-ref';

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** What countersign's built-in builder declares as its build type. */
export const COUNTERSIGN_BUILD_TYPE = 'https://countersign.dev/buildtypes/directory/v1';

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

type Fields = Record<string, unknown>;

/** The predicate as SLSA v1 provenance; anything else is ATTESTATION_INVALID. */
export function asProvenance(predicate: unknown): SlsaProvenanceV1 {
  const p = predicate as SlsaProvenanceV1;
  if (typeof p?.buildDefinition !== 'object' || p.buildDefinition === null || typeof p?.runDetails !== 'object' || p.runDetails === null) {
    throw new CountersignError('ATTESTATION_INVALID', 'predicate is not SLSA v1 provenance (no buildDefinition/runDetails)');
  }
  return p;
}

/** A non-empty string, or undefined. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A JSON object (not an array), or undefined. */
export function fields(value: unknown): Fields | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;
}

export function externalParameters(p: SlsaProvenanceV1): Fields {
  return fields(p.buildDefinition.externalParameters) ?? {};
}

export function internalParameters(p: SlsaProvenanceV1): Fields {
  return fields(p.buildDefinition.internalParameters) ?? {};
}

/** Two spellings of the same full commit (hex, any case). */
export function sameCommit(a: unknown, b: string | undefined): boolean {
  return typeof a === 'string' && b !== undefined && a !== '' && a.toLowerCase() === b.toLowerCase();
}

/**
 * The CI/CD variables GitLab records in `externalParameters.variables` (GitLab 18.3+, name ->
 * value). Masked and hidden variables read "[MASKED]" there and are left out, as are empty ones.
 */
export function gitlabVariables(p: SlsaProvenanceV1): Record<string, string> {
  const variables = fields(externalParameters(p).variables) ?? {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) {
    if (typeof value === 'string' && value.trim() !== '' && value !== '[MASKED]') out[name] = value;
  }
  return out;
}

export interface SourceFacts {
  sourceRepo?: string;
  commit?: string;
  /** What the source's git+ URI names after its "@", if anything. */
  uriRevision?: string;
}

/**
 * Repository and commit of the source: countersign's own `source`, GitHub's `workflow`, the first
 * git+ resolved dependency (slsa-github-generator's container builder lists itself second), or
 * GitLab's `source` URL and the dependency with that URI, pinned by gitCommit.
 */
export function readSource(p: SlsaProvenanceV1): SourceFacts {
  const ext = externalParameters(p);
  const deps = Array.isArray(p.buildDefinition.resolvedDependencies) ? p.buildDefinition.resolvedDependencies.map(fields) : [];
  const gitDep = deps.find((d) => typeof d?.uri === 'string' && d.uri.startsWith('git+'));
  const git = gitDep ? parseGitUri(gitDep.uri as string) : undefined;
  const gitlabSource = str(ext.source);
  const gitlabDep = gitlabSource ? deps.find((d) => d?.uri === gitlabSource) : undefined;
  const source = fields(ext.source);
  return {
    sourceRepo: str(source?.repository) ?? str(fields(ext.workflow)?.repository) ?? str(git?.repo) ?? gitlabSource,
    commit:
      str(source?.commit) ??
      str(fields(gitDep?.digest)?.gitCommit) ??
      str(fields(gitDep?.digest)?.sha1) ??
      str(fields(gitlabDep?.digest)?.gitCommit),
    uriRevision: git?.revision,
  };
}
