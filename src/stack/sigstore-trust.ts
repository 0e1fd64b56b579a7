/**
 * The two files a client of the self-hosted Sigstore needs: the `trusted_root.json` verifiers pin
 * (Fulcio's CA, Rekor's log key, the timestamp authority's chain, each valid from when it
 * began) and the `signing_config.json` signers read (where Fulcio, Rekor v2, the timestamp
 * authority and the OIDC issuer are). Both in sigstore's protobuf-specs JSON, as cosign reads them.
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';
export const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';

export interface LocalSigstoreMaterial {
  fulcioUrl: string;
  /** Fulcio's chain, leaf CA first, as PEM. */
  fulcioChain: string[];
  rekorUrl: string;
  /** Rekor's checkpoint key (SPKI PEM, ECDSA P-256). */
  rekorPublicKeyPem: string;
  /** When Rekor's key began signing (entries logged before do not count). */
  rekorStart: Date;
  /** The timestamp authority's base URL and its chain, signing certificate first, as PEM. */
  tsaUrl: string;
  tsaChain: string[];
  oidcIssuerUrl: string;
}

const der = (pem: string) => new X509Certificate(pem).raw;
const base64 = (b: Buffer) => b.toString('base64');
/** The earliest time a chain is valid from, so a root never trusts an authority before it existed. */
const chainStart = (chain: string[]) => new Date(Math.max(...chain.map((pem) => new Date(new X509Certificate(pem).validFrom).getTime()))).toISOString();

/** Splits a PEM bundle into its certificates. */
export function splitPemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export function localTrustedRoot(m: LocalSigstoreMaterial): Record<string, unknown> {
  const rekorKey = createPublicKey(m.rekorPublicKeyPem).export({ type: 'spki', format: 'der' });
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [
      {
        baseUrl: m.rekorUrl,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: base64(rekorKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: m.rekorStart.toISOString() } },
        // Rekor v2 names an ECDSA log by sha256 of its SPKI, as Rekor v1 did.
        logId: { keyId: base64(createHash('sha256').update(rekorKey).digest()) },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore', commonName: 'countersign local fulcio' },
        uri: m.fulcioUrl,
        certChain: { certificates: m.fulcioChain.map((pem) => ({ rawBytes: base64(der(pem)) })) },
        validFor: { start: chainStart(m.fulcioChain) },
      },
    ],
    // No CT log runs here: certificates carry no SCT (require.sct: 0, cosign --insecure-ignore-sct).
    ctlogs: [],
    timestampAuthorities: [
      {
        subject: { organization: 'local', commonName: 'countersign local timestamp authority' },
        uri: m.tsaUrl,
        certChain: { certificates: m.tsaChain.map((pem) => ({ rawBytes: base64(der(pem)) })) },
        validFor: { start: chainStart(m.tsaChain) },
      },
    ],
  };
}

export function localSigningConfig(m: LocalSigstoreMaterial, start: Date): Record<string, unknown> {
  const service = (url: string, majorApiVersion: number) => ({ url, majorApiVersion, validFor: { start: start.toISOString() }, operator: 'countersign-local' });
  return {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [service(m.fulcioUrl, 1)],
    oidcUrls: [service(m.oidcIssuerUrl, 1)],
    rekorTlogUrls: [service(m.rekorUrl, 2)],
    tsaUrls: [service(`${m.tsaUrl}/api/v1/timestamp`, 1)],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  };
}
