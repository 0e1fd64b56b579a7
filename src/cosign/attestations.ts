import type { KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import { CountersignError } from '../errors';
import { IN_TOTO_PAYLOAD_TYPE, envelopePayload, parseEnvelope, signEnvelope, verifyEnvelope } from '../dsse/envelope';
import type { Signer } from '../keys/signer';
import type { Store } from '../oci/store';
import { MEDIA_TYPE } from '../oci/types';
import type { Statement } from '../provenance/statement';
import { parseStatement, statementCoversDigest, subjectDigests } from '../provenance/statement';
import { SIGNATURE_ANNOTATION } from './image-signatures';
import { appendSignatureLayer, readSignatureLayers } from './signature-manifest';
import { cosignTag } from './tags';

export const PREDICATE_TYPE_ANNOTATION = 'predicateType';

export interface VerifiedAttestation {
  predicateType: string;
  statement: Statement;
}

export interface AttestationReport {
  attestations: VerifiedAttestation[];
  problems: string[];
}

/**
 * Reads the `.att` layers for `digest` and keeps those signed by the key whose statement names
 * the digest as a subject; every other layer yields a problem line.
 */
export async function verifyAttestations(
  store: Store,
  repository: string,
  digest: string,
  publicKey: string | KeyObject,
): Promise<AttestationReport> {
  const tag = cosignTag(digest, 'att');
  let layers;
  try {
    layers = await readSignatureLayers(store, repository, tag);
  } catch (err) {
    if (err instanceof CountersignError && err.code === 'SIGNATURE_INVALID') return { attestations: [], problems: [err.message] };
    throw err;
  }
  if (layers.length === 0) return { attestations: [], problems: [`no attestations stored at ${store.location}/${repository}:${tag}`] };
  const attestations: VerifiedAttestation[] = [];
  const problems: string[] = [];
  layers.forEach((layer, index) => {
    const label = `attestation ${index + 1}/${layers.length}`;
    if (layer.descriptor.mediaType !== MEDIA_TYPE.dsseEnvelope) {
      problems.push(`${label}: layer media type ${layer.descriptor.mediaType} is not a DSSE envelope`);
      return;
    }
    try {
      const envelope = parseEnvelope(layer.data);
      if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new CountersignError('ATTESTATION_INVALID', `payloadType ${envelope.payloadType} is not in-toto`);
      if (!verifyEnvelope(envelope, publicKey)) throw new CountersignError('ATTESTATION_INVALID', 'not signed by the expected key');
      const statement = parseStatement(envelopePayload(envelope));
      if (!statementCoversDigest(statement, digest)) {
        throw new CountersignError('ATTESTATION_INVALID', `subject is ${subjectDigests(statement).join(', ') || 'empty'}, not ${digest}`);
      }
      const annotated = layer.descriptor.annotations?.[PREDICATE_TYPE_ANNOTATION];
      if (annotated !== undefined && annotated !== statement.predicateType) {
        throw new CountersignError('ATTESTATION_INVALID', `annotated predicate type ${annotated} differs from the signed ${statement.predicateType}`);
      }
      attestations.push({ predicateType: statement.predicateType, statement });
    } catch (err) {
      problems.push(`${label}: ${(err as Error).message.replace(/^ATTESTATION_INVALID: /, '')}`);
    }
  });
  return { attestations, problems };
}

/**
 * Signs `statement` as DSSE and appends it to the `.att` manifest, unless the same statement
 * signed by the same key is already there.
 */
export async function attachAttestation(
  store: Store,
  repository: string,
  digest: string,
  statement: Statement,
  signer: Signer,
): Promise<{ added: boolean }> {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const payloadDigest = createHash('sha256').update(payload).digest('hex');
  const existing = await verifyAttestations(store, repository, digest, await signer.publicKeyPem());
  const already = existing.attestations.some(
    (a) => createHash('sha256').update(JSON.stringify(a.statement)).digest('hex') === payloadDigest,
  );
  if (already) return { added: false };
  const envelope = await signEnvelope(payload, IN_TOTO_PAYLOAD_TYPE, signer);
  await appendSignatureLayer(store, repository, cosignTag(digest, 'att'), {
    data: Buffer.from(JSON.stringify(envelope), 'utf8'),
    mediaType: MEDIA_TYPE.dsseEnvelope,
    annotations: { [SIGNATURE_ANNOTATION]: '', [PREDICATE_TYPE_ANNOTATION]: statement.predicateType },
  });
  return { added: true };
}
