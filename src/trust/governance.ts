/**
 * What every governance request (a ceremony, a revocation, a campaign) needs from the worker: its own
 * configuration, the signer's key from that configuration's roster, membership of the store's
 * governance, and earlier runs to refuse a request used twice. Temporal-free.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Config } from '../config';
import { CountersignError } from '../errors';
import { statementSignedBy } from '../requests/sign';
import type { SignedStatement } from '../requests/statement';
import type { TrustConfig } from './config';
import { runStartedWith, workerConfig, type AuthorizeDeps, type PriorRun } from '../requests/authorize';
import type { KeyRequest } from '../requests/key-request';
import { REQUEST_CLOCK_SKEW_MS } from '../requests/start-request';
import type { TrustKey } from './index-file';
import type { StoreLocation } from './plan';
import { trustStoreOf } from './resolve';
import { TrustStore } from './store';

/** The same worker dependencies as start requests: its configuration and earlier runs of an id. */
export type GovernanceDeps = AuthorizeDeps;
export type EarlierRun = PriorRun;
export { workerConfig };

/** The request's shape, or REQUEST_UNSIGNED / REQUEST_INVALID. */
export function parsed<T>(signed: SignedStatement | undefined, parse: (s: SignedStatement | undefined) => T, what: string): T {
  if (!signed || typeof signed !== 'object') throw new CountersignError('REQUEST_UNSIGNED', `the ${what} carries no signed request`);
  try {
    return parse(signed);
  } catch (err) {
    throw new CountersignError('REQUEST_INVALID', (err as Error).message);
  }
}

/**
 * Signed by `who`'s key in the worker's roster, and `who` is a governance member of `store`:
 * REQUEST_UNKNOWN_SIGNER, REQUEST_BAD_SIGNATURE or REQUEST_OUT_OF_SCOPE otherwise.
 */
export function checkGovernanceSignature(config: Config, store: TrustConfig, signed: SignedStatement, who: string, what: string): void {
  const person = Object.hasOwn(config.roster, who) ? config.roster[who] : undefined;
  if (!person) throw new CountersignError('REQUEST_UNKNOWN_SIGNER', `${who} is not in the roster of the worker's configuration (approvers: in ${config.file})`);
  // A passkey-only approver has no file key: governance statements are signed with the CLI.
  if (!person.publicKey || !statementSignedBy(signed, fs.readFileSync(person.publicKey, 'utf8'))) {
    throw new CountersignError('REQUEST_BAD_SIGNATURE', `the ${what} does not verify with ${who}'s roster key in the worker's configuration${person.publicKey ? '' : ' (they have passkeys only, no publicKey)'}`);
  }
  if (!store.governance.includes(who)) {
    throw new CountersignError('REQUEST_OUT_OF_SCOPE', `${who} is not a governance member of trust store ${store.name} (${store.governance.join(', ')})`);
  }
}

/** REQUEST_REPLAYED when an earlier run of any of `workflows` got past authorize with this nonce (runStartedWith). */
export async function checkNotReplayed(deps: GovernanceDeps, workflows: Array<{ workflowId: string; runId: string }>, nonce: string, what: string): Promise<void> {
  for (const { workflowId, runId } of workflows) {
    const reused = runStartedWith(await deps.priorRuns(workflowId, runId), nonce);
    if (reused) throw new CountersignError('REQUEST_REPLAYED', `this ${what} already started run ${reused.runId} of ${workflowId}: sign a new one`);
  }
}

/** What a key request (a revocation, a campaign) names, once the worker has checked it: its store, the key as the index holds it, and the request's digest. */
export interface CheckedKeyRequest<R> {
  config: Config;
  request: R;
  store: TrustConfig;
  location: StoreLocation;
  key: TrustKey;
  /** sha256 of the signed statement's bytes: what co-signers' and approvers' statements name. */
  requestDigest: string;
}

/**
 * The checks every key request shares: shape, a governance member's signature, fresh (within
 * `validityMs`, not dated ahead), for this run's workflow id, used once, and naming a key of the
 * store by its id and fingerprint (another store's key is refused, even in a shared directory).
 */
export async function checkKeyRequest<R extends KeyRequest<string>>(
  deps: GovernanceDeps,
  input: { request: SignedStatement; workflowId: string; runId: string },
  kind: { noun: string; parse: (s: SignedStatement | undefined) => R; validityMs: number; workflowId: (trust: string, keyId: string) => string },
): Promise<CheckedKeyRequest<R>> {
  const what = `${kind.noun} request`;
  const config = workerConfig(deps);
  const request = parsed(input.request, kind.parse, kind.noun);
  const store = trustStoreOf(config, request.trust);
  checkGovernanceSignature(config, store, input.request, request.requester, what);
  const now = (deps.now ?? (() => new Date()))().getTime();
  const signedAt = Date.parse(request.time);
  if (signedAt > now + REQUEST_CLOCK_SKEW_MS) throw new CountersignError('REQUEST_INVALID', `the ${what} is dated in the future (${request.time})`);
  if (now - signedAt > kind.validityMs) {
    throw new CountersignError('REQUEST_EXPIRED', `the ${what} was signed at ${request.time}; it is good for ${kind.validityMs / 60_000} minutes: sign a new one`);
  }
  const expectedId = kind.workflowId(request.trust, request.keyId);
  if (input.workflowId !== expectedId) throw new CountersignError('REQUEST_INVALID', `the ${what} is for ${expectedId}, but this run is ${input.workflowId}`);
  await checkNotReplayed(deps, [{ workflowId: input.workflowId, runId: input.runId }], request.nonce, what);

  const location = { name: store.name, publishDir: store.publishDir, stateFile: store.stateFile };
  const trustStore = new TrustStore(location);
  const index = await trustStore.index();
  const key = trustStore.ownKeys(index).find((k) => k.id === request.keyId && k.kind === store.kind);
  if (!key) {
    const elsewhere = index.keys.some((k) => k.id === request.keyId);
    throw new CountersignError('KEY_UNKNOWN', `key ${request.keyId} is not in trust store ${store.name}${elsewhere ? " (it is another store's key)" : ` (${store.publishDir}/index.json has no such key)`}`);
  }
  if (key.fingerprint.toLowerCase() !== request.fingerprint.toLowerCase()) {
    throw new CountersignError('KEY_UNKNOWN', `key ${key.id} of trust store ${store.name} has fingerprint ${key.fingerprint}, not the request's ${request.fingerprint}`);
  }
  const requestDigest = `sha256:${crypto.createHash('sha256').update(input.request.statement, 'utf8').digest('hex')}`;
  return { config, request, store, location, key, requestDigest };
}
