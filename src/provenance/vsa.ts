/**
 * SLSA Verification Summary Attestations (https://slsa.dev/spec/v1.0/verification_summary): what
 * platform verify concluded, signed by the platform key at production signing, so a customer (or
 * an admission controller) trusts one key instead of re-running the policy with the developer's.
 * Read by `slsa-verifier verify-vsa` and `cosign verify-attestation --type
 * https://slsa.dev/verification_summary/v1`.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../oci/digest';
import { createStatement, type Statement } from './statement';

export const VSA_PREDICATE_TYPE = 'https://slsa.dev/verification_summary/v1';
/** Who verified, unless the worker's configuration names its deployment (verificationSummary.verifierId). */
export const VSA_VERIFIER_ID = 'https://countersign.dev/verifier/platform-verify/v1';
/**
 * Build L2: the provenance was signed and names a builder the target's policy allows. countersign
 * does not judge how hardened that builder is (L3), so it never claims more.
 */
export const VSA_BUILD_LEVEL = 'SLSA_BUILD_LEVEL_2';
/** Not a SLSA track: the approval quorum of the pinned roster was met and re-checked at signing. */
export const VSA_APPROVED_LEVEL = 'COUNTERSIGN_APPROVAL_QUORUM_MET';

/** An in-toto ResourceDescriptor: where a thing is and its digest. */
export interface ResourceDescriptor {
  uri: string;
  digest: Record<string, string>;
}

export interface SummaryInput {
  /** "registry/repository" of the image. */
  repository: string;
  digest: string;
  /** The target whose policy was in force, and that policy's digest (`sha256:<hex>`, pinned in the plan). */
  target: string;
  policyDigest: string;
  /** Who verified, as the worker's configuration names it (default VSA_VERIFIER_ID). */
  verifierId?: string;
  /** When platform verify ran (from its sealed report). */
  timeVerified: string;
  /** The evidence platform verify judged, plus the approval record. */
  inputAttestations: ResourceDescriptor[];
}

/** The resource a VSA names: the repository, as `slsa-verifier verify-vsa --resource-uri` is given it. */
export function vsaResourceUri(repository: string): string {
  return `oci://${repository}`;
}

/** The policy's descriptor: the target by name, the pinned policy by digest. */
export function policyDescriptor(target: string, policyDigest: string): ResourceDescriptor {
  const [algorithm, hex] = policyDigest.split(':', 2);
  return { uri: `https://countersign.dev/targets/${encodeURIComponent(target)}/policy`, digest: { [algorithm]: hex } };
}

/** The descriptor of a signed statement: where it is attached and the sha256 of its canonical JSON. */
export function statementDescriptor(repository: string, digest: string, statement: Statement): ResourceDescriptor {
  return { uri: `oci://${repository}@${digest}#${statement.predicateType}`, digest: { sha256: createHash('sha256').update(canonicalJson(statement)).digest('hex') } };
}

/** The VSA statement for a passed verification. Deterministic in its input, so retries write the same bytes. */
export function createVerificationSummary(input: SummaryInput): Statement {
  return createStatement(input.repository, input.digest, VSA_PREDICATE_TYPE, {
    verifier: { id: input.verifierId ?? VSA_VERIFIER_ID },
    timeVerified: input.timeVerified,
    resourceUri: vsaResourceUri(input.repository),
    policy: policyDescriptor(input.target, input.policyDigest),
    inputAttestations: input.inputAttestations,
    verificationResult: 'PASSED',
    verifiedLevels: [VSA_BUILD_LEVEL, VSA_APPROVED_LEVEL],
    slsaVersion: '1.0',
  });
}
