/**
 * Keyless evidence on an image, in both storage formats: sigstore bundle referrers signed by a
 * certificate, and cosign's keyless `.sig` layers. Each counts only when it verifies against the
 * target's pinned trusted root, names the digest, and was signed by an identity the target lists.
 */
import { asProblem, EvidenceError, type Problem } from '../cosign/problems';
import { BUNDLE_V03_MEDIA_TYPE } from '../cosign/bundle';
import { COSIGN_SIGN_PREDICATE_TYPE, BUNDLE_FETCH_CONCURRENCY, readReferrerBundle, signedStatement, type VerifiedStatement } from '../cosign/bundle-images';
import { checkSignatureLayers } from '../cosign/signature-manifest';
import { parseSimpleSigningPayload } from '../cosign/simple-signing';
import { cosignTag } from '../cosign/tags';
import { MEDIA_TYPE } from '../oci/types';
import { mapLimit } from '../map-limit';
import type { Store } from '../oci/store';
import type { CertificateFacts } from './certificate';
import { verifySigstoreBundle, type BundleTrust } from './keyless';
import { isKeylessLayer, legacyLayerAsBundle } from './legacy-signature';
import { listReferrers } from '../cosign/referrers';

export interface KeylessSignature {
  format: 'legacy' | 'bundle';
  facts: CertificateFacts;
}

export interface KeylessImageEvidence {
  signatures: KeylessSignature[];
  attestations: Array<VerifiedStatement & KeylessSignature>;
  /** Keyless evidence that did not count, and why; key-signed layers and bundles are not listed. */
  problems: Problem[];
}

/** Marks key-signed evidence, which is the developer key's to judge, not this check's. */
const KEY_SIGNED = 'key-signed';

export async function collectKeylessEvidence(store: Store, repository: string, digest: string, trust: BundleTrust): Promise<KeylessImageEvidence> {
  const out: KeylessImageEvidence = { signatures: [], attestations: [], problems: [] };
  const referrers = (await listReferrers(store, repository, digest)).filter((d) => !d.artifactType || d.artifactType === BUNDLE_V03_MEDIA_TYPE);
  const checked = await mapLimit(referrers, BUNDLE_FETCH_CONCURRENCY, async (descriptor) => {
    const where = `keyless bundle ${descriptor.digest.slice(0, 19)}`;
    try {
      const read = await readReferrerBundle(store, repository, digest, descriptor);
      if (read === 'not-a-bundle' || read.bundle.verificationMaterial.publicKey !== undefined) return undefined;
      if (!read.bundle.dsseEnvelope) throw new EvidenceError('WRONG_TYPE', 'an image bundle holds a DSSE envelope, not a message signature');
      const signer = verifySigstoreBundle(read.bundle, undefined, trust);
      const env = read.bundle.dsseEnvelope;
      return { statement: signedStatement(env.payloadType, Buffer.from(env.payload, 'base64'), digest, read.annotations), facts: signer.facts! };
    } catch (err) {
      return { problem: asProblem(where, err) };
    }
  });
  for (const c of checked) {
    if (!c) continue;
    if ('problem' in c) out.problems.push(c.problem!);
    else if (c.statement.predicateType === COSIGN_SIGN_PREDICATE_TYPE) out.signatures.push({ format: 'bundle', facts: c.facts });
    else out.attestations.push({ ...c.statement, format: 'bundle', facts: c.facts });
  }
  const legacy = await checkSignatureLayers(store, repository, cosignTag(digest, 'sig'), 'keyless signature', (layer) => {
    if (!isKeylessLayer(layer.descriptor.annotations)) throw new EvidenceError('UNSUPPORTED', KEY_SIGNED);
    if (layer.descriptor.mediaType !== MEDIA_TYPE.cosignSimpleSigning) throw new EvidenceError('WRONG_TYPE', `layer media type ${layer.descriptor.mediaType} is not a simple-signing payload`);
    const signer = verifySigstoreBundle(legacyLayerAsBundle(layer.data, layer.descriptor.annotations!), layer.data, trust);
    const signed = parseSimpleSigningPayload(layer.data).critical.image['docker-manifest-digest'];
    if (signed !== digest) throw new EvidenceError('WRONG_DIGEST', `signature was made for ${signed}, not ${digest}`);
    return signer.facts!;
  });
  out.signatures.push(...legacy.results.map((facts) => ({ format: 'legacy' as const, facts })));
  out.problems.push(...legacy.issues.filter((p) => p.code !== 'NOT_FOUND' && !(p.code === 'UNSUPPORTED' && p.message === KEY_SIGNED)));
  return out;
}
