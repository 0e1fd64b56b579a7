import type { KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import { IN_TOTO_PAYLOAD_TYPE, envelopePayload, parseEnvelope, signEnvelope, verifyEnvelope } from '../dsse/envelope';
import type { Signer } from '../keys/signer';
import type { BlobReadOptions } from '../oci/blob-cache';
import type { Store } from '../oci/store';
import { MEDIA_TYPE } from '../oci/types';
import type { Statement } from '../provenance/statement';
import { parseStatement, statementCoversDigest, subjectDigests } from '../provenance/statement';
import { SIGNATURE_ANNOTATION } from './image-signatures';
import { EvidenceError, formatProblem, looksLikeDerSignature, type Problem } from './problems';
import { checkSignatureLayers, type SignatureLayer } from './signature-manifest';
import { appendEachOnce, type OnceLayer, type WriteOptions } from './signature-writes';
import { cosignTag } from './tags';

export const PREDICATE_TYPE_ANNOTATION = 'predicateType';

export interface VerifiedAttestation {
  predicateType: string;
  statement: Statement;
}

export interface AttestationReport {
  attestations: VerifiedAttestation[];
  problems: string[];
  /** The same problems, with a stable code each. */
  issues: Problem[];
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
  options: BlobReadOptions = {},
): Promise<AttestationReport> {
  const tag = cosignTag(digest, 'att');
  const { results: attestations, issues } = await checkSignatureLayers(
    store,
    repository,
    tag,
    'attestation',
    (layer) => checkAttestationLayer(layer.descriptor.mediaType, layer.descriptor.annotations, layer.data, digest, publicKey),
    options,
  );
  const problems = issues.map((i) => (i.code === 'NOT_FOUND' || i.where === tag ? i.message : formatProblem(i)));
  return { attestations, problems, issues };
}

function checkAttestationLayer(
  mediaType: string,
  annotations: Record<string, string> | undefined,
  data: Buffer,
  digest: string,
  publicKey: string | KeyObject,
): VerifiedAttestation {
  if (mediaType !== MEDIA_TYPE.dsseEnvelope) throw new EvidenceError('WRONG_TYPE', `layer media type ${mediaType} is not a DSSE envelope`);
  let envelope;
  try {
    envelope = parseEnvelope(data);
  } catch (err) {
    const message = (err as Error).message.replace(/^ATTESTATION_INVALID: /, '');
    throw new EvidenceError(/no signatures/.test(message) ? 'UNSIGNED' : /sig missing or not base64/.test(message) ? 'BAD_SIGNATURE_ENCODING' : 'MALFORMED', message);
  }
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new EvidenceError('WRONG_TYPE', `payloadType ${envelope.payloadType} is not in-toto`);
  if (!envelope.signatures.some((s) => looksLikeDerSignature(Buffer.from(s.sig, 'base64')))) {
    throw new EvidenceError('BAD_SIGNATURE_ENCODING', 'no signature is a whole DER ECDSA signature (truncated?)');
  }
  if (!verifyEnvelope(envelope, publicKey)) throw new EvidenceError('WRONG_KEY', 'not signed by the expected key');
  const statement = parseStatement(envelopePayload(envelope));
  if (!statementCoversDigest(statement, digest)) {
    throw new EvidenceError('WRONG_DIGEST', `subject is ${subjectDigests(statement).join(', ') || 'empty'}, not ${digest}`);
  }
  const annotated = annotations?.[PREDICATE_TYPE_ANNOTATION];
  if (annotated !== undefined && annotated !== statement.predicateType) {
    throw new EvidenceError('WRONG_TYPE', `annotated predicate type ${annotated} differs from the signed ${statement.predicateType}`);
  }
  return { predicateType: statement.predicateType, statement };
}

/**
 * Signs `statement` as DSSE and appends it to the `.att` manifest, unless the same statement
 * signed by the same key is already there; checked again under the manifest's write lock once
 * signed, and left there once however many writers raced (see signImage).
 */
export async function attachAttestation(
  store: Store,
  repository: string,
  digest: string,
  statement: Statement,
  signer: Signer,
  options: WriteOptions = {},
): Promise<{ added: boolean }> {
  return { added: (await attachAttestations(store, repository, digest, [statement], signer, options))[0] };
}

/**
 * attachAttestation for several statements at once: one read of the `.att` manifest and one
 * update for all of them. Resolves with whether each statement was added by this call.
 */
export async function attachAttestations(
  store: Store,
  repository: string,
  digest: string,
  statements: Statement[],
  signer: Signer,
  options: WriteOptions = {},
): Promise<boolean[]> {
  const publicKey = await signer.publicKeyPem();
  const existing = await verifyAttestations(store, repository, digest, publicKey);
  const items: OnceLayer[] = [];
  const itemOf: number[] = [];
  for (const [i, statement] of statements.entries()) {
    const payload = Buffer.from(JSON.stringify(statement), 'utf8');
    const payloadDigest = createHash('sha256').update(payload).digest('hex');
    const same = (s: Statement) => createHash('sha256').update(JSON.stringify(s)).digest('hex') === payloadDigest;
    if (existing.attestations.some((a) => same(a.statement))) continue;
    const envelope = await signEnvelope(payload, IN_TOTO_PAYLOAD_TYPE, signer);
    // This statement signed by this key, whatever else is wrong with it (a planted subject is still ours to keep once).
    const own = (layers: SignatureLayer[]) =>
      layers.filter((l) => {
        try {
          const envelope = parseEnvelope(l.data);
          return verifyEnvelope(envelope, publicKey) && same(parseStatement(envelopePayload(envelope)));
        } catch {
          return false;
        }
      });
    const layer = {
      data: Buffer.from(JSON.stringify(envelope), 'utf8'),
      mediaType: MEDIA_TYPE.dsseEnvelope,
      annotations: { [SIGNATURE_ANNOTATION]: '', [PREDICATE_TYPE_ANNOTATION]: statement.predicateType },
    };
    items.push({ layer, own });
    itemOf[i] = items.length - 1;
  }
  const added = statements.map(() => false);
  if (items.length === 0) return added;
  // A signed envelope is new bytes: no need to ask the registry whether it has them.
  const appended = await appendEachOnce(store, repository, cosignTag(digest, 'att'), items, { ...options, freshBlobs: true });
  return added.map((_, i) => (itemOf[i] === undefined ? false : appended[itemOf[i]]));
}
