/**
 * One error class for the whole library. `code` is stable and machine-readable; the message
 * carries the facts. Whether a failure may be retried is decided here, once, from the code.
 */
export type ErrorCode =
  | 'BAD_INPUT'
  | 'BAD_REFERENCE'
  | 'BAD_CONFIG'
  | 'UNKNOWN_TARGET'
  | 'UNKNOWN_PROMOTION'
  | 'KEY_MISSING'
  | 'KEY_INVALID'
  | 'KEY_PASSPHRASE_MISSING'
  | 'KEY_WRONG_PASSPHRASE'
  | 'KEY_REVOKED'
  | 'KEY_UNKNOWN'
  | 'KEY_RETIRED'
  | 'KEY_NOT_VALID_AT_SIGNING_TIME'
  | 'TRUST_INDEX_CORRUPT'
  | 'TRUST_NO_ACTIVE_KEY'
  | 'TRUST_BUSY'
  | 'TRUST_UNKNOWN'
  | 'TRUST_UNREACHABLE'
  | 'TRUST_INDEX_SIGNATURE_INVALID'
  | 'TRUST_INDEX_ROLLED_BACK'
  | 'TRUST_INDEX_EXPIRED'
  // The governance-signed root that names the index key (docs/trust.md, The root); exits 11, 12, 13 like the index's.
  | 'TRUST_ROOT_SIGNATURE_INVALID'
  | 'TRUST_ROOT_ROLLED_BACK'
  | 'TRUST_ROOT_EXPIRED'
  | 'KMS_UNAVAILABLE'
  | 'KMS_ACCESS_DENIED'
  | 'KMS_KEY_DISABLED'
  | 'KMS_WRONG_KEY_SPEC'
  | 'REGISTRY_UNREACHABLE'
  | 'REGISTRY_ERROR'
  | 'REGISTRY_REJECTED'
  | 'MANIFEST_UNKNOWN'
  | 'BLOB_UNKNOWN'
  | 'DIGEST_MISMATCH'
  // Outside bytes over a limit or malformed (docs/limits.md); bad input, never retried.
  | 'INPUT_TOO_LARGE'
  | 'REGISTRY_RESPONSE_TOO_LARGE'
  | 'TOO_MANY_SIGNATURES'
  | 'TOO_MANY_REFERRERS'
  | 'MANIFEST_INVALID'
  | 'ARCHIVE_INVALID'
  | 'BUILD_FAILED'
  | 'BUILD_NOT_REPRODUCIBLE'
  | 'SIGNATURE_INVALID'
  // A pinned sigstore trusted_root.json that cannot be read or is not one (docs/policy.md, Keyless).
  | 'TRUSTED_ROOT_INVALID'
  // Keyless signing (docs/keyless.md): a signing_config.json that is not one; Fulcio, Rekor or the
  // timestamp authority refusing a request, or out of reach; the OIDC token source likewise.
  | 'SIGNING_CONFIG_INVALID'
  | 'KEYLESS_SIGNING_REFUSED'
  | 'SIGSTORE_UNAVAILABLE'
  | 'OIDC_TOKEN_REFUSED'
  | 'OIDC_TOKEN_UNAVAILABLE'
  | 'SIGNATURE_MISSING'
  | 'ATTESTATION_INVALID'
  | 'POLICY_MISMATCH'
  | 'VERIFICATION_FAILED'
  | 'APPROVAL_REFUSED'
  | 'REQUEST_INVALID'
  | 'REQUEST_UNSIGNED'
  | 'REQUEST_BAD_SIGNATURE'
  | 'REQUEST_UNKNOWN_SIGNER'
  | 'REQUEST_EXPIRED'
  | 'REQUEST_REPLAYED'
  | 'REQUEST_OUT_OF_SCOPE'
  | 'REJECTED_BEFORE'
  | 'SOURCE_NOT_ALLOWED'
  | 'IMAGE_OUTSIDE_TARGET'
  | 'NO_WORKER_CONFIG'
  | 'SEAL_INVALID'
  | 'SEAL_KEY_MISSING'
  | 'NOTIFY_URL_NOT_CONFIGURED'
  | 'HISTORY_LAGGING'
  | 'NOTIFY_UNAVAILABLE'
  | 'NOTIFY_REJECTED'
  | 'CHART_INVALID'
  | 'CHART_NAME_MISMATCH'
  | 'CHART_VERSION_EXISTS'
  | 'PROVENANCE_INVALID'
  | 'PROVENANCE_SIGNATURE_INVALID'
  | 'PROVENANCE_UNKNOWN_KEY'
  | 'PROVENANCE_FUTURE_DATED'
  | 'PROVENANCE_DIGEST_MISMATCH'
  | 'PROVENANCE_METADATA_MISMATCH'
  | 'KEYRING_INVALID'
  | 'KEYRING_ARMORED'
  // The approval console and `countersign evidence`: a promotion that has not reached platform verify's end.
  | 'EVIDENCE_NOT_READY'
  // The console's passkey ceremonies: an enrolment or login that does not verify, or a passkey not in the roster.
  | 'PASSKEY_REFUSED'
  // The console: no session, or a state-changing request without the session's CSRF token.
  | 'UNAUTHENTICATED'
  | 'CSRF_REFUSED'
  // A vote signed over an evidence pack the gate showed earlier (STALE) or never showed (UNKNOWN).
  | 'EVIDENCE_STALE'
  | 'EVIDENCE_UNKNOWN'
  | 'TOOL_MISSING'
  | 'STACK_ERROR'
  | 'INTERNAL';

/** Codes for conditions that can clear up on their own; everything else fails at once. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'REGISTRY_UNREACHABLE',
  'REGISTRY_ERROR',
  'KMS_UNAVAILABLE',
  'TRUST_BUSY',
  'NOTIFY_UNAVAILABLE',
  'SIGSTORE_UNAVAILABLE',
  'OIDC_TOKEN_UNAVAILABLE',
  'STACK_ERROR',
  'HISTORY_LAGGING',
  'INTERNAL',
]);

export class CountersignError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(`${code}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CountersignError';
    this.code = code;
    this.details = options.details;
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

/** True when `err` is a CountersignError with the given code (tests assert on codes, not text). */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof CountersignError && err.code === code;
}
