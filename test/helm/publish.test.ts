import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { HELM_MEDIA_TYPE, chartTag, pullChart, pushChart } from '../../src/helm/oci';
import { packageChart } from '../../src/helm/package';
import { indexRepository, publishToRepository } from '../../src/helm/repository';
import { MemoryStore } from '../support/memory-store';
import { DEMO_DIR, rejectsWithCode, tempDir, vector, writeChart, DEMO_FILE } from './helpers';

const CREATED = '2026-01-01T00:00:00Z';

test('pushes a chart the way helm push does: config, chart and prov layers with Helm media types, tag = version', async () => {
  const store = new MemoryStore();
  const pkg = await packageChart(DEMO_DIR);
  const prov = (await vector(`${DEMO_FILE}.prov`)).toString();
  const pushed = await pushChart(store, 'charts', { fileName: pkg.fileName, archive: pkg.data, provenance: prov, created: CREATED });
  assert.equal(pushed.repository, 'charts/demo');
  assert.equal(pushed.tag, '1.2.3');
  const manifest = JSON.parse((await store.getManifest('charts/demo', '1.2.3'))!.data.toString());
  assert.equal(manifest.config.mediaType, HELM_MEDIA_TYPE.config);
  assert.deepEqual(manifest.layers.map((l: { mediaType: string }) => l.mediaType).sort(), [HELM_MEDIA_TYPE.chart, HELM_MEDIA_TYPE.provenance].sort());
  const digests = manifest.layers.map((l: { digest: string }) => l.digest);
  assert.deepEqual(digests, [...digests].sort(), 'layers sorted by digest, as helm sorts them');
  assert.equal(manifest.annotations['org.opencontainers.image.title'], 'demo');
  assert.equal(manifest.annotations['org.opencontainers.image.created'], CREATED);
  assert.equal(manifest.annotations['example.com/tier'], 'backend');
  const config = JSON.parse((await store.getBlob('charts/demo', manifest.config.digest)).toString());
  assert.deepEqual(Object.keys(config).slice(0, 3), ['name', 'home', 'sources']);

  const back = await pullChart(store, 'charts/demo', '1.2.3');
  assert.ok(back.archive.equals(pkg.data));
  assert.equal(back.provenance, prov);
  assert.equal(back.digest, pushed.digest);

  const again = await pushChart(store, 'charts', { fileName: pkg.fileName, archive: pkg.data, provenance: prov, created: CREATED });
  assert.equal(again.pushed, false, 'the same push again writes nothing');
  await rejectsWithCode(() => pushChart(store, 'charts', { fileName: pkg.fileName, archive: pkg.data, created: CREATED }), 'CHART_VERSION_EXISTS');
});

test('a build-metadata version becomes a tag with _ (tags cannot hold +)', () => {
  assert.equal(chartTag('1.0.0+build.5'), '1.0.0_build.5');
});

test('a chart repository: index.yaml like helm repo index, newest first, created kept, versions immutable', async () => {
  const repo = await tempDir();
  const v1 = await packageChart(await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: mini\nversion: 0.1.0\n' }));
  const v2 = await packageChart(await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: mini\nversion: 0.10.0\n' }));
  const first = new Date('2026-01-01T00:00:00Z');
  await publishToRepository(repo, { fileName: v1.fileName, archive: v1.data, provenance: 'p1', bundle: 'b1' }, { now: first });
  await publishToRepository(repo, { fileName: v2.fileName, archive: v2.data }, { now: new Date('2026-02-01T00:00:00Z') });
  const index = parse(await fs.readFile(path.join(repo, 'index.yaml'), 'utf8'));
  assert.equal(index.apiVersion, 'v1');
  assert.deepEqual(index.entries.mini.map((e: { version: string }) => e.version), ['0.10.0', '0.1.0']);
  assert.equal(index.entries.mini[1].created, first.toISOString(), 're-indexing keeps created');
  assert.equal(index.entries.mini[1].digest, v1.sha256);
  assert.deepEqual(index.entries.mini[1].urls, ['mini-0.1.0.tgz']);
  assert.equal(await fs.readFile(path.join(repo, 'mini-0.1.0.tgz.prov'), 'utf8'), 'p1');

  const changed = await packageChart(await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: mini\nversion: 0.1.0\n', 'values.yaml': 'b: 2\n' }));
  await rejectsWithCode(() => publishToRepository(repo, { fileName: changed.fileName, archive: changed.data, provenance: 'p2', bundle: 'b2' }), 'CHART_VERSION_EXISTS');
  assert.deepEqual(
    await Promise.all(['mini-0.1.0.tgz.prov', 'mini-0.1.0.tgz.sigstore.json'].map((f) => fs.readFile(path.join(repo, f), 'utf8'))),
    ['p1', 'b1'],
    'a refused version leaves the published provenance and bundle as they were',
  );
  assert.ok((await fs.readFile(path.join(repo, 'mini-0.1.0.tgz'))).equals(v1.data));
  await fs.copyFile(path.join(repo, 'mini-0.1.0.tgz'), path.join(repo, 'renamed-9.9.9.tgz'));
  await rejectsWithCode(() => indexRepository(repo), 'CHART_INVALID', 'whose file name is mini-0.1.0.tgz');
});
