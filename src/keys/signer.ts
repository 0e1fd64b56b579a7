/**
 * The signing role. Everything that produces cosign-compatible signatures (a key file, a KMS key)
 * implements this one interface, so callers never learn where the private key lives.
 */
export interface Signer {
  /** A stable reference for logs and records (a file path or awskms:// URI), never secret. */
  readonly keyRef: string;
  /** ECDSA P-256 over sha256(data); returns the ASN.1 DER signature. */
  sign(data: Buffer): Promise<Buffer>;
  /** The public key as SPKI PEM ("-----BEGIN PUBLIC KEY-----"). */
  publicKeyPem(): Promise<string>;
}
