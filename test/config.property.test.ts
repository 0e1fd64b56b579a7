/**
 * Property tests of the configuration file: edits of the committed example (text level: lines,
 * bytes, aliases, anchors and merge keys; value level: any field replaced) are loaded or refused
 * with BAD_CONFIG, nothing else. The example's keys/ folder does not exist here, so what loads is
 * refused for missing files: the point is that nothing throws anything but BAD_CONFIG.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import YAML from 'yaml';
import { parseConfig, parseConfigYaml } from '../src/config';
import { applyByteEdits, applyJsonEdits, byteEdits, fuzzParams, jsonEdits, parsesOrRefuses } from './support/fuzz';

const EXAMPLE = readFileSync(path.join(__dirname, '..', 'countersign.example.yaml'), 'utf8');
const FILE = path.join(__dirname, '..', 'countersign.yaml');
const ENV = { COUNTERSIGN_REGISTRY: '127.0.0.1:5000' };
const SNIPPETS = ['x: &a [1, 2]', 'y: *a', '<<: *a', '%YAML 1.1', '---', 'z: !!binary aGk=', 'w: [[[[[[[[', '? complex\n: key', 'dup: 1\ndup: 2', 'k: 0x10', 'k: .inf', '  - - -', 'anchor: &b { registry: x }', 'merged: { <<: *b }'];

type LineEdit = { at: number; op: 'delete' | 'insert' | 'replace' | 'indent'; pick: number };
const lineEdits: fc.Arbitrary<LineEdit[]> = fc.array(fc.record({ at: fc.nat(), op: fc.constantFrom('delete', 'insert', 'replace', 'indent') as fc.Arbitrary<LineEdit['op']>, pick: fc.nat() }), { minLength: 1, maxLength: 5 });

function applyLineEdits(text: string, edits: readonly LineEdit[]): string {
  const lines = text.split('\n');
  for (const e of edits) {
    const at = e.at % (lines.length + 1);
    const snippet = SNIPPETS[e.pick % SNIPPETS.length]!;
    if (e.op === 'delete') lines.splice(at, 1);
    else if (e.op === 'insert') lines.splice(at, 0, snippet);
    else if (e.op === 'replace') lines[at] = snippet;
    else lines[at] = `${' '.repeat(e.pick % 5)}${lines[at] ?? ''}`;
  }
  return lines.join('\n');
}

function loadsOrRefuses(text: string): void {
  const raw = parsesOrRefuses(() => parseConfigYaml(text, FILE), ['BAD_CONFIG']);
  if (raw !== undefined) parsesOrRefuses(() => parseConfig(raw, FILE, ENV), ['BAD_CONFIG']);
}

test('text edits of the example (lines, anchors, aliases, merge keys, bytes): loaded or BAD_CONFIG', () => {
  fc.assert(
    fc.property(fc.oneof(lineEdits.map((e) => applyLineEdits(EXAMPLE, e)), byteEdits.map((e) => applyByteEdits(Buffer.from(EXAMPLE), e).toString('utf8'))), (text) => {
      loadsOrRefuses(text);
    }),
    fuzzParams(1500),
  );
});

test('value edits of the example (any field replaced, removed, wrapped, duplicated): BAD_CONFIG, never a TypeError', () => {
  const value = YAML.parse(EXAMPLE) as unknown;
  fc.assert(
    fc.property(jsonEdits, (edits) => {
      parsesOrRefuses(() => parseConfig(applyJsonEdits(value, edits), FILE, ENV), ['BAD_CONFIG']);
    }),
    fuzzParams(3000),
  );
  assert.throws(() => parseConfig(value, FILE, ENV), (e) => e instanceof Error && /BAD_CONFIG/.test(e.message), 'the example itself names key files that are not here');
});
