import fs from 'node:fs/promises';
import { CountersignError } from '../errors';
import { keyFingerprint, parsedPublicKey } from '../keys/public-key';
import type { PinnedPasskey, PinnedRosterEntry as RosterEntry } from '../promotion/plan';
import type { ApprovalConfig, RosterConfig } from './config';

/** Per parsed key (the parser remembers each PEM's): every promotion pins the same approvers' keys. */
const pointHexOf = new WeakMap<object, string>();

/** Uncompressed P-256 point (04||x||y) as hex: what the workflow's verifier takes. */
export function publicKeyPointHex(pem: string): string {
  const key = parsedPublicKey(pem);
  let hex = pointHexOf.get(key);
  if (hex === undefined) {
    const jwk = key.export({ format: 'jwk' }) as { x: string; y: string };
    hex = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]).toString('hex');
    pointHexOf.set(key, hex);
  }
  return hex;
}

async function readPem(file: string, who: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    throw new CountersignError('KEY_MISSING', `${who}: public key ${file} not found`);
  }
}

/** Reads the roster's public keys so the workflow input carries them (pinned for the whole run). */
export async function pinRoster(roster: Record<string, RosterConfig>): Promise<Record<string, RosterEntry>> {
  const pinned: Record<string, RosterEntry> = {};
  for (const [name, entry] of Object.entries(roster)) {
    const pem = entry.publicKey ? await readPem(entry.publicKey, `approver ${name}`) : undefined;
    const signingKeyFingerprints: string[] = [];
    for (const key of entry.signingKeys) signingKeyFingerprints.push(keyFingerprint(await readPem(key, `approver ${name} signing key`)));
    const passkeys = (entry.passkeys ?? []).map(
      (p): PinnedPasskey => ({
        id: p.id,
        publicKeyPem: p.publicKeyPem,
        publicKeyHex: publicKeyPointHex(p.publicKeyPem),
        fingerprint: keyFingerprint(p.publicKeyPem),
        ...(p.name !== undefined ? { name: p.name } : {}),
        rpId: p.rpId,
        origin: p.origin,
      }),
    );
    pinned[name] = {
      ...(pem ? { publicKeyPem: pem, publicKeyHex: publicKeyPointHex(pem), fingerprint: keyFingerprint(pem) } : {}),
      ...(passkeys.length > 0 ? { passkeys } : {}),
      identities: entry.identities,
      signingKeyFingerprints,
    };
  }
  return pinned;
}

/**
 * The approval policy a run pins: as configured, the roster's keys read now, and the deadline a
 * signed request may shorten but never lengthen.
 */
export async function pinApprovalPolicy(approval: ApprovalConfig, approvers: Record<string, RosterConfig>, requestedDeadlineMs?: number) {
  return {
    ...approval,
    deadlineMs: Math.min(requestedDeadlineMs ?? approval.deadlineMs, approval.deadlineMs),
    roster: await pinRoster(approvers),
  };
}
