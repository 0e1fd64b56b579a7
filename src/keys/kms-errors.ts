/**
 * Sorts what the KMS SDK throws into what may clear up by itself (throttling, a KMS that cannot
 * be reached or answers 5xx: retried) and what never will (access denied, a disabled key, a key
 * of the wrong kind, a key that does not exist: reported at once with the reason).
 */
import { CountersignError, type ErrorCode } from '../errors';

export type KmsErrorVerdict = { retry: true; reason: string } | { retry: false; error: CountersignError };

const RETRY_NAMES = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'KMSInternalException',
  'DependencyTimeoutException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);

const FINAL: ReadonlyArray<{ names: ReadonlySet<string>; code: ErrorCode; why: string }> = [
  {
    names: new Set([
      'AccessDeniedException',
      'UnrecognizedClientException',
      'InvalidClientTokenId',
      'InvalidSignatureException',
      'SignatureDoesNotMatch',
      'IncompleteSignature',
      'MissingAuthenticationToken',
      'ExpiredTokenException',
      'CredentialsProviderError',
    ]),
    code: 'KMS_ACCESS_DENIED',
    why: 'access denied (the worker needs kms:DescribeKey, kms:GetPublicKey and kms:Sign on the key, with valid credentials)',
  },
  { names: new Set(['DisabledException', 'KMSInvalidStateException', 'KeyUnavailableException']), code: 'KMS_KEY_DISABLED', why: 'the key cannot be used in its current state' },
  { names: new Set(['InvalidKeyUsageException', 'UnsupportedOperationException']), code: 'KMS_WRONG_KEY_SPEC', why: 'the key cannot sign with ECDSA_SHA_256' },
  { names: new Set(['NotFoundException']), code: 'KEY_MISSING', why: 'no such key or alias' },
];

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
  cause?: unknown;
}

function networkCode(err: SdkLikeError): string | undefined {
  for (let e: SdkLikeError | undefined = err, depth = 0; e && depth < 4; e = e.cause as SdkLikeError | undefined, depth++) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  }
  return undefined;
}

/** What to do with an error thrown by one KMS call. */
export function classifyKmsError(err: unknown, keyRef: string, operation: string): KmsErrorVerdict {
  if (err instanceof CountersignError) return { retry: false, error: err };
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as SdkLikeError;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const text = `${name}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? ''}`.trim();
  const details = { keyRef, operation, kmsError: name, httpStatus: status };

  for (const rule of FINAL) {
    if (rule.names.has(name)) {
      return { retry: false, error: new CountersignError(rule.code, `${keyRef}: KMS ${operation}: ${rule.why}: ${text}`, { cause: err, details }) };
    }
  }
  const net = networkCode(e);
  if (net) return { retry: true, reason: `cannot reach KMS (${net})` };
  if (RETRY_NAMES.has(name) || status === 429 || (status !== undefined && status >= 500) || e.$fault === 'server') {
    return { retry: true, reason: text };
  }
  if (/socket hang up|ECONNRESET|ECONNREFUSED/i.test(e.message ?? '')) return { retry: true, reason: `cannot reach KMS (${e.message})` };
  if (status !== undefined || e.$fault === 'client') {
    return { retry: false, error: new CountersignError('KEY_INVALID', `${keyRef}: KMS ${operation} refused the request: ${text}`, { cause: err, details }) };
  }
  return { retry: false, error: new CountersignError('INTERNAL', `${keyRef}: KMS ${operation} failed: ${text}`, { cause: err, details }) };
}
