/**
 * Keyless DSSE bundles: sigstore-js's Fulcio signer (an ephemeral key, certified for the worker's
 * OIDC identity), a transparency-log entry and an RFC 3161 timestamp from the services the pinned
 * signing config names. Rekor v2 entries are hashedrekords over the PAE (rekor-v2-witness.ts).
 * Failures come back with one code each: the services' refusals are final, their outages retried.
 */
import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { DSSEBundleBuilder, FulcioSigner, InternalError, RekorWitness, TSAWitness, type Witness } from '@sigstore/sign';
import type { DsseBundleMaker } from '../cosign/bundle-images';
import { CountersignError } from '../errors';
import { fetchIdentityToken } from './identity-token';
import { RekorV2HashedRekordWitness } from './rekor-v2-witness';
import type { KeylessSignPin } from './sign-config';
import { parseSigningConfig } from './signing-config';


/** Per request to Fulcio, Rekor or the timestamp authority; Rekor v2 answers once its batch is sequenced. */
export const DEFAULT_SIGSTORE_TIMEOUT_MS = 20_000;
/** sigstore-js's own retries of a failed request (the activity's retry policy waits out longer outages). */
export const DEFAULT_SIGSTORE_RETRIES = 2;

export function keylessBundleMaker(pin: KeylessSignPin, env: NodeJS.ProcessEnv = process.env): DsseBundleMaker {
  const { services } = parseSigningConfig(pin.signingConfig, `pinned signing config ${pin.signingConfigDigest.slice(0, 19)}`);
  const fetchOptions = { timeout: DEFAULT_SIGSTORE_TIMEOUT_MS, retry: DEFAULT_SIGSTORE_RETRIES };
  const signer = new FulcioSigner({ fulcioBaseURL: services.fulcioUrl, identityProvider: { getToken: () => fetchIdentityToken(pin.identityToken, env) }, ...fetchOptions });
  const witnesses: Witness[] = [];
  if (services.rekor?.majorApiVersion === 2) witnesses.push(new RekorV2HashedRekordWitness({ rekorBaseURL: services.rekor.url, ...fetchOptions }));
  else if (services.rekor) witnesses.push(new RekorWitness({ rekorBaseURL: services.rekor.url, entryType: 'dsse', majorApiVersion: 1, ...fetchOptions }));
  if (services.tsaUrl) witnesses.push(new TSAWitness({ tsaBaseURL: services.tsaUrl, ...fetchOptions }));
  const builder = new DSSEBundleBuilder({ signer, witnesses });
  return async (payload, payloadType) => {
    try {
      return tidy(bundleToJSON(await builder.create({ data: payload, type: payloadType })));
    } catch (err) {
      throw asCountersignError(err, services);
    }
  };
}

/** cosign v3 leaves keyid out, and writes no empty lists. */
function tidy(json: SerializedBundle): SerializedBundle {
  for (const s of json.dsseEnvelope?.signatures ?? []) delete (s as { keyid?: string }).keyid;
  const material = json.verificationMaterial as Record<string, unknown>;
  if (Array.isArray(material.tlogEntries) && material.tlogEntries.length === 0) delete material.tlogEntries;
  return json;
}

const SERVICE_OF: Record<string, string> = {
  CA_CREATE_SIGNING_CERTIFICATE_ERROR: 'Fulcio',
  TLOG_CREATE_ENTRY_ERROR: 'Rekor',
  TLOG_FETCH_ENTRY_ERROR: 'Rekor',
  TSA_CREATE_TIMESTAMP_ERROR: 'the timestamp authority',
};

/** One code per reason; the token and the client secret are never in a message (sigstore-js quotes a token it cannot parse). */
function asCountersignError(err: unknown, services: { fulcioUrl: string }): CountersignError {
  if (err instanceof CountersignError) return err;
  if (!(err instanceof InternalError)) return new CountersignError('KEYLESS_SIGNING_REFUSED', `keyless signing failed: ${(err as Error).message ?? String(err)}`.slice(0, 500), { cause: err });
  const cause = err.cause as { statusCode?: number; message?: string } | CountersignError | undefined;
  if (err.code === 'IDENTITY_TOKEN_READ_ERROR' && cause instanceof CountersignError) return cause;
  if (err.code === 'IDENTITY_TOKEN_PARSE_ERROR') return new CountersignError('OIDC_TOKEN_REFUSED', 'the identity token names no subject Fulcio can certify (no sub or email claim)');
  const service = SERVICE_OF[err.code] ?? 'Sigstore';
  const status = (cause as { statusCode?: number } | undefined)?.statusCode;
  const detail = (cause as { message?: string } | undefined)?.message?.slice(0, 300) ?? '';
  // No status: the request never got an answer (refused, reset, timed out).
  if (status === undefined || status >= 500 || status === 408 || status === 429) {
    return new CountersignError('SIGSTORE_UNAVAILABLE', `${service} did not answer usefully${status ? ` (${status})` : ''}: ${detail}`, { cause: err, details: { service, fulcio: services.fulcioUrl } });
  }
  return new CountersignError('KEYLESS_SIGNING_REFUSED', `${service} refused: ${detail}`, { cause: err, details: { service, status } });
}
