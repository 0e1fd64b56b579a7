import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HelmIgnore, globToRegex } from '../../src/helm/helmignore';

test('Go filepath.Match globs: * and ? stop at /, classes and escapes work', () => {
  assert.ok(globToRegex('*.bak').test('a.bak'));
  assert.ok(!globToRegex('*.bak').test('dir/a.bak'));
  assert.ok(globToRegex('a?c').test('abc'));
  assert.ok(!globToRegex('a?c').test('a/c'));
  assert.ok(globToRegex('[a-c]x').test('bx'));
  assert.ok(!globToRegex('[^a-c]x').test('bx'));
  assert.ok(globToRegex('\\*').test('*'));
  assert.ok(!globToRegex('\\*').test('a'));
});

const CASES: Array<{ rules: string; path: string; dir?: boolean; ignored: boolean }> = [
  { rules: '*.bak', path: 'values.bak', ignored: true },
  { rules: '*.bak', path: 'deep/down/x.bak', ignored: true }, // no slash in the rule: matches the base name
  { rules: 'docs/*.md', path: 'docs/a.md', ignored: true },
  { rules: 'docs/*.md', path: 'x/docs/a.md', ignored: false }, // a slash in the rule: matches the whole path
  { rules: '/Chart.lock', path: 'Chart.lock', ignored: true },
  { rules: 'scratch/', path: 'scratch', dir: true, ignored: true },
  { rules: 'scratch/', path: 'scratch', dir: false, ignored: false }, // directories only
  { rules: '# comment\n\n', path: 'anything', ignored: false },
  { rules: '', path: 'templates/.hidden', ignored: true }, // Helm's default rule
  { rules: '', path: 'templates/x.yaml', ignored: false },
  // Helm's negation is not git's: "!pattern" ignores everything that does NOT match.
  { rules: '!*.yaml', path: 'values.yaml', ignored: false },
  { rules: '!*.yaml', path: 'README.md', ignored: true },
];

for (const c of CASES) {
  test(`.helmignore ${JSON.stringify(c.rules)} ${c.ignored ? 'ignores' : 'keeps'} ${c.path}${c.dir ? '/' : ''}`, () => {
    assert.equal(HelmIgnore.parse(c.rules).ignores(c.path, c.dir ?? false), c.ignored);
  });
}
