/**
 * Verifies a sigstore bundle offline against a pinned trusted root: sigstore-js's verifier
 * (`@sigstore/verify`) checks the certificate chain, SCTs, log inclusion proofs or signed entry
 * timestamps, RFC 3161 timestamps and the signature; countersign adds the identity policy, the
 * requirement counts from the worker's configuration, and one stable code per reason to refuse.
 */
import type { KeyObject } from 'node:crypto';
import { createHash, createPublicKey, timingSafeEqual } from 'node:crypto';
import { preAuthEncoding } from '../dsse/envelope';
import { bundleFromJSON, type Bundle, type SerializedBundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { Verifier, toSignedEntity, type SignedEntity } from '@sigstore/verify';
// Not re-exported by the package's index; pinned with it (3.1.1).
import { verifyTLogBody } from '@sigstore/verify/dist/tlog';
import { EvidenceError, type ProblemCode } from '../cosign/problems';
import { certificateFacts, type CertificateFacts } from './certificate';
import { describeIdentity, matchIdentity, type KeylessIdentity } from './identity';
import type { PinnedTrustedRoot } from './trusted-root';

/** How much independent evidence a keyless signature needs (per target, docs/policy.md). */
export interface KeylessRequirements {
  /** Transparency-log entries, each with a verified inclusion proof or signed entry timestamp. */
  tlog: number;
  /** Signed certificate timestamps from CT logs in the trusted root. */
  sct: number;
  /** Verified signing times (a log's signed entry timestamp or an RFC 3161 timestamp); at least 1 for a certificate. */
  timestamps: number;
  /** RFC 3161 timestamps from timestamp authorities in the trusted root. */
  rfc3161: number;
}

/** What cosign v3 requires of public-good evidence: one log entry, one SCT, one signing time. */
export const DEFAULT_KEYLESS_REQUIREMENTS: Readonly<KeylessRequirements> = Object.freeze({ tlog: 1, sct: 1, timestamps: 1, rfc3161: 0 });

export interface BundleTrust {
  root: PinnedTrustedRoot;
  /** Who may sign with a certificate; a certificate bundle with no identities to match is refused. */
  identities?: readonly KeylessIdentity[];
  /** For key-based bundles checked against the root's logs (a "managed key"). */
  publicKey?: string | KeyObject;
  require?: Partial<KeylessRequirements>;
  /** For "expired" messages only: verification never uses the clock for certificate validity. */
  now?: Date;
}

export interface VerifiedSigner {
  /** Set for a certificate: what it says about the signer. */
  facts?: CertificateFacts;
  /** The configured identity it matched. */
  identity?: KeylessIdentity;
  /** Verified signing times, earliest first. */
  signedAt: Date[];
  tlogEntries: number;
  rfc3161: number;
}

const fail = (code: ProblemCode, message: string) => new EvidenceError(code, message);

/**
 * Verifies `serialized` (already through parseBundle) for `artifact` (a message signature's
 * file; leave out for DSSE bundles, whose payload the caller checks). Throws EvidenceError.
 */
export function verifySigstoreBundle(serialized: SerializedBundle, artifact: Buffer | undefined, trust: BundleTrust): VerifiedSigner {
  try {
    return verifyBundle(serialized, artifact, trust);
  } catch (err) {
    // X.509 and ASN.1 parsing of outside bytes can throw plain errors (found by fuzzing): evidence that does not count.
    if (err instanceof EvidenceError) throw err;
    throw fail('MALFORMED', `bundle: ${(err as Error).message ?? String(err)}`.slice(0, 500));
  }
}

function verifyBundle(serialized: SerializedBundle, artifact: Buffer | undefined, trust: BundleTrust): VerifiedSigner {
  const require = { ...DEFAULT_KEYLESS_REQUIREMENTS, ...trust.require };
  let bundle: Bundle;
  let entity: SignedEntity;
  try {
    bundle = bundleFromJSON(serialized);
    entity = hashedRekordOverDsse(bundle, toSignedEntity(bundle, artifact));
  } catch (err) {
    throw fail('MALFORMED', `bundle: ${(err as Error).message}`);
  }
  const certificate = entity.key.$case === 'certificate' ? entity.key.certificate : undefined;
  if (certificate) {
    if (!trust.identities || trust.identities.length === 0) throw fail('IDENTITY_MISMATCH', 'bundle is signed keyless (a certificate), and no certificate identity is trusted here');
    checkIssuedByRoot(certificate, trust.root);
    checkChainLength(bundle, trust.root);
  } else if (!trust.publicKey) {
    throw fail('WRONG_KEY', 'bundle is signed with a key (publicKey hint), and no key is trusted here');
  }
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    // Found by fuzzing: protojson numbers such as 5e-324 reach here as text, which BigInt refuses.
    if (!/^\d{1,20}$/.test(String(entry.logIndex))) throw fail('MALFORMED', `bundle: log entry index ${String(entry.logIndex).slice(0, 30)} is not a whole number of at least 0`);
    const id = Buffer.from(entry.logId.keyId).toString('base64');
    if (!trust.root.tlogIds.has(id)) throw fail('WRONG_TRUSTED_ROOT', `log entry ${entry.logIndex} is from a log (id ${id}) the trusted root ${trust.root.digest.slice(0, 19)} does not list`);
  }
  const logged = bundle.verificationMaterial.tlogEntries.length;
  if (logged < require.tlog) throw fail('TLOG_MISSING', `${logged} transparency-log entries, ${require.tlog} required`);
  try {
    // Which entry is logged comes before when it was: a proof for another entry is named so.
    for (const entry of entity.tlogEntries) verifyTLogBody(entry, entity.signature);
  } catch (err) {
    throw mapVerificationError(err, certificate, trust.now ?? new Date());
  }
  const material = trust.publicKey ? { ...trust.root.material, publicKey: keyFinder(trust.publicKey) } : trust.root.material;
  const verifier = new Verifier(material, {
    tlogThreshold: require.tlog,
    ctlogThreshold: certificate ? require.sct : 0,
    timestampThreshold: certificate ? Math.max(1, require.timestamps) : require.timestamps,
  });
  try {
    verifier.verify(entity);
  } catch (err) {
    throw mapVerificationError(err, certificate, trust.now ?? new Date());
  }
  const rfc3161 = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0;
  if (rfc3161 < require.rfc3161) throw fail('TIMESTAMP_MISSING', `${rfc3161} RFC 3161 timestamp(s), ${require.rfc3161} required`);
  const signedAt = signingTimes(entity);
  if (!certificate) return { signedAt, tlogEntries: entity.tlogEntries.length, rfc3161 };
  const facts = certificateFacts(certificate);
  const verdict = matchIdentity(facts, trust.identities!);
  if (!verdict.ok) throw fail(verdict.code, verdict.message);
  return { facts, identity: verdict.identity, signedAt, tlogEntries: entity.tlogEntries.length, rfc3161 };
}

