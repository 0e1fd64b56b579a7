/**
 * cosign's keyless `.sig` layers (cosign sign without --key, any version): the simple-signing
 * payload signed by a Fulcio certificate in the `dev.sigstore.cosign/certificate` annotation
 * (intermediates in `.../chain`) and logged in Rekor, whose answer is the `.../bundle` annotation
 * (a signed entry timestamp over the entry). Read as the v0.1 sigstore bundle it amounts to, so
 * one verifier judges both.
 */
import { createHash } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import type { SerializedBundle } from '@sigstore/bundle';
import { BUNDLE_V01_MEDIA_TYPE } from '@sigstore/bundle';
import { parseJsonBounded } from '../bounded-json';
import { EvidenceError } from '../cosign/problems';
import { SIGNATURE_ANNOTATION } from '../cosign/image-signatures';

export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const REKOR_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
/** A Rekor bundle annotation is an entry body (a few KB) and a signature. */
const MAX_REKOR_BUNDLE_BYTES = 64 * 1024;

function pemToDer(pem: string, what: string): string[] {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)].map((m) => m[1].replace(/\s+/g, ''));
  if (blocks.length === 0) throw new EvidenceError('MALFORMED', `${what} annotation holds no PEM certificate`);
  for (const b of blocks) {
    try {
      X509Certificate.parse(Buffer.from(b, 'base64'));
    } catch {
      throw new EvidenceError('MALFORMED', `${what} annotation holds a certificate that does not parse`);
    }
  }
  return blocks;
}

/** True when a `.sig` layer is a keyless one (it carries a certificate). */
export function isKeylessLayer(annotations: Record<string, string> | undefined): boolean {
  return typeof annotations?.[CERTIFICATE_ANNOTATION] === 'string' && annotations[CERTIFICATE_ANNOTATION] !== '';
}

/** The v0.1 bundle a keyless `.sig` layer amounts to: a message signature over the payload. */
export function legacyLayerAsBundle(payload: Buffer, annotations: Record<string, string>): SerializedBundle {
  const signature = annotations[SIGNATURE_ANNOTATION] ?? '';
  if (signature === '') throw new EvidenceError('UNSIGNED', 'no signature annotation');
  const certificates = [...pemToDer(annotations[CERTIFICATE_ANNOTATION], 'certificate'), ...(annotations[CHAIN_ANNOTATION] ? pemToDer(annotations[CHAIN_ANNOTATION], 'chain') : [])];
  const tlogEntries = [];
  const rekor = annotations[REKOR_BUNDLE_ANNOTATION];
  if (rekor) {
    let parsed: { SignedEntryTimestamp?: unknown; Payload?: { body?: unknown; integratedTime?: unknown; logIndex?: unknown; logID?: unknown } };
    try {
      parsed = parseJsonBounded(rekor, { what: 'Rekor bundle annotation', maxBytes: MAX_REKOR_BUNDLE_BYTES, code: 'SIGNATURE_INVALID' }) as typeof parsed;
    } catch {
      throw new EvidenceError('MALFORMED', 'the Rekor bundle annotation is not JSON within limits');
    }
    const p = parsed.Payload;
    if (typeof parsed.SignedEntryTimestamp !== 'string' || typeof p?.body !== 'string' || typeof p.integratedTime !== 'number' || typeof p.logIndex !== 'number' || typeof p.logID !== 'string' || !/^[0-9a-f]{64}$/.test(p.logID)) {
      throw new EvidenceError('MALFORMED', 'the Rekor bundle annotation lacks SignedEntryTimestamp or Payload { body, integratedTime, logIndex, logID }');
    }
    let body: { kind?: unknown; apiVersion?: unknown };
    try {
      body = JSON.parse(Buffer.from(p.body, 'base64').toString('utf8'));
    } catch {
      throw new EvidenceError('MALFORMED', 'the Rekor entry body is not JSON');
    }
    if (typeof body.kind !== 'string' || typeof body.apiVersion !== 'string') throw new EvidenceError('MALFORMED', 'the Rekor entry body names no kind and apiVersion');
    tlogEntries.push({
      logIndex: String(p.logIndex),
      logId: { keyId: Buffer.from(p.logID, 'hex').toString('base64') },
      kindVersion: { kind: body.kind, version: body.apiVersion },
      integratedTime: String(p.integratedTime),
      inclusionPromise: { signedEntryTimestamp: parsed.SignedEntryTimestamp },
      canonicalizedBody: p.body,
    });
  }
  return {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: { x509CertificateChain: { certificates: certificates.map((rawBytes) => ({ rawBytes })) }, tlogEntries, timestampVerificationData: { rfc3161Timestamps: [] } },
    messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(payload).digest('base64') }, signature },
  } as unknown as SerializedBundle;
}
