/**
 * What the index says about a key at a moment: may it sign now, and was a signature made at a
 * given time by a key valid then. Pure functions over an index entry.
 */
import { CountersignError } from '../errors';
import type { TrustKey } from './index-file';

export interface TrustVerdict {
  ok: boolean;
  code: 'OK' | 'KEY_REVOKED' | 'KEY_NOT_VALID_AT_SIGNING_TIME' | 'KEY_UNKNOWN';
  message: string;
}

/** Refuses signing with a key that is revoked or retired (called right before each production signature). */
export function assertMaySign(key: TrustKey | undefined, which: string): void {
  if (!key) throw new CountersignError('KEY_MISSING', `key ${which} is not in the trust index any more; refusing to sign`);
  if (key.status === 'revoked') throw new CountersignError('KEY_REVOKED', `key ${key.id} was revoked at ${key.statusChangedAt} (${key.reason}); refusing to sign`);
  if (key.status === 'retired') throw new CountersignError('KEY_RETIRED', `key ${key.id} was retired at ${key.statusChangedAt}; refusing to sign`);
}

/**
 * A signature by `key` made at `signedAt` (when known) is accepted when the key is not revoked and
 * validFrom <= signedAt <= validUntil. Without a signing time, a retired key is not accepted.
 */
export function judgeSignature(key: TrustKey | undefined, signedAt: string | undefined): TrustVerdict {
  if (!key) return { ok: false, code: 'KEY_UNKNOWN', message: 'the key is not in the trust index' };
  if (key.status === 'revoked') return { ok: false, code: 'KEY_REVOKED', message: `key ${key.id} was revoked at ${key.statusChangedAt}: ${key.reason}` };
  const window = `${key.validFrom} .. ${key.validUntil ?? 'now'}`;
  if (!signedAt) {
    if (key.status === 'retired') return { ok: false, code: 'KEY_NOT_VALID_AT_SIGNING_TIME', message: `key ${key.id} is retired and the signing time is not recorded` };
    return { ok: true, code: 'OK', message: `key ${key.id} is ${key.status} (signing time not recorded)` };
  }
  const t = Date.parse(signedAt);
  if (Number.isNaN(t) || t < Date.parse(key.validFrom) || (key.validUntil !== null && t > Date.parse(key.validUntil))) {
    return { ok: false, code: 'KEY_NOT_VALID_AT_SIGNING_TIME', message: `signed at ${signedAt}, outside key ${key.id}'s validity ${window}` };
  }
  return { ok: true, code: 'OK', message: `key ${key.id} (${key.status}) was valid at ${signedAt} (${window})` };
}
