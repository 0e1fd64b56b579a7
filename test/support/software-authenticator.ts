/**
 * A WebAuthn authenticator in software, for tests that must hold an assertion in hand (to replay
 * it, move it to another run, or send it from another origin): it makes real ES256 credentials and
 * real signatures, as a security key does, with attestation "none". The browser tests use
 * chromium's own virtual authenticator instead.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();

export interface SoftwareCredential {
  id: string;
  privateKey: KeyObject;
  publicKeyPem: string;
  counter: number;
}

export interface AssertionJSON {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string };
  clientExtensionResults: Record<string, never>;
}

/** Flags: UP (0x01), UV (0x04), AT (0x40, attested credential data follows). */
export const FLAG_UP = 0x01;
export const FLAG_UV = 0x04;

export function newCredential(): SoftwareCredential {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { id: randomBytes(16).toString('base64url'), privateKey, publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }) as string, counter: 0 };
}

function coseKey(credential: SoftwareCredential): Uint8Array {
  const jwk = credential.privateKey.export({ format: 'jwk' }) as { x: string; y: string };
  return isoCBOR.encode(new Map<number, number | Uint8Array>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x, 'base64url')], [-3, Buffer.from(jwk.y, 'base64url')]]));
}

/** A registration response (navigator.credentials.create's toJSON()) for `challenge` at `origin`. */
export function register(credential: SoftwareCredential, opts: { challenge: string; origin: string; rpId: string }) {
  const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.create', challenge: opts.challenge, origin: opts.origin, crossOrigin: false }));
  const idBytes = Buffer.from(credential.id, 'base64url');
  const authData = Buffer.concat([sha256(opts.rpId), Buffer.from([FLAG_UP | FLAG_UV | 0x40]), Buffer.alloc(4), Buffer.alloc(16), Buffer.from([idBytes.length >> 8, idBytes.length & 0xff]), idBytes, Buffer.from(coseKey(credential))]);
  const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', new Uint8Array(authData)]]) as never);
  return {
    id: credential.id,
    rawId: credential.id,
    type: 'public-key' as const,
    response: { clientDataJSON: clientDataJSON.toString('base64url'), attestationObject: Buffer.from(attestationObject).toString('base64url'), transports: ['usb'] },
    clientExtensionResults: {},
  };
}

/** An assertion (navigator.credentials.get's toJSON()) over `challenge` (base64url) at `origin`. */
export function assert(credential: SoftwareCredential, opts: { challenge: string; origin: string; rpId: string; flags?: number; type?: string }): AssertionJSON {
  credential.counter += 1;
  const clientDataJSON = Buffer.from(JSON.stringify({ type: opts.type ?? 'webauthn.get', challenge: opts.challenge, origin: opts.origin, crossOrigin: false }));
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(credential.counter);
  const authenticatorData = Buffer.concat([sha256(opts.rpId), Buffer.from([opts.flags ?? FLAG_UP | FLAG_UV]), counter]);
  const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), { key: credential.privateKey, dsaEncoding: 'der' });
  return {
    id: credential.id,
    rawId: credential.id,
    type: 'public-key',
    response: { clientDataJSON: clientDataJSON.toString('base64url'), authenticatorData: authenticatorData.toString('base64url'), signature: signature.toString('base64url') },
    clientExtensionResults: {},
  };
}
