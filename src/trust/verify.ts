/**
 * Verification that honours the trust index: find the published key that signed the image, then
 * ask the index whether that key was valid when it signed. The signing time is the `signedAt` of
 * the approval record attestation signed by the same key (docs/trust.md).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { APPROVAL_PREDICATE_TYPE } from '../approval/constants';
import { collectImageEvidence, signatureCheck, type ImageEvidence } from '../cosign/verify-image';
import { keyFingerprint } from '../keys/public-key';
import type { Store } from '../oci/store';
import { readIndex, type TrustKey } from './index-file';
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

/**
 * Checks the image against the index's cosign keys (or only `pem` when given). Keys that signed
 * validly are judged in index order, a key that passes wins; else the first failure is returned.
 */
export async function verifyAgainstTrust(store: Store, repository: string, digest: string, trustDir: string, pem?: string): Promise<TrustedEvidence> {
  const index = await readIndex(trustDir);
  const wanted = pem ? keyFingerprint(pem) : undefined;
  const candidates = index.keys.filter((k) => k.kind === 'cosign' && (!wanted || k.fingerprint === wanted));
  if (wanted && candidates.length === 0) {
    return { pem, verdict: { ok: false, code: 'KEY_UNKNOWN', message: `key ${wanted.slice(0, 16)} is not in ${path.join(trustDir, 'index.json')}` } };
  }
  let firstFailure: TrustedEvidence | undefined;
  for (const key of candidates) {
    const keyFile = path.join(trustDir, key.file);
    const keyPem = pem ?? (await fs.readFile(keyFile, 'utf8'));
    const evidence = await collectImageEvidence(store, repository, digest, keyPem);
    if (!signatureCheck('signature', evidence, digest, key.id).ok) continue;
    const signedAt = signingTime(evidence);
    const result = { key, keyFile, pem: keyPem, evidence, signedAt, verdict: judgeSignature(key, signedAt) };
    if (result.verdict.ok) return result;
    firstFailure ??= result;
  }
  return firstFailure ?? { verdict: { ok: false, code: 'KEY_UNKNOWN', message: `no signature over ${digest} by any cosign key in ${trustDir}` } };
}
