/**
 * The shape of countersign.yaml, checked against the published JSON Schema
 * (schema/countersign.schema.json) so that an unknown key, such as a misspelt check, is an error
 * with its path instead of a setting silently left out. src/config.ts adds these problems to its
 * own semantic ones (files exist, roster references, quorum counts).
 */
import Ajv, { type ErrorObject } from 'ajv';
import schema from '../schema/countersign.schema.json';

export const CONFIG_SCHEMA: Readonly<Record<string, unknown>> = schema;

/** A value quoted back in a problem, cut short: a long one is reported by its size, not echoed. */
const quoted = (v: unknown) => JSON.stringify(String(v).length > 40 ? `${String(v).slice(0, 40)}…` : String(v));

/** Words for each pattern in the schema, so a message never shows a bare regex. */
export const PATTERN_RULES: Readonly<Record<string, (value: unknown) => string>> = {
  '\\S': () => 'must be a non-empty string',
  '^[a-z0-9][a-z0-9-]{0,62}$': (v) => `${quoted(v)} is not a valid name: lowercase letters, digits and "-"`,
  '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$': (v) => `${quoted(v)} is not a valid approver name: letters, digits and . _ @ -`,
  '^(\\*|[a-z0-9][a-z0-9-]{0,62})$': (v) => `${quoted(v)} is not a target name or "*"`,
  '^.+$': () => 'must not be empty',
  '^\\s*(?=[^1-9]*[1-9])(\\d+(ms|s|m|h|d))+\\s*$': (v) => `${quoted(v)} is not a duration like 90s, 30m, 72h or 7d (longer than zero)`,
  '^[\\w][\\w.-]{0,127}$': (v) => `${quoted(v)} is not a valid tag`,
  '^[Hh][Tt][Tt][Pp][Ss]?://\\S+$': (v) => `${quoted(v)} is not an http(s) URL`,
  '^[A-Za-z_][A-Za-z0-9_]*$': (v) => `${quoted(v)} is not an environment variable name`,
  '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):\\d{1,5}$': (v) => `${quoted(v)} is not host:port`,
  '^\\S+$': (v) => `${quoted(v)} must not contain spaces`,
  '^[A-Za-z0-9/_-]+$': (v) => `${quoted(v)} is not a KMS alias name: letters, digits and / _ -`,
  '^[A-Za-z0-9_-]+$': (v) => `${quoted(v)} is not base64url: letters, digits, - and _`,
  '^[^\\s@]+@[^\\s@]+$': (v) => `${quoted(v)} is not an e-mail address`,
  '^[A-Za-z][A-Za-z0-9+.-]*:\\S+$': (v) => `${quoted(v)} is not a URI (scheme:...)`,
};

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
};

// strict: a schema keyword ajv does not know, or one that cannot apply, fails here rather than
// being ignored (the same mistake this module exists to catch in the config).
const ajv = new Ajv({ allErrors: true, strict: true, verbose: true });
const validate = ajv.compile(schema);

/** Every way `raw` departs from the schema, as "field.path: problem" lines (config.ts's style). */
export function schemaProblems(raw: unknown): string[] {
  if (validate(raw)) return [];
  const errors = validate.errors ?? [];
  // A key ruled out by an if/then is explained by what the if required (e.g. trust:).
  const because = new Map(errors.filter((e) => e.keyword === 'if').map((e) => [e.instancePath, (e.parentSchema as { if?: { required?: string[] } }).if?.required ?? []]));
  // The top level's "targets: or charts:" is the parser's to word, once: the schema's branches are not said.
  const said = errors.filter((e) => !e.schemaPath.startsWith('#/anyOf'));
  const out = said.map((e) => describe(e, raw, because)).filter((p): p is string => p !== undefined);
  return [...new Set(out)];
}

/** Fields over a size limit (maxLength, maxItems, maxProperties): only that is said of them. */
export function oversizedFields(raw: unknown): Map<string, string> {
  if (validate(raw)) return new Map();
  const sized = (validate.errors ?? []).filter((e) => e.keyword === 'maxLength' || e.keyword === 'maxItems' || e.keyword === 'maxProperties');
  return new Map(sized.map((e) => [fieldOf(describe(e, raw, new Map())!), describe(e, raw, new Map())!]));
}

