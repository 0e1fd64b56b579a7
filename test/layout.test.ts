/**
 * The layout rules the design states, checked on the source itself: workflow code reaches no I/O
 * module (directly or through what it imports), and in src/ only src/client/ imports workflows/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TOOL_ENV_VARS } from '../src/stack/tools';

const ROOT = path.resolve(__dirname, '..');
/** Packages workflow code may import: the SDK's sandbox API and pure-JS crypto for vote signatures. */
const WORKFLOW_PACKAGES = ['@temporalio/workflow', '@temporalio/common', '@noble/curves', '@noble/hashes'];

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Runtime imports (not `import type`, not `export type`) of a file: [specifier, resolved file or package]. */
function runtimeImports(file: string): Array<{ spec: string; target: string }> {
  const text = fs.readFileSync(file, 'utf8');
  const out: Array<{ spec: string; target: string }> = [];
  const pattern = /^(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(pattern)) {
    // `import { type A, type B } from` carries nothing at run time either.
    if (/^import\s+\{\s*(?:type\s+\w+(?:\s+as\s+\w+)?\s*,?\s*)+\}\s+from/.test(m[0])) continue;
    const spec = m[1];
    if (!spec.startsWith('.')) {
      out.push({ spec, target: spec });
      continue;
    }
    const base = path.resolve(path.dirname(file), spec);
    const target = [`${base}.ts`, path.join(base, 'index.ts')].find((p) => fs.existsSync(p)) ?? base;
    out.push({ spec, target });
  }
  return out;
}

describe('layout', () => {
  it('workflow code reaches no I/O module, directly or through what it imports', () => {
    const problems: string[] = [];
    const seen = new Set<string>();
    const visit = (file: string, via: string[]) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const { spec, target } of runtimeImports(file)) {
        const chain = [...via, path.relative(ROOT, file)].join(' -> ');
        if (!spec.startsWith('.')) {
          if (!WORKFLOW_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`))) problems.push(`${chain} imports ${spec}`);
          continue;
        }
        if (path.relative(ROOT, target).startsWith('activities')) problems.push(`${chain} imports activity code ${spec} at run time`);
        else visit(target, [...via, path.relative(ROOT, file)]);
      }
    };
    for (const file of tsFiles(path.join(ROOT, 'workflows'))) visit(file, []);
    assert.ok(seen.size > 15, `the walk reached the workflow files and what they import (${seen.size})`);
    assert.deepEqual(problems, []);
  });

  it('in src/, only src/client/ imports workflows/', () => {
    const offenders = tsFiles(path.join(ROOT, 'src'))
      .filter((file) => !path.relative(ROOT, file).startsWith(`src${path.sep}client${path.sep}`))
      .flatMap((file) =>
        [...fs.readFileSync(file, 'utf8').matchAll(/from\s+['"]([^'"]+)['"]/g)]
          .map((m) => m[1])
          .filter((spec) => spec.startsWith('.') && path.relative(ROOT, path.resolve(path.dirname(file), spec)).startsWith('workflows'))
          .map((spec) => `${path.relative(ROOT, file)} imports ${spec}`),
      );
    assert.deepEqual(offenders, []);
  });

  it('every tool is found through locateTool (src/stack/tools.ts): no other file reads a tool variable or the cache path', () => {
    const vars = Object.values(TOOL_ENV_VARS).join('|');
    // A tool variable read from an environment, or the cache's path spelled out.
    const lookup = new RegExp(`env(?:\\.(?:${vars})\\b|\\[['"](?:${vars})['"]\\])|['"]\\.cache['"]|\\.cache/countersign`);
    const self = path.join(ROOT, 'src', 'stack', 'tools.ts');
    const offenders = ['src', 'test', 'bench', 'workers', 'activities']
      .flatMap((dir) => tsFiles(path.join(ROOT, dir)))
      .filter((file) => file !== self && file !== __filename)
      .flatMap((file) =>
        fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((line, i) => (lookup.test(line) ? [`${path.relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : [])),
      );
    assert.deepEqual(offenders, []);
  });
});
