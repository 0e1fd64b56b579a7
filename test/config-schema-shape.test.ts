/**
 * The schema itself: valid and strict, fully described, and in step with what parseConfig reads
 * (a key only one of them knows is either rejected or silently ignored).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import { parseConfig } from '../src/config';
import { CONFIG_SCHEMA, PATTERN_RULES } from '../src/config-schema';
import { parseDuration } from '../src/duration';
import { hasCode } from '../src/errors';
import { configDir, full } from './support/full-config';

type Node = Record<string, unknown>;

/** A schema node with its $ref (only ever "#/definitions/NAME" here) followed. */
function deref(node: Node): Node {
  const ref = node.$ref as string | undefined;
  if (ref === undefined) return node;
  const name = ref.replace(/^#\/definitions\//, '');
  return { ...(CONFIG_SCHEMA.definitions as Record<string, Node>)[name], ...node, $ref: undefined };
}

/** Every subschema, each with the JSON path it sits at. */
function* subschemas(node: unknown, at = '#'): Generator<[Node, string]> {
  if (typeof node !== 'object' || node === null) return;
  yield [node as Node, at];
  for (const [k, v] of Object.entries(node)) {
    if (['properties', 'patternProperties', 'definitions'].includes(k)) {
      for (const [name, sub] of Object.entries(v as Node)) yield* subschemas(sub, `${at}/${k}/${name}`);
    } else if (['items', 'if', 'then', 'else'].includes(k)) yield* subschemas(v, `${at}/${k}`);
  }
}

/** Config key paths the schema accepts, map entries as "*": "targets.*.policy.buildCommand". */
function schemaPaths(node: Node = CONFIG_SCHEMA as Node, at: string[] = []): string[] {
  const n = deref(node);
  const out: string[] = [];
  const children: Array<[string, Node]> = [
    ...Object.entries((n.properties ?? {}) as Record<string, Node>),
    ...Object.values((n.patternProperties ?? {}) as Record<string, Node>).map((s): [string, Node] => ['*', s]),
  ];
  for (const [key, sub] of children) {
    if (typeof sub !== 'object') continue;
    out.push([...at, key].join('.'), ...schemaPaths(sub, [...at, key]));
  }
  return out;
}

/** The schema path of a key path read from a config, or undefined when the schema has no such key. */
function schemaPathOf(keys: string[]): string | undefined {
  let node = CONFIG_SCHEMA as Node;
  const out: string[] = [];
  for (const key of keys) {
    const n = deref(node);
    const props = (n.properties ?? {}) as Record<string, Node>;
    const patterns = (n.patternProperties ?? {}) as Record<string, Node>;
    if (Object.hasOwn(props, key)) {
      node = props[key];
      out.push(key);
    } else if (Object.keys(patterns).length > 0) {
      node = Object.values(patterns)[0];
      out.push('*');
    } else return undefined;
  }
  return out.join('.');
}

/** Keys the schema describes that parseConfig does not read yet: other changes add their parsing. */
const NOT_YET_PARSED = new Set<string>([]);

test('the schema is a valid draft-07 schema that ajv compiles in strict mode', () => {
  const ajv = new Ajv({ strict: true, allErrors: true });
  assert.equal(ajv.validateSchema(CONFIG_SCHEMA), true, JSON.stringify(ajv.errors));
  assert.equal(CONFIG_SCHEMA.$schema, 'http://json-schema.org/draft-07/schema#');
  assert.doesNotThrow(() => ajv.compile(CONFIG_SCHEMA));
});

test('the schema: additionalProperties false on every object, a description on every property, words for every pattern', () => {
  let objects = 0;
  for (const [node, at] of subschemas(CONFIG_SCHEMA)) {
    if (node.type === 'object') {
      objects++;
      assert.equal(node.additionalProperties, false, `${at}: additionalProperties must be false`);
    }
    for (const [name, sub] of Object.entries({ ...((node.properties ?? {}) as Record<string, Node>), ...((node.patternProperties ?? {}) as Record<string, Node>) })) {
      if (typeof sub !== 'object') continue;
      if (at.includes('/if') || at.includes('/then')) continue;
      assert.equal(typeof deref(sub).description, 'string', `${at} property ${name} has no description`);
    }
    if (typeof node.pattern === 'string') assert.ok(PATTERN_RULES[node.pattern], `${at}: no words for pattern ${node.pattern}`);
    for (const p of Object.keys((node.patternProperties ?? {}) as Node)) assert.ok(PATTERN_RULES[p], `${at}: no words for name pattern ${p}`);
  }
  assert.ok(objects > 15, `only ${objects} object schemas found`);
});

test('the duration pattern accepts exactly what parseDuration accepts', () => {
  const pattern = new RegExp(((CONFIG_SCHEMA.definitions as Record<string, Node>).duration.pattern as string), 'u');
  const samples = ['90s', '30m', '72h', '7d', '1h30m', '250ms', ' 5m ', '10m0s', '0h1m', '', ' ', '10', 'h', '1.5h', '-1h', '1 h', '1h 30m', '1H', '1w', 'soon', '0s', '0h0m', 'ms', '1msm'];
  for (const s of samples) {
    let parses = true;
    try {
      parseDuration(s);
    } catch {
      parses = false;
    }
    assert.equal(pattern.test(s), parses, JSON.stringify(s));
  }
});

test('the schema stays in step with the parser: every key parseConfig reads is in the schema, and every schema key is read', (t) => {
  const dir = configDir(t);
  const reads = new Set<string>();
  const outside: string[] = [];
  // Reads made by the schema check itself (it looks at every key) are not the parser's.
  const fromSchemaCheck = () => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = Infinity;
    const stack = new Error().stack ?? '';
    Error.stackTraceLimit = limit;
    return stack.includes(`${path.sep}config-schema.ts`);
  };
  const watch = (value: unknown, at: string[]): unknown => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    return new Proxy(value as Node, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver);
        if (typeof key === 'symbol') return v;
        if (!fromSchemaCheck()) {
          const known = schemaPathOf([...at, key]);
          if (known === undefined) outside.push([...at, key].join('.'));
          else reads.add(known);
        }
        return watch(v, [...at, key]);
      },
    });
  };
  try {
    parseConfig(watch(full(), []), path.join(dir, 'countersign.yaml'), {});
  } catch (err) {
    // Semantic problems (a file another change checks for) do not matter here, only what was read.
    assert.ok(hasCode(err, 'BAD_CONFIG'), String(err));
  }
  assert.deepEqual(outside, [], 'the parser reads keys the schema does not describe: add them to schema/countersign.schema.json');
  assert.ok(reads.has('targets.*.policy.buildCommand') && reads.has('trust.*.custodians.members'), `the watch saw the parser read: ${[...reads].join(', ')}`);

  const paths = schemaPaths();
  const unread = paths.filter((p) => !reads.has(p) && !NOT_YET_PARSED.has(p));
  assert.deepEqual(unread, [], 'the schema accepts keys the parser never reads (a silently ignored setting): parse them or drop them from the schema');
  const nowRead = [...NOT_YET_PARSED].filter((p) => reads.has(p));
  assert.deepEqual(nowRead, [], 'parseConfig reads these now: remove them from NOT_YET_PARSED');
  for (const p of NOT_YET_PARSED) assert.ok(paths.includes(p), `${p} is not in the schema`);
});
