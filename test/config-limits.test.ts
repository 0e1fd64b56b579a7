/**
 * The configuration file is outside input too: a size cap before it is read, aliases counted and
 * nesting measured before anything is expanded. Each refusal is BAD_CONFIG naming the number
 * and the limit.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_CONFIG_MAX_ALIASES, DEFAULT_CONFIG_MAX_BYTES, DEFAULT_CONFIG_MAX_DEPTH, loadConfig, parseConfigYaml } from '../src/config';
import { CountersignError } from '../src/errors';

function configFile(t: { after(fn: () => void): void }, text: string | Buffer): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-config-limits-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'countersign.yaml');
  writeFileSync(file, text);
  return file;
}

function badConfig(...facts: RegExp[]) {
  return (err: unknown) => {
    assert.ok(err instanceof CountersignError, `a CountersignError, got ${String(err)}`);
    assert.equal(err.code, 'BAD_CONFIG', err.message);
    for (const fact of facts) assert.match(err.message, fact);
    return true;
  };
}

/** The classic: nine levels of nine aliases each, 9^9 strings once expanded. */
const BILLION_LAUGHS = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((name, i) => {
    const prev = 'abcdefghi'[i];
    return `${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`;
  }),
  'targets: *i',
].join('\n');

test('billion laughs: 73 aliases, under the count, refused as they expand, naming the limit', (t) => {
  const file = configFile(t, BILLION_LAUGHS);
  assert.throws(() => loadConfig(file), badConfig(new RegExp(`aliases expand past the limit of ${DEFAULT_CONFIG_MAX_ALIASES}`)));
});

test('more aliases than the limit are refused by count before anything is expanded', (t) => {
  const file = configFile(t, `base: &b [x]
${Array.from({ length: 150 }, (_, i) => `k${i}: *b`).join('\n')}\n`);
  assert.throws(() => loadConfig(file), badConfig(/has 150 aliases, more than the 100 allowed/));
});

test('merge keys under YAML 1.1 count as aliases too', (t) => {
  const merges = Array.from({ length: DEFAULT_CONFIG_MAX_ALIASES + 1 }, (_, i) => `m${i}: { <<: *base }`).join('\n');
  const file = configFile(t, `%YAML 1.1\n---\nbase: &base { registry: x }\n${merges}\n`);
  assert.throws(() => loadConfig(file), badConfig(/has 101 aliases, more than the 100 allowed/));
});

test('few aliases that expand too far are still refused by the expansion guard', () => {
  // Ten aliases only, but each names an anchor full of aliases.
  const text = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]'].join('\n');
  assert.throws(() => parseConfigYaml(text, 'c.yaml'), badConfig(/aliases expand past the limit of 100/));
});

test('a file over the size limit is refused from its size, before it is read', (t) => {
  const file = configFile(t, Buffer.alloc(DEFAULT_CONFIG_MAX_BYTES + 1, '#'));
  assert.throws(() => loadConfig(file), badConfig(new RegExp(`is ${DEFAULT_CONFIG_MAX_BYTES + 1} bytes, over the ${DEFAULT_CONFIG_MAX_BYTES}-byte limit for a configuration file`)));
});

test('nesting deeper than the limit is refused (flow and block style)', () => {
  const depth = DEFAULT_CONFIG_MAX_DEPTH + 1;
  assert.throws(() => parseConfigYaml(`targets: ${'['.repeat(depth)}${']'.repeat(depth)}`, 'c.yaml'), badConfig(/nests mappings and lists deeper than 32 levels/));
  const block = Array.from({ length: depth }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n');
  assert.throws(() => parseConfigYaml(block, 'c.yaml'), badConfig(/deeper than 32 levels/));
  assert.deepEqual(parseConfigYaml(`a: ${'['.repeat(DEFAULT_CONFIG_MAX_DEPTH - 1)}${']'.repeat(DEFAULT_CONFIG_MAX_DEPTH - 1)}`, 'c.yaml') !== undefined, true, 'at the limit it parses');
});

test('a few aliases within the limits still work', () => {
  assert.deepEqual(parseConfigYaml('base: &b { x: 1 }\none: *b\ntwo: *b\n', 'c.yaml'), { base: { x: 1 }, one: { x: 1 }, two: { x: 1 } });
});

test("a megabyte of '[' is refused by counting, before the YAML parser recurses into it", () => {
  const text = `targets: ${'['.repeat(DEFAULT_CONFIG_MAX_BYTES / 2 - 10)}`;
  assert.throws(() => parseConfigYaml(text, 'c.yaml'), badConfig(/has more than 256 unclosed '\[' or '\{' \(nesting limit 32\)/));
  assert.ok(parseConfigYaml(`pattern: "${'['.repeat(200)}"`, 'c.yaml'), 'unbalanced brackets in a string, under the count, still parse');
});
