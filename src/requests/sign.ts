/** Signing and checking statements outside the workflow sandbox (node:crypto). */
import crypto from 'node:crypto';
import type { Signer } from '../keys/signer';
import { verifySignature } from '../keys/public-key';
import { canonicalJson, type SignedStatement } from './statement';
import { CountersignError } from '../errors';
import { DEFAULT_REQUEST_VALIDITY_MS } from './start-request';

/** Serialises `statement` canonically and signs those exact bytes. */
export async function signStatement(statement: object, signer: Signer): Promise<SignedStatement> {
  const text = canonicalJson(statement);
  const signature = await signer.sign(Buffer.from(text, 'utf8'));
  return { statement: text, signature: signature.toString('base64') };
}

/**
 * True when `signed.signature` is an ECDSA signature by the key in `publicKeyPem` over the
 * statement bytes; false otherwise, also when the PEM is not a P-256 public key. Each PEM is
 * parsed once (verifySignature's cache): the same few roster keys are checked for every run.
 */
export function statementSignedBy(signed: SignedStatement, publicKeyPem: string): boolean {
  try {
    return verifySignature(publicKeyPem, Buffer.from(signed.statement, 'utf8'), Buffer.from(signed.signature, 'base64'));
  } catch {
    return false;
  }
}

export function newNonce(): string {
  return crypto.randomBytes(16).toString('hex');
}

/**
 * Completes a start request with its validity window and nonce, refuses here what the worker
 * would refuse for its shape (so a typo fails before anything starts), and signs it. The nonce
 * comes back too: it tells whether a run was started by this request.
 */
export async function signStartRequest<T extends object>(
  fields: T,
  parse: (signed: SignedStatement) => unknown,
  signer: Signer,
  validityMs = DEFAULT_REQUEST_VALIDITY_MS,
): Promise<{ signed: SignedStatement; nonce: string }> {
  const issuedAt = new Date();
  const statement = { ...fields, issuedAt: issuedAt.toISOString(), expiresAt: new Date(issuedAt.getTime() + validityMs).toISOString(), nonce: newNonce() };
  try {
    parse({ statement: canonicalJson(statement), signature: '' });
  } catch (err) {
    throw new CountersignError('BAD_INPUT', (err as Error).message);
  }
  return { signed: await signStatement(statement, signer), nonce: statement.nonce };
}
