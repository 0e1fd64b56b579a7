/** Signing and checking statements outside the workflow sandbox (node:crypto). */
import crypto from 'node:crypto';
import type { Signer } from '../keys/signer';
import { parsePublicKeyPem } from '../keys/public-key';
import { canonicalJson, type SignedStatement } from './statement';

/** Serialises `statement` canonically and signs those exact bytes. */
export async function signStatement(statement: object, signer: Signer): Promise<SignedStatement> {
  const text = canonicalJson(statement);
  const signature = await signer.sign(Buffer.from(text, 'utf8'));
  return { statement: text, signature: signature.toString('base64') };
}

/** True when `signed.signature` is an ECDSA signature by the key in `publicKeyPem` over the statement bytes. */
export function statementSignedBy(signed: SignedStatement, publicKeyPem: string): boolean {
  try {
    return crypto.verify('sha256', Buffer.from(signed.statement, 'utf8'), parsePublicKeyPem(publicKeyPem), Buffer.from(signed.signature, 'base64'));
  } catch {
    return false;
  }
}

export function newNonce(): string {
  return crypto.randomBytes(16).toString('hex');
}