/**
 * Rekor v2 logs a DSSE envelope as a hashedrekord 0.0.2 entry over Hash(PAE(type, payload))
 * (rekor-v2 spec 6.1.4), which @sigstore/verify 3.1 compares with the payload's hash instead.
 * Only when every entry is of that kind is the digest compared with the PAE's.
 */
function hashedRekordOverDsse(bundle: Bundle, entity: SignedEntity): SignedEntity {
  if (bundle.content.$case !== 'dsseEnvelope' || entity.tlogEntries.length === 0) return entity;
  if (!entity.tlogEntries.every((e) => e.kindVersion?.kind === 'hashedrekord' && e.kindVersion.version === '0.0.2')) return entity;
  const env = bundle.content.dsseEnvelope;
  const pae = createHash('sha256').update(preAuthEncoding(env.payloadType, env.payload)).digest();
  const inner = entity.signature;
  const signature = {
    signature: inner.signature,
    compareSignature: (s: Buffer) => inner.compareSignature(s),
    verifySignature: (k: KeyObject) => inner.verifySignature(k),
    compareDigest: (d: Buffer) => d.length === pae.length && timingSafeEqual(d, pae),
  };
  return { ...entity, signature };
}

/** Every key hint resolves to the one key trusted here; the hint itself proves nothing. */
function keyFinder(publicKey: string | KeyObject) {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  return () => ({ publicKey: key, validFor: () => true });
}

/**
 * A bundle carries the leaf only (v0.3) or leaf and intermediates (v0.1/v0.2); a root in the
 * bundle could let a chain be built to a root the trusted root never listed. sigstore-js 1.x
 * wrote the whole chain, root included: a root the trusted root lists adds nothing and passes.
 */
