import { parseJsonBounded } from '../bounded-json';
import { CountersignError } from '../errors';

export const STATEMENT_TYPE_V1 = 'https://in-toto.io/Statement/v1';
/** A statement read back: the SPDX SBOM of an image of about 150,000 files, the largest countersign writes. */
export const DEFAULT_STATEMENT_MAX_BYTES = 64 * 1024 * 1024;
const STATEMENT_TYPES = new Set([STATEMENT_TYPE_V1, 'https://in-toto.io/Statement/v0.1']);

export interface Subject {
  name: string;
  digest: Record<string, string>;
}

export interface Statement<P = unknown> {
  _type: string;
  subject: Subject[];
  predicateType: string;
  predicate: P;
}

export function createStatement<P>(subjectName: string, digest: string, predicateType: string, predicate: P): Statement<P> {
  const [algorithm, hex] = digest.split(':');
  return { _type: STATEMENT_TYPE_V1, subject: [{ name: subjectName, digest: { [algorithm]: hex } }], predicateType, predicate };
}

export function parseStatement(payload: Buffer): Statement {
  const value = parseJsonBounded(payload, { what: 'in-toto statement', maxBytes: DEFAULT_STATEMENT_MAX_BYTES, code: 'ATTESTATION_INVALID' }) as Statement;
  const problems: string[] = [];
  if (!STATEMENT_TYPES.has(value?._type)) problems.push(`_type "${String(value?._type)}" is not an in-toto statement`);
  if (!Array.isArray(value?.subject) || value.subject.length === 0) problems.push('no subject');
  if (typeof value?.predicateType !== 'string' || value.predicateType === '') problems.push('no predicateType');
  if (typeof value?.predicate !== 'object' || value.predicate === null) problems.push('no predicate');
  if (problems.length > 0) throw new CountersignError('ATTESTATION_INVALID', `in-toto statement: ${problems.join('; ')}`);
  return value;
}

/** True when any subject names the digest (sha256:<hex>). */
export function statementCoversDigest(statement: Statement, digest: string): boolean {
  const [algorithm, hex] = digest.split(':');
  return statement.subject.some((s) => s?.digest?.[algorithm] === hex);
}

export function subjectDigests(statement: Statement): string[] {
  return statement.subject.flatMap((s) => Object.entries(s?.digest ?? {}).map(([a, h]) => `${a}:${h}`));
}
