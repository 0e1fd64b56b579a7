/**
 * A re-open: someone the target's configuration allows (approval.reopen) signs that a rejected
 * promotion may run again. It names the rejected run, so it opens exactly one door once.
 */
import { readStatement, unknownFields, type SignedStatement } from './statement';

export const REOPEN_STATEMENT_TYPE = 'https://countersign.dev/reopen/v1';
/** A re-open must be used within this long of being signed. */
export const REOPEN_VALIDITY_MS = 24 * 60 * 60_000;

export interface ReopenStatement {
  _type: typeof REOPEN_STATEMENT_TYPE;
  promotionId: string;
  /** The run that ended REJECTED. */
  rejectedRunId: string;
  digest: string;
  reopener: string;
  reason: string;
  time: string;
}

export function parseReopen(signed: SignedStatement | undefined): ReopenStatement {
  const r = readStatement(signed, REOPEN_STATEMENT_TYPE, 'the re-open');
  const unknown = unknownFields(r, ['_type', 'promotionId', 'rejectedRunId', 'digest', 'reopener', 'reason', 'time']);
  if (unknown.length > 0) throw new Error(`the re-open has unknown fields: ${unknown.join(', ')}`);
  for (const k of ['promotionId', 'rejectedRunId', 'digest', 'reopener', 'reason', 'time'] as const) {
    if (typeof r[k] !== 'string' || (r[k] as string).trim() === '') throw new Error(`the re-open's ${k} must be a non-empty string`);
    if ((r[k] as string).length > 2048) throw new Error(`the re-open's ${k} is longer than 2048 characters`);
  }
  if (Number.isNaN(Date.parse(r.time as string))) throw new Error(`the re-open's time "${String(r.time)}" is not a timestamp`);
  return r as unknown as ReopenStatement;
}
