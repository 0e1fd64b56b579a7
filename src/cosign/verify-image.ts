/**
 * Everything a key has signed for an image, in both storage formats, and the checks built on it:
 * the cosign signature and the attestations of the wanted predicate types. Both formats are read
 * always; which one was published makes no difference to the outcome.
 */
import type { KeyObject } from 'node:crypto';
import type { Signer } from '../keys/signer';
import type { Store } from '../oci/store';
import type { Statement } from '../provenance/statement';
import { attachAttestations, verifyAttestations } from './attestations';
import { signAndAttestBundles, signImageBundle, verifyImageBundles, type VerifiedStatement } from './bundle-images';
import { writesBundle, writesLegacy, type SignatureFormat } from './formats';
import { signImage, verifyImageSignatures } from './image-signatures';
import { BUNDLE_V03_MEDIA_TYPE } from './bundle';
import type { Problem, ProblemCode } from './problems';
import { listReferrers, type ListReferrersOptions } from './referrers';
import type { WriteOptions } from './signature-writes';

export interface ImageEvidence {
  signatures: { legacy: number; bundle: number };
  attestations: Array<VerifiedStatement & { format: 'legacy' | 'bundle' }>;
  /** What did not count. "Nothing stored" lines are kept only when nothing at all verified. */
  problems: Problem[];
}

/** `fallbackToo`: bundles listed under the referrers fallback tag count even where the Referrers API answers (src/cosign/referrers.ts). */
export async function collectImageEvidence(store: Store, repository: string, digest: string, publicKey: string | KeyObject, options: ListReferrersOptions = {}): Promise<ImageEvidence> {
  // Bundles first: their listing is the only read a second round (the referrer manifests) waits
  // on, so it goes out ahead of the .sig and .att reads.
  const bundlesRead = verifyImageBundles(store, repository, digest, publicKey, options);
  const [sigs, atts, bundles] = await Promise.all([
    verifyImageSignatures(store, repository, digest, publicKey),
    verifyAttestations(store, repository, digest, publicKey),
    bundlesRead,
  ]);
  const problems = [...sigs.issues, ...atts.issues, ...bundles.problems];
  if (bundles.examined === 0) problems.push({ code: 'NOT_FOUND', where: 'bundles', message: `no sigstore bundles refer to ${digest}` });
  const found = sigs.valid + bundles.signatures + atts.attestations.length + bundles.attestations.length > 0;
  return {
    signatures: { legacy: sigs.valid, bundle: bundles.signatures },
    attestations: [
      ...atts.attestations.map((a) => ({ ...a, format: 'legacy' as const })),
      ...bundles.attestations.map((a) => ({ ...a, format: 'bundle' as const })),
    ],
    problems: found ? problems.filter((p) => p.code !== 'NOT_FOUND') : problems,
  };
}

export interface EvidenceCheck {
  name: string;
  ok: boolean;
  /** Stable: OK, or the ProblemCode of the first reason it failed. */
  code: 'OK' | ProblemCode;
  message: string;
}

const PRIORITY: ProblemCode[] = ['WRONG_DIGEST', 'WRONG_KEY', 'BAD_SIGNATURE_ENCODING', 'UNSIGNED', 'MALFORMED', 'WRONG_TYPE', 'UNSUPPORTED', 'NOT_FOUND'];

function firstCode(problems: Problem[]): ProblemCode {
  return PRIORITY.find((c) => problems.some((p) => p.code === c)) ?? 'NOT_FOUND';
}

const describe = (problems: Problem[]) => (problems.length > 0 ? `: ${problems.map((p) => `${p.where}: ${p.message}`).join('; ')}` : '');

/** The signature check: at least one cosign signature by the key whose signed payload names the digest. */
export function signatureCheck(name: string, evidence: ImageEvidence, digest: string, keyLabel: string): EvidenceCheck {
  const { legacy, bundle } = evidence.signatures;
  if (legacy + bundle > 0) {
    const where = [legacy ? `${legacy} in .sig` : '', bundle ? `${bundle} as bundle` : ''].filter(Boolean).join(', ');
    return { name, ok: true, code: 'OK', message: `signature by ${keyLabel} over ${digest} (${where})` };
  }
  const relevant = evidence.problems.filter((p) => !p.where.startsWith('attestation'));
  return { name, ok: false, code: firstCode(relevant), message: `no valid signature by ${keyLabel}${describe(relevant)}` };
}

