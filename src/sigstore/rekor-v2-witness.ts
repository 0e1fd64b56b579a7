/**
 * Logs a DSSE signature to Rekor v2 the way Rekor v2 takes it: as a hashedrekord 0.0.2 entry over
 * sha256(PAE(type, payload)) (rekor-v2 spec 6.1.4). Rekor v2 (rekor-tiles >= v2.3) accepts no
 * other entry kind, and sigstore-js 4.1 still proposes a dsse entry for a DSSE bundle, so this
 * witness replaces its RekorWitness for DSSE bundles; sigstore-js's own Rekor v2 client does the
 * HTTP. src/sigstore/keyless.ts verifies such entries (hashedRekordOverDsse).
 */
import { createHash } from 'node:crypto';
import { PublicKeyDetails } from '@sigstore/protobuf-specs';
// The package maps this subpath in its exports, which this project's module resolution does not read.
import type { CreateEntryRequest } from '@sigstore/protobuf-specs/dist/rekor/v2';
import type { SignatureBundle, VerificationMaterial, Witness } from '@sigstore/sign';
// Not re-exported by the package's index; pinned with it (4.1.1).
import { TLogV2Client } from '@sigstore/sign/dist/witness/tlog/client';
import { preAuthEncoding } from '../dsse/envelope';

export interface RekorV2WitnessOptions {
  rekorBaseURL: string;
  timeout?: number;
  retry?: number;
}

export class RekorV2HashedRekordWitness implements Witness {
  private readonly tlog: TLogV2Client;

  constructor(options: RekorV2WitnessOptions) {
    this.tlog = new TLogV2Client({ rekorBaseURL: options.rekorBaseURL, timeout: options.timeout, retry: options.retry });
  }

  async testify(content: SignatureBundle, certificatePem: string): Promise<VerificationMaterial> {
    return { tlogEntries: [await this.tlog.createEntry(hashedRekordRequest(content, certificatePem))] };
  }
}

/** The hashedrekord 0.0.2 request for a bundle's signature: the signed digest, the signature, the signing certificate. */
export function hashedRekordRequest(content: SignatureBundle, certificatePem: string): CreateEntryRequest {
  let digest: Buffer;
  let signature: Buffer;
  if (content.$case === 'dsseEnvelope') {
    const env = content.dsseEnvelope;
    digest = createHash('sha256').update(preAuthEncoding(env.payloadType, env.payload)).digest();
    signature = env.signatures[0]!.sig;
  } else {
    digest = content.messageSignature.messageDigest!.digest;
    signature = content.messageSignature.signature;
  }
  return {
    spec: {
      $case: 'hashedRekordRequestV002',
      hashedRekordRequestV002: {
        digest,
        signature: {
          content: signature,
          verifier: {
            // Fulcio certifies the ephemeral P-256 key sigstore-js signs with.
            keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
            verifier: { $case: 'x509Certificate', x509Certificate: { rawBytes: pemToDer(certificatePem) } },
          },
        },
      },
    },
  };
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}
