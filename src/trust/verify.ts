/**
 * Verification that honours the trust index: find the published key that signed the image, then
 * ask the index whether that key was valid when it signed. The signing time is the `signedAt` of
 * the approval record attestation signed by the same key (docs/trust.md).
 */
import path from 'node:path';
import { APPROVAL_PREDICATE_TYPE } from '../approval/constants';
import { collectImageEvidence, signatureCheck, type ImageEvidence } from '../cosign/verify-image';
import { keyFingerprint } from '../keys/public-key';
import type { Store } from '../oci/store';
import { CountersignError } from '../errors';
import { readIndex, TRUST_INDEX_FILE, type TrustIndex, type TrustKey } from './index-file';
import type { CheckedIndex } from './signed-index';
import { trustSource, type TrustSource } from './source';
import { judgeSignature, type TrustVerdict } from './validity';

export interface TrustedEvidence {
  /** The key whose signature was judged (the first with a valid signature), and its published file. */
  key?: TrustKey;
  keyFile?: string;
  pem?: string;
  evidence?: ImageEvidence;
  signedAt?: string;
  verdict: TrustVerdict;
}

/** The signing time the key itself vouched for: the earliest approval record's signedAt. */
export function signingTime(evidence: ImageEvidence): string | undefined {
  const times = evidence.attestations
    .filter((a) => a.predicateType === APPROVAL_PREDICATE_TYPE)
    .map((a) => (a.statement.predicate as { signedAt?: unknown } | undefined)?.signedAt)
    .filter((t): t is string => typeof t === 'string' && !Number.isNaN(Date.parse(t)));
  return times.sort()[0];
}

/** A published pem is small; anything bigger is not one. */
const MAX_PEM_BYTES = 64 * 1024;

/**
 * Checks the image against the index's cosign keys (or only `pem` when given). Keys that signed
 * validly are judged in index order, a key that passes wins; else the first failure is returned.
 * `trust` is a checked index (signed-index.ts) or a local directory read as it is. A published
 * pem that is not the key its index entry names (by fingerprint) is an edited publication:
 * TRUST_INDEX_SIGNATURE_INVALID, since the signed index vouches for every file through it.
 */
export async function verifyAgainstTrust(store: Store, repository: string, digest: string, trust: string | CheckedIndex, pem?: string): Promise<TrustedEvidence> {
  const { index, source } = typeof trust === 'string' ? await localIndex(trust) : trust;
  const wanted = pem ? keyFingerprint(pem) : undefined;
  const candidates = index.keys.filter((k) => k.kind === 'cosign' && (!wanted || k.fingerprint === wanted));
  if (wanted && candidates.length === 0) {
    return { pem, verdict: { ok: false, code: 'KEY_UNKNOWN', message: `key ${wanted.slice(0, 16)} is not in ${source.where}/${TRUST_INDEX_FILE}` } };
  }
  let firstFailure: TrustedEvidence | undefined;
  for (const key of candidates) {
    const keyFile = /^https?:/.test(source.where) ? `${source.where}/${key.file}` : path.join(source.where, key.file);
    const keyPem = pem ?? (await publishedPem(source, key));
    if (!keyPem) continue;
    const evidence = await collectImageEvidence(store, repository, digest, keyPem);
    if (!signatureCheck('signature', evidence, digest, key.id).ok) continue;
    const signedAt = signingTime(evidence);
    const result = { key, keyFile, pem: keyPem, evidence, signedAt, verdict: judgeSignature(key, signedAt) };
    if (result.verdict.ok) return result;
    firstFailure ??= result;
  }
  return firstFailure ?? { verdict: { ok: false, code: 'KEY_UNKNOWN', message: `no signature over ${digest} by any cosign key in ${source.where}` } };
}

/** A key's public half: a revoked key's from its index entry (its published file is a tombstone), else its published pem, checked against the entry. */
async function publishedPem(source: TrustSource, key: TrustKey): Promise<string | undefined> {
  if (key.revocation?.publicKey) return spkiPem(key.revocation.publicKey);
  const bytes = await source.read(key.file, MAX_PEM_BYTES);
  if (!bytes) return undefined;
  const text = bytes.toString('utf8');
  if (!text.includes('-----BEGIN PUBLIC KEY-----')) return undefined;
  let fingerprint: string;
  try {
    fingerprint = keyFingerprint(text);
  } catch {
    fingerprint = 'unreadable';
  }
  if (fingerprint !== key.fingerprint.toLowerCase()) {
    throw new CountersignError('TRUST_INDEX_SIGNATURE_INVALID', `${source.where}/${key.file} is not key ${key.id} (fingerprint ${fingerprint.slice(0, 16)}, the index says ${key.fingerprint.slice(0, 16)}): the publication was edited`);
  }
  return text;
}

async function localIndex(dir: string): Promise<{ index: TrustIndex; source: TrustSource }> {
  const source = await trustSource(dir);
  return { index: await readIndex(source.where), source };
}

function spkiPem(base64Der: string): string {
  return `-----BEGIN PUBLIC KEY-----\n${base64Der.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PUBLIC KEY-----\n`;
}
