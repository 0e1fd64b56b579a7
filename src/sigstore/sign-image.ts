/**
 * Developer signing made keyless by the worker (a target's `keyless.sign:`): the image's cosign
 * signature and its statements as sigstore bundle referrers, each signed with a fresh Fulcio
 * certificate. Written once: a keyless signature (or the same statement) by an identity the
 * target trusts, already on the image, is the answer, looked for before signing and again after.
 */
import { bundleWrites, pushBundlesOnce } from '../cosign/bundle-images';
import type { WriteOptions } from '../cosign/signature-writes';
import { CountersignError } from '../errors';
import type { Store } from '../oci/store';
import type { Statement } from '../provenance/statement';
import { collectKeylessEvidence, type KeylessImageEvidence } from './image-evidence';
import { keylessBundleMaker } from './keyless-sign';
import type { KeylessPin } from './pin';
import { trustFromPin } from './platform';

export async function developerSignKeyless(
  store: Store,
  repository: string,
  digest: string,
  pin: KeylessPin,
  statements: Statement[],
  env: NodeJS.ProcessEnv = process.env,
  options: WriteOptions = {},
): Promise<{ signatureAdded: boolean; attestationsAdded: number }> {
  if (!pin.sign) throw new CountersignError('BAD_INPUT', "keyless developer signing needs the target's keyless.sign in the plan");
  const makeBundle = keylessBundleMaker(pin.sign, env);
  const trust = trustFromPin(pin);
  const writes = bundleWrites<KeylessImageEvidence>(digest, true, statements, { hasSignature: (found) => found.signatures.length > 0, attestations: (found) => found.attestations });
  // One look before signing and one under the lock for the signature and every statement.
  const [signature, ...attested] = await pushBundlesOnce(store, repository, digest, writes, makeBundle, () => collectKeylessEvidence(store, repository, digest, trust), options);
  return { signatureAdded: signature !== undefined, attestationsAdded: attested.filter((r) => r !== undefined).length };
}
