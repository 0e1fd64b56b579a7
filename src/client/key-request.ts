/**
 * Signing a key request (a revocation, a campaign) on the requester's side: the key found (by id,
 * fingerprint or a unique fingerprint prefix) among the store's keys in the caller's copy of its
 * index; the requester a governance member signing with their own roster key; the shape checked
 * here as the worker will check it, so a typo fails before anything starts.
 */
import type { Config } from '../config';
import { CountersignError } from '../errors';
import { keyFingerprint } from '../keys/public-key';
import type { Signer } from '../keys/signer';
import type { KeyRequest } from '../requests/key-request';
import { newNonce, signStatement } from '../requests/sign';
import { canonicalJson, type SignedStatement } from '../requests/statement';
import type { TrustConfig } from '../trust/config';
import { findKey, type TrustKey } from '../trust/index-file';
import { pinPeople } from '../trust/resolve';
import { TrustStore } from '../trust/store';

export interface KeyRequestKind<T extends string> {
  type: T;
  /** "revocation request", "campaign request". */
  noun: string;
  /** What the reason says: "why the key is revoked". */
  why: string;
  /** What governance members do with it: "revoke its keys". */
  act: string;
  parse: (signed: SignedStatement | undefined) => KeyRequest<T>;
}

export async function signKeyRequest<T extends string>(
  kind: KeyRequestKind<T>,
  config: Config,
  trust: TrustConfig,
  requester: string,
  which: string,
  reason: string,
  options: { signer: Signer; time?: Date },
): Promise<{ request: SignedStatement; key: TrustKey }> {
  if (!reason.trim()) throw new CountersignError('BAD_INPUT', `--reason is required: say ${kind.why}`);
  if (!trust.governance.includes(requester)) {
    throw new CountersignError('BAD_INPUT', `${requester} is not in trust.${trust.name}.governance (${trust.governance.join(', ')}); only governance members ${kind.act}`);
  }
  const own = (await pinPeople(config, [requester], 'governance member'))[requester];
  const signerFingerprint = keyFingerprint(await options.signer.publicKeyPem());
  if (signerFingerprint !== own.fingerprint) {
    throw new CountersignError('KEY_INVALID', `the key given to sign the ${kind.noun} (${signerFingerprint.slice(0, 16)}) is not ${requester}'s roster key (${own.fingerprint.slice(0, 16)})`);
  }
  const store = new TrustStore(trust);
  const index = await store.index();
  const key = findKey({ ...index, keys: store.ownKeys(index).filter((k) => k.kind === trust.kind) }, which);
  if (!key) throw new CountersignError('KEY_UNKNOWN', `key ${which} is not in trust store ${trust.name} (see countersign keys list --trust ${trust.name})`);
  const request: KeyRequest<T> = {
    _type: kind.type,
    trust: trust.name,
    keyId: key.id,
    fingerprint: key.fingerprint,
    reason: reason.trim(),
    requester,
    time: (options.time ?? new Date()).toISOString(),
    nonce: newNonce(),
  };
  try {
    kind.parse({ statement: canonicalJson(request), signature: '' });
  } catch (err) {
    throw new CountersignError('BAD_INPUT', (err as Error).message);
  }
  return { request: await signStatement(request, options.signer), key };
}
