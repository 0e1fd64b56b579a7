/**
 * Checks a decision signed with a passkey: a WebAuthn assertion whose challenge is the sha256 of
 * the approval statement's bytes. Runs in the workflow's update validator (the sandbox: no
 * node:crypto, deterministic, synchronous) and again at production signing, so it is pure JS over
 * @noble/curves and parses authenticatorData and clientDataJSON itself. A WebAuthn library cannot
 * run in the sandbox (they verify asynchronously through WebCrypto or node:crypto, and bring
 * attestation and certificate code the validator has no use for); see docs/architecture.md.
 */
import { p256 } from '@noble/curves/p256';
import { sha256 } from '@noble/hashes/sha256';
import type { PinnedPasskey } from '../promotion/plan';

/** What the browser's navigator.credentials.get() returned, as the console relays it (base64url). */
export interface PasskeyAssertion {
  credentialId: string;
  authenticatorData: string;
  clientDataJSON: string;
  /** ASN.1 DER ECDSA signature over authenticatorData || sha256(clientDataJSON). */
  signature: string;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
/** Bounds on what a caller may make the validator decode. */
const MAX_FIELD_CHARS = 8192;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function fromBase64url(text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length > MAX_FIELD_CHARS || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of text) {
    buffer = ((buffer << 6) | ALPHABET.indexOf(ch)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

export function toBase64url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = [18, 12, 6, 0].map((s) => ALPHABET[(n >> s) & 63]);
    out += chars.slice(0, i + 2 < bytes.length ? 4 : i + 1 < bytes.length ? 3 : 2).join('');
  }
  return out;
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The WebAuthn challenge for a statement: sha256 of its exact bytes, base64url. */
export function statementChallenge(statement: string): string {
  return toBase64url(sha256(new TextEncoder().encode(statement)));
}

/**
 * Why the assertion does not sign `statement` with one of `passkeys` (undefined when it does):
 * the credential is in the pinned roster, clientData is a webauthn.get at the passkey's origin
 * over sha256(statement), authenticatorData names the passkey's relying party with user presence
 * and verification, and the ES256 signature verifies.
 */
export function passkeyAssertionProblem(statement: string, assertion: PasskeyAssertion | undefined, passkeys: PinnedPasskey[] | undefined): { problem: string } | { passkey: PinnedPasskey } {
  if (!assertion || typeof assertion !== 'object') return { problem: 'a passkey decision carries { credentialId, authenticatorData, clientDataJSON, signature }' };
  const passkey = (passkeys ?? []).find((p) => p.id === assertion.credentialId);
  if (!passkey) return { problem: `credential ${String(assertion.credentialId).slice(0, 24)} is not one of the approver's roster passkeys` };
  const clientBytes = fromBase64url(assertion.clientDataJSON);
  const authData = fromBase64url(assertion.authenticatorData);
  const signature = fromBase64url(assertion.signature);
  if (!clientBytes || !authData || !signature) return { problem: 'the assertion fields are not base64url (or are too long)' };
  let client: { type?: unknown; challenge?: unknown; origin?: unknown; crossOrigin?: unknown };
  try {
    client = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(clientBytes)) as typeof client;
  } catch {
    return { problem: 'clientDataJSON is not UTF-8 JSON' };
  }
  if (client?.type !== 'webauthn.get') return { problem: `clientDataJSON.type is ${JSON.stringify(client?.type)}, not "webauthn.get"` };
  if (client.challenge !== statementChallenge(statement)) return { problem: 'the assertion was not made over this statement (its challenge is not sha256 of the statement)' };
  if (client.origin !== passkey.origin) return { problem: `the assertion was made at ${JSON.stringify(String(client.origin).slice(0, 100))}, not the console origin ${passkey.origin}` };
  if (client.crossOrigin === true) return { problem: 'the assertion was made in a cross-origin frame' };
  if (authData.length < 37) return { problem: 'authenticatorData is shorter than 37 bytes' };
  if (!equalBytes(authData.subarray(0, 32), sha256(new TextEncoder().encode(passkey.rpId)))) return { problem: `authenticatorData is for another relying party than ${passkey.rpId}` };
  const flags = authData[32];
  if (!(flags & FLAG_UP)) return { problem: 'the authenticator did not assert user presence' };
  if (!(flags & FLAG_UV)) return { problem: 'the authenticator did not verify the user (PIN or biometric)' };
  const signed = new Uint8Array(authData.length + 32);
  signed.set(authData);
  signed.set(sha256(clientBytes), authData.length);
  let valid = false;
  try {
    valid = p256.verify(signature, sha256(signed), hexToBytes(passkey.publicKeyHex), { lowS: false, format: 'der', prehash: false });
  } catch {
    valid = false;
  }
  if (!valid) return { problem: `the signature does not verify with passkey ${passkey.fingerprint.slice(0, 16)}${passkey.name ? ` (${passkey.name})` : ''}` };
  return { passkey };
}
