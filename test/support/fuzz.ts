/**
 * Shared pieces of the property tests (fast-check): edit scripts that mutate a real vector at the
 * byte, text or JSON level, and the one assertion every parser owes its caller: it returns, or it
 * throws a CountersignError whose code is in the parser's allowed set (never a TypeError,
 * RangeError or anything else).
 *
 * COUNTERSIGN_FUZZ_RUNS multiplies every test's number of runs (for a long local session);
 * COUNTERSIGN_FUZZ_SEED replays a failure fast-check reported.
 */
import fc from 'fast-check';
import { CountersignError } from '../../src/errors';
import { EvidenceError } from '../../src/cosign/problems';

/** fast-check parameters: `runs` per CI run (times COUNTERSIGN_FUZZ_RUNS), the seed when replaying. */
export function fuzzParams(runs: number): fc.Parameters<unknown> {
  const factor = Number(process.env.COUNTERSIGN_FUZZ_RUNS ?? '1') || 1;
  const seed = process.env.COUNTERSIGN_FUZZ_SEED;
  return { numRuns: Math.max(1, Math.round(runs * factor)), includeErrorInReport: true, ...(seed ? { seed: Number(seed) } : {}) };
}

/**
 * Rethrows `err` unless it is a refusal the parser may make: a CountersignError with a code in
 * `allowed`, or (for the cosign evidence parsers) an EvidenceError when `evidence` is true.
 */
export function expectRefusal(err: unknown, allowed: readonly string[], options: { evidence?: boolean } = {}): void {
  if (err instanceof CountersignError && allowed.includes(err.code)) return;
  if (options.evidence && err instanceof EvidenceError) return;
  throw err;
}

/** Runs a parser: its value, or undefined when it refused in an allowed way. */
export function parsesOrRefuses<T>(parse: () => T, allowed: readonly string[], options: { evidence?: boolean } = {}): T | undefined {
  try {
    return parse();
  } catch (err) {
    expectRefusal(err, allowed, options);
    return undefined;
  }
}

export async function parsesOrRefusesAsync<T>(parse: () => Promise<T>, allowed: readonly string[], options: { evidence?: boolean } = {}): Promise<T | undefined> {
  try {
    return await parse();
  } catch (err) {
    expectRefusal(err, allowed, options);
    return undefined;
  }
}

/** Numbers as text that parsers of sizes and lengths tend to get wrong. */
export const INTERESTING_NUMBERS = ['-1', '-512', '-1536', '0', '1', '511', '512', '4294967296', '9007199254740993', '99999999999999999999', '1e3', '0x10', 'NaN', ' 7', '+5', '077777777777'];

export type ByteEdit =
  | { op: 'set'; at: number; byte: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; len: number }
  | { op: 'truncate'; at: number }
  | { op: 'duplicate'; at: number; len: number }
  | { op: 'number'; at: number; pick: number };

/** An edit script of 1-6 byte-level edits; positions are taken modulo the input's length. */
export const byteEdits: fc.Arbitrary<ByteEdit[]> = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 600 }) }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 1100 }) }),
    fc.record({ op: fc.constant('number' as const), at: fc.nat(), pick: fc.nat() }),
  ),
  { minLength: 1, maxLength: 6 },
);

export function applyByteEdits(seed: Buffer, edits: readonly ByteEdit[]): Buffer {
  let buf = Buffer.from(seed);
  for (const e of edits) {
    const at = buf.length === 0 ? 0 : e.at % buf.length;
    switch (e.op) {
      case 'set':
        if (buf.length > 0) buf[at] = e.byte;
        break;
      case 'insert':
        buf = Buffer.concat([buf.subarray(0, at), Buffer.from(e.bytes), buf.subarray(at)]);
        break;
      case 'delete':
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + e.len)]);
        break;
      case 'truncate':
        buf = buf.subarray(0, at);
        break;
      case 'duplicate':
        buf = Buffer.concat([buf.subarray(0, at + e.len), buf.subarray(at, at + e.len), buf.subarray(at + e.len)]);
        break;
      case 'number': {
        const text = Buffer.from(INTERESTING_NUMBERS[e.pick % INTERESTING_NUMBERS.length]!, 'latin1');
        buf = Buffer.concat([buf.subarray(0, at), text, buf.subarray(Math.min(buf.length, at + text.length))]);
        break;
      }
    }
  }
  return buf;
}

/** Values that JSON-shaped parsers tend to get wrong, put in place of a field. */
const INTERESTING_JSON: unknown[] = [
  null, -1, 0, 0.5, 1e308, -0, 2 ** 53 + 2, '', ' ', 'sha256:../../x', `sha256:${'0'.repeat(64)}`, [], {}, true, [[[[[[[[]]]]]]]],
  { __proto__: null }, '\u0000', 'x'.repeat(300), Array.from({ length: 40 }, () => ({})),
];

export interface JsonEdit {
  at: number;
  op: 'replace' | 'interesting' | 'delete' | 'wrap' | 'stringify' | 'duplicate';
  value: unknown;
  pick: number;
}

/** An edit script of 1-4 edits to JSON values; `at` picks a node modulo the node count. */
export const jsonEdits: fc.Arbitrary<JsonEdit[]> = fc.array(
  fc.record({
    at: fc.nat(),
    op: fc.constantFrom('replace', 'interesting', 'delete', 'wrap', 'stringify', 'duplicate') as fc.Arbitrary<JsonEdit['op']>,
    value: fc.jsonValue({ maxDepth: 3 }),
    pick: fc.nat(),
  }),
  { minLength: 1, maxLength: 4 },
);

interface Slot {
  parent: Record<string, unknown> | unknown[];
  key: string | number;
}

function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      node.forEach((v, i) => {
        out.push({ parent: node, key: i });
        stack.push(v);
      });
    } else if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node)) {
        out.push({ parent: node as Record<string, unknown>, key: k });
        stack.push(v);
      }
    }
  }
  return out;
}

/** Applies `edits` to a deep copy of `seed` (a JSON value). */
export function applyJsonEdits(seed: unknown, edits: readonly JsonEdit[]): unknown {
  let root = structuredClone(seed);
  for (const e of edits) {
    const all = slots(root);
    if (all.length === 0) {
      root = e.value;
      continue;
    }
    const { parent, key } = all[e.at % all.length]!;
    const current = (parent as Record<string | number, unknown>)[key];
    const set = (v: unknown) => ((parent as Record<string | number, unknown>)[key] = v);
    switch (e.op) {
      case 'replace':
        set(e.value);
        break;
      case 'interesting':
        set(structuredClone(INTERESTING_JSON[e.pick % INTERESTING_JSON.length]));
        break;
      case 'delete':
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        break;
      case 'wrap':
        set([current]);
        break;
      case 'stringify':
        set(JSON.stringify(current) ?? 'undefined');
        break;
      case 'duplicate':
        if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(current));
        else parent[`${String(key)}${e.pick % 3 === 0 ? '' : '_'}`] = structuredClone(current);
        break;
    }
  }
  return root;
}

/** A JSON value edited, serialised, then (sometimes) edited again as bytes. */
export function jsonMutant(seed: unknown): fc.Arbitrary<Buffer> {
  return fc
    .tuple(jsonEdits, fc.option(byteEdits, { freq: 4 }))
    .map(([edits, bytes]) => {
      const text = Buffer.from(JSON.stringify(applyJsonEdits(seed, edits)) ?? 'null', 'utf8');
      return bytes ? applyByteEdits(text, bytes) : text;
    });
}
