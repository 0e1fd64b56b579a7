import { CountersignError } from '../errors';

/** cosign's --type names for predicate types (cosign attest / verify-attestation). */
export const COSIGN_PREDICATE_ALIASES: Record<string, string> = {
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  spdxjson: 'https://spdx.dev/Document',
  spdx: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
};

/** A cosign --type name or a predicate type URI, as a predicate type URI. */
export function predicateTypeFor(nameOrUri: string): string {
  const alias = COSIGN_PREDICATE_ALIASES[nameOrUri];
  if (alias) return alias;
  if (/^https?:\/\/\S+$/.test(nameOrUri)) return nameOrUri;
  throw new CountersignError('BAD_INPUT', `unknown predicate type "${nameOrUri}": use a URI or one of ${Object.keys(COSIGN_PREDICATE_ALIASES).join(', ')}`);
}

/** The --type name cosign knows a predicate type by, or the URI itself. */
export function cosignTypeName(predicateType: string): string {
  return Object.entries(COSIGN_PREDICATE_ALIASES).find(([, uri]) => uri === predicateType)?.[0] ?? predicateType;
}
