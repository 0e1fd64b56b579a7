/**
 * The console's WebAuthn ceremonies, verified with @simplewebauthn/server: enrolment (a
 * registration, whose result is a roster snippet for the operator, never a roster change) and
 * login (an assertion by a credential in the worker's roster). Keys are stored in the roster as
 * SPKI PEM (what the rest of countersign reads); the library works in COSE keys, so this module
 * converts between the two.
 */
import { createPublicKey } from 'node:crypto';
import { generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { convertCOSEtoPKCS, isoCBOR } from '@simplewebauthn/server/helpers';
import YAML from 'yaml';
import type { PasskeyConfig } from '../approval/passkey-config';
import { CountersignError } from '../errors';
import type { ConsoleSection } from './config';

/** COSE algorithm ES256: the only one offered at enrolment (docs/approvals.md, Passkeys). */
export const ES256 = -7;

/** A P-256 SPKI PEM as the COSE_Key (EC2, ES256) the library verifies with. */
export function pemToCose(pem: string): Uint8Array {
  const jwk = createPublicKey(pem).export({ format: 'jwk' }) as { crv?: string; x: string; y: string };
  if (jwk.crv !== 'P-256') throw new CountersignError('KEY_INVALID', 'a passkey key must be P-256 (ES256)');
  return isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2],
      [3, ES256],
      [-1, 1],
      [-2, Buffer.from(jwk.x, 'base64url')],
      [-3, Buffer.from(jwk.y, 'base64url')],
    ]),
  );
}

/** A COSE EC2 P-256 key as SPKI PEM (refusing any other kind of key). */
export function coseToPem(cose: Uint8Array): string {
  const point = Buffer.from(convertCOSEtoPKCS(cose as Uint8Array<ArrayBuffer>));
  if (point.length !== 65 || point[0] !== 4) throw new CountersignError('PASSKEY_REFUSED', 'the credential key is not an uncompressed P-256 point: only ES256 passkeys are accepted');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
  return key.export({ format: 'pem', type: 'spki' }) as string;
}

export async function enrolmentOptions(rp: ConsoleSection, approver: string) {
  return generateRegistrationOptions({
    rpName: 'countersign approvals',
    rpID: rp.rpId,
    userName: approver,
    // ES256 only: the workflow's sandboxed verifier checks P-256 signatures and nothing else.
    supportedAlgorithmIDs: [ES256],
    attestationType: 'none',
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
  });
}

/** Verifies a registration against the challenge the console issued; returns the roster snippet. */
export async function verifyEnrolment(rp: ConsoleSection, challenge: string, approver: string, name: string | undefined, response: RegistrationResponseJSON): Promise<{ id: string; publicKeyPem: string; snippet: string }> {
  let verified;
  try {
    verified = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: rp.origin, expectedRPID: rp.rpId, requireUserVerification: true, supportedAlgorithmIDs: [ES256] });
  } catch (err) {
    throw new CountersignError('PASSKEY_REFUSED', `the enrolment does not verify: ${(err as Error).message}`);
  }
  if (!verified.verified || !verified.registrationInfo) throw new CountersignError('PASSKEY_REFUSED', 'the enrolment does not verify');
  const { credential } = verified.registrationInfo;
  const publicKeyPem = coseToPem(credential.publicKey);
  const entry = { id: credential.id, publicKey: publicKeyPem, ...(name ? { name } : {}) };
  const snippet = YAML.stringify({ approvers: { [approver]: { passkeys: [entry] } } }, { lineWidth: 0 });
  return { id: credential.id, publicKeyPem, snippet };
}

export async function loginOptions(rp: ConsoleSection) {
  // No allowCredentials: the browser offers whichever of the user's passkeys fits this origin,
  // and the page learns nothing about who is in the roster.
  return generateAuthenticationOptions({ rpID: rp.rpId, userVerification: 'required' });
}

export interface RosterPasskey {
  approver: string;
  passkey: PasskeyConfig;
}

/** Verifies a login assertion; returns whose passkey signed it. PASSKEY_REFUSED otherwise. */
export async function verifyLogin(rp: ConsoleSection, challenge: string, find: (credentialId: string) => RosterPasskey | undefined, response: AuthenticationResponseJSON): Promise<string> {
  const found = typeof response?.id === 'string' ? find(response.id) : undefined;
  if (!found) throw new CountersignError('PASSKEY_REFUSED', 'this passkey is not in the roster of the worker\'s configuration (enrol, then ask the operator to add the snippet)');
  let verified;
  try {
    verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpId,
      requireUserVerification: true,
      // The roster keeps no signature counter (it is the operator's file, not the console's state).
      credential: { id: found.passkey.id, publicKey: pemToCose(found.passkey.publicKeyPem) as Uint8Array<ArrayBuffer>, counter: 0 },
    });
  } catch (err) {
    throw new CountersignError('PASSKEY_REFUSED', `the login does not verify: ${(err as Error).message}`);
  }
  if (!verified.verified) throw new CountersignError('PASSKEY_REFUSED', 'the login does not verify');
  return found.approver;
}
