/**
 * What a target's customers enforce at admission, and which publishing formats their admission
 * controllers refuse. The refusals are the matrix the interop tests prove with the controllers'
 * own CLIs (docs/cosign-interop.md, "Admission controllers"): a format one of them refuses keeps
 * every image of the target out of those clusters, so a worker pinning it starts with a warning.
 */
import type { SignatureFormat } from './formats';

export type AdmissionController = 'policy-controller' | 'kyverno' | 'none';

export const ADMISSION_CONTROLLERS: readonly AdmissionController[] = ['policy-controller', 'kyverno', 'none'];

export function isAdmissionController(value: unknown): value is AdmissionController {
  return typeof value === 'string' && (ADMISSION_CONTROLLERS as readonly string[]).includes(value);
}

/** One verifier that refuses a format, and the upstream issue that explains why. */
export interface AdmissionRefusal {
  verifier: string;
  reason: string;
}

const REFUSALS: Record<Exclude<AdmissionController, 'none'>, Partial<Record<SignatureFormat, AdmissionRefusal[]>>> = {
  'policy-controller': {
    bundle: [{ verifier: 'sigstore policy-controller v0.13.1 (key authorities)', reason: 'key authorities do not read sigstore bundles, policy-controller#1958' }],
  },
  kyverno: {
    legacy: [{ verifier: 'Kyverno v1.19.1 ImageValidatingPolicy', reason: 'its attestation checks do not read .att tags, kyverno#17109' }],
    bundle: [{ verifier: 'Kyverno v1.19.1 ClusterPolicy verifyImages type: Cosign', reason: 'it finds no signature in sigstore bundles stored as OCI referrers' }],
  },
};

/** The verifiers of `admission` that refuse what a target publishing `format` writes (none for `both`). */
export function admissionRefusals(admission: AdmissionController | undefined, format: SignatureFormat): AdmissionRefusal[] {
  if (admission === undefined || admission === 'none') return [];
  return REFUSALS[admission][format] ?? [];
}

/** `both` passes every admission controller tried; without admission, the format every cosign reads. */
export function defaultFormatFor(admission: AdmissionController | undefined, fallback: SignatureFormat): SignatureFormat {
  return admission === undefined || admission === 'none' ? fallback : 'both';
}
