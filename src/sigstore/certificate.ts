/**
 * What a Fulcio certificate says about who signed: the subject (SAN), the OIDC issuer, and the
 * CI facts Fulcio copies from the token into extensions under 1.3.6.1.4.1.57264.1
 * (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md).
 */
import { X509Certificate } from '@sigstore/core';

/** The facts platform verify compares with the target's policy; absent when the certificate has none. */
export interface CertificateFacts {
  /** Subject alternative name: an email, a URI (a CI workflow), ... */
  subject?: string;
  issuer?: string;
  /** e.g. https://github.com/acme/hello */
  sourceRepository?: string;
  /** Commit the workflow ran on. */
  sourceRepositoryDigest?: string;
  /** e.g. refs/heads/main */
  sourceRepositoryRef?: string;
  /** The workflow file at a ref that made the signature, e.g. https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main */
  buildSignerUri?: string;
  /** The top-level workflow the run started from (differs from the signer for reusable workflows). */
  buildConfigUri?: string;
  /** github-hosted, self-hosted, ... */
  runnerEnvironment?: string;
  buildTrigger?: string;
  notBefore: Date;
  notAfter: Date;
}

const FULCIO = '1.3.6.1.4.1.57264.1';
/** Extensions since Fulcio 1.8 hold a DER UTF8String; the first ones hold the raw bytes. */
const V2 = { issuer: 8, buildSignerUri: 9, runnerEnvironment: 11, sourceRepository: 12, sourceRepositoryDigest: 13, sourceRepositoryRef: 14, buildConfigUri: 18, buildTrigger: 20 } as const;
const V1 = { issuer: 1, sourceRepositoryDigest: 3, buildTrigger: 2, sourceRepositoryRef: 6 } as const;

/** Longest extension value read; Fulcio's are URLs and hashes. */
const MAX_VALUE = 4096;

function v2Value(cert: X509Certificate, n: number): string | undefined {
  const ext = cert.extension(`${FULCIO}.${n}`);
  const inner = ext?.valueObj.subs?.[0]?.value ?? ext?.valueObj.value;
  return inner === undefined || inner.length > MAX_VALUE ? undefined : inner.toString('utf8');
}

function v1Value(cert: X509Certificate, n: number): string | undefined {
  const value = cert.extension(`${FULCIO}.${n}`)?.value;
  return value === undefined || value.length > MAX_VALUE ? undefined : value.toString('utf8');
}

export function certificateFacts(cert: X509Certificate): CertificateFacts {
  const facts: CertificateFacts = { notBefore: cert.notBefore, notAfter: cert.notAfter };
  const subject = cert.subjectAltName;
  if (subject !== undefined) facts.subject = subject;
  for (const [field, n] of Object.entries(V2) as Array<[keyof typeof V2, number]>) {
    const value = v2Value(cert, n);
    if (value !== undefined) facts[field] = value;
  }
  // Older certificates (and the v1 issuer, which every Fulcio certificate still carries).
  for (const [field, n] of Object.entries(V1) as Array<[keyof typeof V1, number]>) {
    if (facts[field] === undefined) {
      const value = v1Value(cert, n);
      if (value !== undefined) facts[field] = value;
    }
  }
  return facts;
}

export function parseCertificate(der: Buffer): X509Certificate {
  return X509Certificate.parse(Buffer.from(der));
}