/** An attestation check: a statement of `predicateType` signed by the key with the digest as subject. */
export function attestationCheck(name: string, evidence: ImageEvidence, predicateType: string, keyLabel: string, digest: string): { check: EvidenceCheck; statement?: Statement } {
  const found = evidence.attestations.find((a) => a.predicateType === predicateType);
  if (found) return { check: { name, ok: true, code: 'OK', message: `${predicateType} signed by ${keyLabel} for ${digest} (${found.format})` }, statement: found.statement };
  const relevant = evidence.problems.filter((p) => !p.where.startsWith('signature'));
  const others = evidence.attestations.map((a) => a.predicateType);
  const code = relevant.length === 0 && others.length > 0 ? 'WRONG_TYPE' : firstCode(relevant);
  const besides = others.length > 0 ? ` (verified attestations: ${others.join(', ')})` : '';
  return { check: { name, ok: false, code, message: `no ${predicateType} attestation signed by ${keyLabel} for ${digest}${besides}${describe(relevant)}` } };
}

/**
 * The format to publish in: as configured, except that `legacy` becomes `both` when the image
 * already has sigstore bundles, because cosign v3 then never looks at the .sig/.att tags.
 */
export async function effectiveFormat(format: SignatureFormat, store: Store, repository: string, digest: string): Promise<SignatureFormat> {
  if (format !== 'legacy') return format;
  const referrers = await listReferrers(store, repository, digest);
  return referrers.some((d) => !d.artifactType || d.artifactType === BUNDLE_V03_MEDIA_TYPE) ? 'both' : 'legacy';
}

/** Signs the image in the given format(s); added is true when anything new was written. */
export async function signImageAs(format: SignatureFormat, store: Store, repository: string, digest: string, signer: Signer, options: WriteOptions = {}): Promise<{ added: boolean; format: SignatureFormat }> {
  return signImageIn(await effectiveFormat(format, store, repository, digest), store, repository, digest, signer, options);
}

/** signImageAs in a format effectiveFormat already gave: a step that writes several things probes once. */
export async function signImageIn(used: SignatureFormat, store: Store, repository: string, digest: string, signer: Signer, options: WriteOptions = {}): Promise<{ added: boolean; format: SignatureFormat }> {
  let added = false;
  if (writesLegacy(used)) added = (await signImage(store, repository, digest, signer, options)).added || added;
  if (writesBundle(used)) added = (await signImageBundle(store, repository, digest, signer, options)).added || added;
  return { added, format: used };
}

/** Attaches a signed statement in the given format(s). */
export async function attestImageAs(format: SignatureFormat, store: Store, repository: string, digest: string, statement: Statement, signer: Signer, options: WriteOptions = {}): Promise<{ added: boolean }> {
  return { added: (await attestImageIn(await effectiveFormat(format, store, repository, digest), store, repository, digest, [statement], signer, options))[0] };
}

/**
 * Attaches signed statements in a format effectiveFormat already gave; in the legacy format all of
 * them in one `.att` update. Resolves with whether each statement was added, in any format.
 */
export async function attestImageIn(used: SignatureFormat, store: Store, repository: string, digest: string, statements: Statement[], signer: Signer, options: WriteOptions = {}): Promise<boolean[]> {
  const added = new Set<number>();
  if (writesLegacy(used)) {
    (await attachAttestations(store, repository, digest, statements, signer, options)).forEach((a, i) => a && added.add(i));
  }
  if (writesBundle(used)) {
    (await signAndAttestBundles(store, repository, digest, signer, false, statements, options)).attested.forEach((a, i) => a && added.add(i));
  }
  return statements.map((_, i) => added.has(i));
}

/**
 * A developer step's writes in a format effectiveFormat already gave: the signature and the
 * statements. The legacy `.sig` and `.att` go side by side (their settle waits overlap); the
 * bundles go as one batch, one look before signing and one under the lock for all of them.
 */
export async function signAndAttestIn(used: SignatureFormat, store: Store, repository: string, digest: string, signer: Signer, statements: Statement[], options: WriteOptions = {}): Promise<{ signatureAdded: boolean; attested: boolean[] }> {
  const [legacySignature, legacyAttested, bundles] = await Promise.all([
    writesLegacy(used) ? signImage(store, repository, digest, signer, options) : undefined,
    writesLegacy(used) ? attachAttestations(store, repository, digest, statements, signer, options) : undefined,
    writesBundle(used) ? signAndAttestBundles(store, repository, digest, signer, true, statements, options) : undefined,
  ]);
  return {
    signatureAdded: Boolean(legacySignature?.added) || Boolean(bundles?.signatureAdded),
    attested: statements.map((_, i) => Boolean(legacyAttested?.[i]) || Boolean(bundles?.attested[i])),
  };
}