function checkChainLength(bundle: Bundle, root: PinnedTrustedRoot): void {
  const trusted = root.material.certificateAuthorities.flatMap((ca) => ca.certChain);
  const content = bundle.verificationMaterial.content;
  if (content.$case !== 'x509CertificateChain') return;
  const certs = content.x509CertificateChain.certificates;
  if (certs.length === 0) throw fail('MALFORMED', 'bundle: the certificate chain is empty');
  for (const [i, c] of certs.entries()) {
    let parsed: X509Certificate | undefined;
    try {
      parsed = X509Certificate.parse(Buffer.from(c.rawBytes));
    } catch {
      throw fail('MALFORMED', `bundle: certificate ${i + 1} of the chain does not parse`);
    }
    const listed = trusted.some((t) => t.equals(parsed!));
    if (!listed && parsed.subject.equals(parsed.issuer) && parsed.verify()) {
      throw fail('MALFORMED', `bundle: certificate ${i + 1} of the chain is a self-signed root the trusted root does not list; roots come from the trusted root only`);
    }
  }
}

/** Tells "issued by a CA this root does not list" (another instance, or a forged CA) from every later failure. */
function checkIssuedByRoot(leaf: X509Certificate, root: PinnedTrustedRoot): void {
  const issuers = root.material.certificateAuthorities.flatMap((ca) => ca.certChain);
  const known = issuers.some((ca) => {
    try {
      return leaf.issuer.equals(ca.subject) && leaf.verify(ca);
    } catch {
      return false;
    }
  });
  if (!known) throw fail('WRONG_TRUSTED_ROOT', `the signing certificate was not issued by a certificate authority in the trusted root ${root.digest.slice(0, 19)}`);
}

function signingTimes(entity: SignedEntity): Date[] {
  const times: Date[] = [];
  for (const t of entity.timestamps) {
    if (t.$case === 'timestamp-authority') times.push(t.timestamp.signingTime);
    else if (t.tlogEntry.inclusionPromise) times.push(new Date(Number(t.tlogEntry.integratedTime) * 1000));
  }
  return times.sort((a, b) => a.getTime() - b.getTime());
}

function causes(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e && out.length < 5; e = e.cause as typeof e) if (e.message) out.push(e.message);
  return out;
}

/** One code per reason sigstore-js refuses, with its messages kept as the facts. */
function mapVerificationError(err: unknown, certificate: X509Certificate | undefined, now: Date): EvidenceError {
  const code = (err as { code?: string }).code;
  const messages = causes(err);
  const text = messages.join(': ');
  const validity = certificate ? ` (certificate valid ${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()})` : '';
  switch (code) {
    case 'SIGNATURE_ERROR':
      return fail('WRONG_KEY', `signature does not verify with the ${certificate ? "certificate's" : 'trusted'} key (another key, or content changed after signing)`);
    case 'PUBLIC_KEY_ERROR':
      return fail('WRONG_KEY', text);
    case 'CERTIFICATE_ERROR':
      if (/SCT/.test(text)) return fail(/expected \d+ SCTs/.test(text) ? 'SCT_MISSING' : 'SCT_INVALID', text);
      if (messages.some((m) => /not valid or expired at the specified date/.test(m))) return fail('CERTIFICATE_EXPIRED', `the certificate was not valid when it was signed, by the verified signing time${validity}`);
      if (messages.some((m) => /no trusted certificate path found/.test(m))) return fail('WRONG_TRUSTED_ROOT', `no chain to a certificate authority the trusted root lists for that time${validity}`);
      return fail('CERTIFICATE_INVALID', text);
    case 'TLOG_BODY_ERROR':
      return fail('TLOG_ENTRY_MISMATCH', `the log entry is for another signature or artifact: ${text}`);
    case 'TLOG_INCLUSION_PROOF_ERROR':
    case 'TLOG_INCLUSION_PROMISE_ERROR':
    case 'TLOG_MISSING_INCLUSION_ERROR':
      return fail('TLOG_PROOF_INVALID', text);
    case 'TLOG_ERROR':
      return fail('TLOG_MISSING', text);
    case 'TIMESTAMP_ERROR':
      if (/expected \d+ timestamps/.test(text)) {
        if (certificate && certificate.notAfter < now) {
          return fail('CERTIFICATE_EXPIRED_NO_TIMESTAMP', `the certificate expired ${certificate.notAfter.toISOString()} and no verified timestamp shows it was signed before: ${text}`);
        }
        return fail('TIMESTAMP_MISSING', text);
      }
      return fail('TIMESTAMP_INVALID', text);
    default:
      return fail('MALFORMED', `bundle: ${text || String(err)}`);
  }
}

export { describeIdentity };
