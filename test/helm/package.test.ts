import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { listTar } from '../../src/oci/tar';
import { readChartArchive } from '../../src/helm/archive';
import { packageChart } from '../../src/helm/package';
import { DEMO_DIR, DEMO_FILE, rejectsWithCode, tempDir, vector, writeChart } from './helpers';

test('packages the demo chart with the same files and contents as helm package', async () => {
  const ours = await packageChart(DEMO_DIR);
  assert.equal(ours.fileName, DEMO_FILE);
  const theirs = readChartArchive(await vector(DEMO_FILE), DEMO_FILE);
  const mine = readChartArchive(ours.data, ours.fileName);
  assert.deepEqual([...mine.files.keys()], [...theirs.files.keys()]);
  for (const [name, data] of theirs.files) {
    // Helm re-serialises Chart.yaml (dropping comments); countersign keeps it as written.
    if (name === 'Chart.yaml') continue;
    assert.ok(mine.files.get(name)!.equals(data), `${name} differs from helm's`);
  }
  assert.deepEqual(mine.metadata, theirs.metadata);
  // .helmignore (*.bak) and Helm's default rule (templates/.?*) left these out.
  assert.ok(!ours.files.includes('values.bak'));
  assert.ok(!ours.files.includes('templates/.hidden.yaml'));
});

test('packaging is deterministic: same content, same bytes, wherever and whenever the files were written', async () => {
  const first = await packageChart(DEMO_DIR);
  const copy = path.join(await tempDir(), 'elsewhere');
  await fs.cp(DEMO_DIR, copy, { recursive: true });
  const later = new Date('2031-01-02T03:04:05Z');
  for (const rel of ['Chart.yaml', 'values.yaml', 'templates/deployment.yaml']) await fs.utimes(path.join(copy, rel), later, later);
  await fs.chmod(path.join(copy, 'values.yaml'), 0o755);
  const second = await packageChart(copy);
  assert.ok(first.data.equals(second.data));
  assert.equal(first.sha256, second.sha256);
});

test('the archive is laid out like helm package: files only, under <name>/, mode 0644, no times or owners', async () => {
  const { data } = await packageChart(DEMO_DIR);
  const entries = listTar(gunzipSync(data));
  assert.ok(entries.length > 0);
  for (const e of entries) {
    assert.equal(e.type, 'file', e.path);
    assert.ok(e.path.startsWith('demo/'), e.path);
    assert.equal(e.mode, 0o644, e.path);
  }
  const tar = gunzipSync(data);
  assert.equal(tar.subarray(136, 147).toString('ascii'), '00000000000'); // mtime of the first entry
});

test('a UTF-8 BOM is dropped from files, as Helm drops it', async () => {
  const dir = await writeChart({ 'values.yaml': '\uFEFFa: 1\n' });
  const { data } = await packageChart(dir);
  assert.equal(readChartArchive(data).files.get('values.yaml')!.toString('utf8'), 'a: 1\n');
});

const INVALID: Array<[string, Record<string, string>, RegExp]> = [
  ['a bad version', { 'Chart.yaml': 'apiVersion: v2\nname: mini\nversion: "1.2"\n' }, /version "1.2" is not SemVer 2: it needs MAJOR.MINOR.PATCH/],
  ['a "v" version', { 'Chart.yaml': 'apiVersion: v2\nname: mini\nversion: v1.2.3\n' }, /drop the leading "v"/],
  ['leading zeros', { 'Chart.yaml': 'apiVersion: v2\nname: mini\nversion: 01.2.3\n' }, /not SemVer 2/],
  ['a numeric version', { 'Chart.yaml': 'apiVersion: v2\nname: mini\nversion: 1.2\n' }, /version must be a string, got number 1.2/],
  ['a missing name', { 'Chart.yaml': 'apiVersion: v2\nversion: 0.1.0\n' }, /name is required/],
  ['a missing version', { 'Chart.yaml': 'apiVersion: v2\nname: mini\n' }, /version is required/],
  ['a name with a slash', { 'Chart.yaml': 'apiVersion: v2\nname: a/b\nversion: 0.1.0\n' }, /name "a\/b" is invalid/],
  ['an unknown apiVersion', { 'Chart.yaml': 'apiVersion: v3\nname: mini\nversion: 0.1.0\n' }, /apiVersion must be v2 \(or v1\), got "v3"/],
  ['an unknown type', { 'Chart.yaml': 'apiVersion: v2\nname: mini\nversion: 0.1.0\ntype: plugin\n' }, /type must be application or library/],
  ['a maintainer without a name', { 'Chart.yaml': 'apiVersion: v2\nname: mini\nversion: 0.1.0\nmaintainers:\n- email: a@b.c\n' }, /maintainers\[0\] must have a name/],
  ['duplicate dependencies', { 'Chart.yaml': 'apiVersion: v2\nname: mini\nversion: 0.1.0\ndependencies:\n- name: x\n  repository: r\n- name: x\n  repository: r\n' }, /more than one dependency with name or alias "x"/],
  ['Chart.yaml that is not a mapping', { 'Chart.yaml': '- a\n- b\n' }, /must be a mapping/],
  ['Chart.yaml that is not YAML', { 'Chart.yaml': 'name: [unclosed\n' }, /not valid YAML/],
  ['invalid values.yaml', { 'values.yaml': 'a: [1\n' }, /values.yaml is not valid YAML/],
  ['invalid values.schema.json', { 'values.schema.json': '{"type":' }, /values.schema.json is not valid JSON/],
  ['a ** rule in .helmignore', { '.helmignore': 'docs/**\n' }, /double-star/],
];

for (const [what, files, reason] of INVALID) {
  test(`refuses a chart with ${what}`, async () => {
    const dir = await writeChart(files);
    await rejectsWithCode(() => packageChart(dir), 'CHART_INVALID', reason);
  });
}

test('lists every Chart.yaml problem at once', async () => {
  const dir = await writeChart({ 'Chart.yaml': 'apiVersion: v9\nversion: x\n' });
  const err = await rejectsWithCode(() => packageChart(dir), 'CHART_INVALID');
  assert.equal((err.details?.problems as string[]).length, 3);
});

test('refuses a directory without Chart.yaml, a missing directory and a symlink inside the chart', async () => {
  const empty = await tempDir();
  await rejectsWithCode(() => packageChart(empty), 'CHART_INVALID', 'no Chart.yaml');
  await rejectsWithCode(() => packageChart(path.join(empty, 'nope')), 'CHART_INVALID', 'no such directory');
  const dir = await writeChart();
  await fs.symlink('/etc/passwd', path.join(dir, 'templates', 'passwd'));
  await rejectsWithCode(() => packageChart(dir), 'CHART_INVALID', 'templates/passwd is a symlink');
});

test('a chart without apiVersion is read as v1, as Helm reads it', async () => {
  const dir = await writeChart({ 'Chart.yaml': 'name: old\nversion: 1.0.0\n' });
  const pkg = await packageChart(dir);
  assert.equal(pkg.metadata.apiVersion, 'v1');
  assert.equal(pkg.fileName, 'old-1.0.0.tgz');
});
