/**
 * Sealing: the worker's mark on what its own steps decided. A run's plan (from authorize) and the
 * results a later step relies on (the attestations it signs, the verification report it signs
 * after) travel through workflow history, where anyone allowed to complete an activity by id could
 * have written them instead of the worker. Each is sealed with an HMAC under a key only workers
 * hold, bound to the kind of value, the workflow id and the run; every step that acts on one
 * checks the seal first, so a forged value is refused before anything is read, built or signed.
 *
 * HMAC rather than a signature: only workers check seals, and they share the key anyway.
 */
import crypto from 'node:crypto';
import { CountersignError } from '../errors';
import { canonicalJson } from '../requests/statement';
import type { SealKeyring } from './keyring';

/** What a seal is bound to besides the value: a value sealed for one run or purpose fits no other. */
export interface SealContext {
  /** What the value is, e.g. "promotion-plan" or "verification-report". */
  kind: string;
  workflowId: string;
  /** The run's first execution id (stable across continue-as-new). */
  runId: string;
}

export type Sealed<T> = T & { seal: string };

const VERSION = 'v1';

function mac(key: Buffer, context: SealContext, value: unknown): string {
  const text = ['countersign-seal', VERSION, context.kind, context.workflowId, context.runId, canonicalJson(value)].join('\n');
  return crypto.createHmac('sha256', key).update(text).digest('base64url');
}

function withoutSeal<T extends object>(value: T): Omit<T, 'seal'> {
  const { seal: _seal, ...rest } = value as T & { seal?: unknown };
  return rest;
}

/** `value` with a `seal` field: `v1.<key id>.<mac>` over everything else in it. */
export function sealValue<T extends object>(keyring: SealKeyring, context: SealContext, value: T): Sealed<T> {
  const rest = withoutSeal(value);
  return { ...(rest as T), seal: `${VERSION}.${keyring.current.id}.${mac(keyring.current.key, context, rest)}` };
}

/**
 * Returns the value when its seal is this worker's for this context; throws SEAL_INVALID naming
 * what did not match (never the value). A value from another run, of another kind or changed
 * after sealing all fail the same check.
 */
export function checkSeal<T extends object>(keyring: SealKeyring, context: SealContext, value: Sealed<T> | T | undefined, what: string): Sealed<T> {
  const seal = (value as { seal?: unknown } | undefined)?.seal;
  const where = `${what} of ${context.workflowId}`;
  if (typeof seal !== 'string') throw new CountersignError('SEAL_INVALID', `the ${where} carries no worker seal: it was not written by a countersign worker's own step; refusing to act on it`);
  const [version, keyId, given, extra] = seal.split('.');
  if (version !== VERSION || !keyId || !given || extra !== undefined) throw new CountersignError('SEAL_INVALID', `the ${where} has a malformed seal; refusing to act on it`);
  const key = keyring.byId(keyId);
  if (!key) {
    throw new CountersignError(
      'SEAL_INVALID',
      `the ${where} was sealed with seal key ${keyId}, which this worker does not hold (it holds ${keyring.ids().join(', ')}): ` +
        'every worker must share seal.keyFile (docs/security.md, "Sealed plans"); refusing to act on it',
    );
  }
  const expected = Buffer.from(mac(key, context, withoutSeal(value as object)));
  const actual = Buffer.from(given);
  if (expected.length !== actual.length || !crypto.timingSafeEqual(expected, actual)) {
    throw new CountersignError('SEAL_INVALID', `the ${where} does not match its seal (changed after the worker sealed it, or sealed for another run or purpose); refusing to act on it`);
  }
  return value as Sealed<T>;
}
