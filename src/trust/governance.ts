/**
 * What every governance request (a ceremony, a revocation) needs from the worker: its own
 * configuration, the signer's key from that configuration's roster, membership of the store's
 * governance, and earlier runs to refuse a request used twice. Temporal-free.
 */
import fs from 'node:fs';
import type { Config } from '../config';
import { CountersignError } from '../errors';
import { statementSignedBy } from '../requests/sign';
import type { SignedStatement } from '../requests/statement';
import type { TrustConfig } from './config';
import { workerConfig, type AuthorizeDeps, type PriorRun } from '../requests/authorize';

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
  if (!statementSignedBy(signed, fs.readFileSync(person.publicKey, 'utf8'))) {
    throw new CountersignError('REQUEST_BAD_SIGNATURE', `the ${what} does not verify with ${who}'s roster key in the worker's configuration`);
  }
  if (!store.governance.includes(who)) {
    throw new CountersignError('REQUEST_OUT_OF_SCOPE', `${who} is not a governance member of trust store ${store.name} (${store.governance.join(', ')})`);
  }
}

/** REQUEST_REPLAYED when an earlier run of any of `workflows` was started with this nonce. */
export async function checkNotReplayed(deps: GovernanceDeps, workflows: Array<{ workflowId: string; runId: string }>, nonce: string, what: string): Promise<void> {
  for (const { workflowId, runId } of workflows) {
    const reused = (await deps.priorRuns(workflowId, runId)).find((r) => r.requestNonce === nonce);
    if (reused) throw new CountersignError('REQUEST_REPLAYED', `this ${what} already started run ${reused.runId} of ${workflowId}: sign a new one`);
  }
}