const fieldOf = (p: string) => p.slice(0, p.indexOf(': ')).replace(/(\[\d+\])+$/, '');

/**
 * The schema's problems the semantic checks did not already report for the same field (a missing
 * or malformed value is reported once, in the parser's words); a problem with an item of a list
 * counts as one with the list.
 */
export function withoutDoubles(fromSchema: string[], semantic: string[]): string[] {
  const seen = new Set(semantic.map(fieldOf));
  return fromSchema.filter((p) => !seen.has(fieldOf(p)));
}

function describe(e: ErrorObject, raw: unknown, because: Map<string, string[]>): string | undefined {
  const segments = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const at = (...more: string[]) => fieldPath(raw, [...segments, ...more]);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const parent = e.parentSchema as { properties?: Record<string, unknown>; patternProperties?: Record<string, unknown> };
      const namePattern = Object.keys(parent.patternProperties ?? {})[0];
      if (namePattern !== undefined) return `${at(key)}: ${patternRule(namePattern, key)}`;
      return `${at(key)}: unknown key ${suggestion(key, Object.keys(parent.properties ?? {}))}`;
    }
    case 'required':
      return `${at(String(params.missingProperty))}: is required`;
    case 'type':
      return `${at()}: must be ${[params.type].flat().map((t) => TYPE_WORDS[String(t)] ?? t).join(' or ')}, not ${kindOf(e.data)}`;
    case 'enum':
      return `${at()}: must be one of ${(params.allowedValues as unknown[]).join(', ')}, not ${kindOf(e.data)}`;
    case 'pattern':
      return `${at()}: ${patternRule(String(params.pattern), e.data)}`;
    case 'minItems':
      return `${at()}: must list at least ${params.limit} item(s)`;
    case 'minProperties':
      return `${at()}: must have at least ${params.limit} entr${params.limit === 1 ? 'y' : 'ies'}`;
    case 'minimum':
      return `${at()}: must be at least ${params.limit}, not ${kindOf(e.data)}`;
    case 'maximum':
      return `${at()}: must be at most ${params.limit}, not ${kindOf(e.data)}`;
    case 'maxLength':
      return `${at()}: is ${String(e.data).length} characters; at most ${params.limit}`;
    case 'maxItems':
      return `${at()}: lists ${(e.data as unknown[]).length} items; at most ${params.limit}`;
    case 'maxProperties':
      return `${at()}: has ${Object.keys(e.data as object).length} entries; at most ${params.limit}`;
    case 'false schema': {
      const ruledOutBy = because.get(e.instancePath.slice(0, e.instancePath.lastIndexOf('/'))) ?? [];
      return `${at()}: ${ruledOutBy.length > 0 ? `cannot be used together with ${ruledOutBy.join(', ')}:` : 'is not allowed here'}`;
    }
    case 'if':
      // The failed then/else branch reports its own, more precise, problem.
      return undefined;
    default:
      return `${at()}: ${e.message ?? e.keyword}`;
  }
}

/** Dotted like the rest of the config errors; list items as [N]. */
function fieldPath(raw: unknown, segments: string[]): string {
  let out = '';
  let node = raw;
  for (const s of segments) {
    out += Array.isArray(node) ? `[${s}]` : out === '' ? s : `.${s}`;
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[s] : undefined;
  }
  return out === '' ? '(top level)' : out;
}

function patternRule(pattern: string, value: unknown): string {
  const rule = PATTERN_RULES[pattern];
  return rule ? rule(value) : `${quoted(value)} does not match ${pattern}`;
}

function kindOf(v: unknown): string {
  if (v === null) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return String(v);
}

function suggestion(key: string, allowed: string[]): string {
  const lower = key.toLowerCase();
  const limit = lower.length <= 4 ? 1 : lower.length <= 8 ? 2 : 3;
  const scored = allowed.map((a) => ({ a, d: editDistance(lower, a.toLowerCase()) })).sort((x, y) => x.d - y.d);
  if (scored.length > 0 && scored[0].d <= limit) return `(did you mean ${scored[0].a}?)`;
  return `(allowed: ${allowed.join(', ')})`;
}

/** Levenshtein distance, one row at a time. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
