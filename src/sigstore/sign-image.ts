/**
 * Developer signing made keyless by the worker (a target's `keyless.sign:`): the image's cosign
 * signature and its statements as sigstore bundle referrers, each signed with a fresh Fulcio
 * certificate. Written once: a keyless signature (or the same statement) by an identity the
 * target trusts, already on the image, is the answer, looked for before signing and again after.
 */
import { createHash } from 'node:crypto';
import { COSIGN_SIGN_PREDICATE_TYPE, pushBundleOnce, signatureStatement } from '../cosign/bundle-images';
import type { WriteOptions } from '../cosign/signature-writes';
import { CountersignError } from '../errors';
import type { Store } from '../oci/store';
import type { Statement } from '../provenance/statement';
import { collectKeylessEvidence } from './image-evidence';
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
  const evidence = () => collectKeylessEvidence(store, repository, digest, trust);
  const hash = (s: unknown) => createHash('sha256').update(JSON.stringify(s)).digest('hex');
  const signature = await pushBundleOnce(store, repository, digest, signatureStatement(digest), COSIGN_SIGN_PREDICATE_TYPE, makeBundle, async () => (await evidence()).signatures.length > 0, options);
  let attestationsAdded = 0;
  for (const statement of statements) {
    const present = async () => (await evidence()).attestations.some((a) => hash(a.statement) === hash(statement));
    if ((await pushBundleOnce(store, repository, digest, statement, statement.predicateType, makeBundle, present, options)).added) attestationsAdded += 1;
  }
  return { signatureAdded: signature.added, attestationsAdded };
}
