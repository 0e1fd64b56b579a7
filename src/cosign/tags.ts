import { CountersignError } from '../errors';

export type CosignSuffix = 'sig' | 'att' | 'sbom';

/** cosign's legacy tag for an artifact's signatures/attestations: sha256-<hex>.<suffix>. */
export function cosignTag(digest: string, suffix: CosignSuffix): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!match) throw new CountersignError('BAD_REFERENCE', `not a sha256 digest: "${digest}"`);
  return `sha256-${match[1]}.${suffix}`;
}
