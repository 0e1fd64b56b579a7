/**
 * Where signatures and attestations are published. `legacy`: cosign's `sha256-<hex>.sig/.att`
 * tags, read by cosign v2 and v3. `bundle`: sigstore bundles as OCI referrers (fallback index tag
 * on registries without the Referrers API), cosign v3's default. `both`: each, for a migration.
 */
export type SignatureFormat = 'legacy' | 'bundle' | 'both';

export const SIGNATURE_FORMATS: readonly SignatureFormat[] = ['legacy', 'bundle', 'both'];

/** The format every cosign user verifies: v2 reads only tags, v3 reads tags when no bundle exists. */
export const DEFAULT_SIGNATURE_FORMAT: SignatureFormat = 'legacy';

export function isSignatureFormat(value: unknown): value is SignatureFormat {
  return typeof value === 'string' && (SIGNATURE_FORMATS as readonly string[]).includes(value);
}

export function writesLegacy(format: SignatureFormat): boolean {
  return format !== 'bundle';
}

export function writesBundle(format: SignatureFormat): boolean {
  return format !== 'legacy';
}
