/**
 * Signed statements: what every person or system that asks countersign for something sends (a
 * start request, a re-open, a vote). The signature covers the exact statement bytes, so the
 * verifier checks bytes first and parses second. No I/O and no node:* imports: workflow code
 * reads statements too.
 */

export interface SignedStatement {
  /** The exact statement bytes (UTF-8 JSON) the signature covers. */
  statement: string;
  /** Base64 ASN.1 DER ECDSA P-256 signature over sha256(statement). */
  signature: string;
}

/** Statements are small; anything bigger is refused before it is parsed or verified. */
export const MAX_STATEMENT_BYTES = 16 * 1024;

/** JSON with object keys sorted at every depth and no whitespace: one text for one value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The statement object inside a signed statement, checked for shape only (not the signature):
 * a string of bounded size holding a JSON object of the expected type. Throws a plain Error
 * whose message says what is wrong; callers wrap it with their own code.
 */
export function readStatement(signed: unknown, expectedType: string, what: string): Record<string, unknown> {
  const s = signed as Partial<SignedStatement> | undefined;
  if (typeof s?.statement !== 'string' || typeof s?.signature !== 'string') throw new Error(`${what} is not a signed statement { statement, signature }`);
  if (s.statement.length > MAX_STATEMENT_BYTES) throw new Error(`${what} is ${s.statement.length} bytes; statements are at most ${MAX_STATEMENT_BYTES}`);
  if (s.signature.length > 512) throw new Error(`${what}'s signature is ${s.signature.length} characters; an ECDSA P-256 signature is under 100`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(s.statement);
  } catch {
    throw new Error(`${what} is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${what} is not a JSON object`);
  const statement = parsed as Record<string, unknown>;
  if (statement._type !== expectedType) throw new Error(`${what} has type ${JSON.stringify(statement._type)}, expected ${expectedType}`);
  return statement;
}

/** Fields outside `allowed`, so a statement carries nothing its signer did not mean. */
export function unknownFields(statement: Record<string, unknown>, allowed: readonly string[]): string[] {
  return Object.keys(statement).filter((k) => !allowed.includes(k));
}
