/**
 * The chart repository directory as a campaign uses it: index.yaml read with a size cap, a chart
 * version withdrawn (out of the index, its files aside with why, not brought back by the next
 * publish), and a `.prov` replaced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { packageChart } from '../../src/helm/package';
import { findWithdrawn, indexRepository, MAX_INDEX_BYTES, publishToRepository, readRepositoryIndex, replaceProvenance, WITHDRAWN_DIR, withdrawFromRepository } from '../../src/helm/repository';
import { DEMO_DIR, rejectsWithCode, tempDir, writeChart } from './helpers';

test('an index.yaml over MAX_INDEX_BYTES is refused before it is parsed, by reading and by re-indexing', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'index.yaml');
  // Sparse: the size is what counts, not the contents.
  const handle = await fs.open(file, 'w');
  await handle.truncate(MAX_INDEX_BYTES + 1);
  await handle.close();
  await rejectsWithCode(() => readRepositoryIndex(dir), 'INPUT_TOO_LARGE', `is ${MAX_INDEX_BYTES + 1} bytes, over the ${MAX_INDEX_BYTES}-byte limit`);
  await rejectsWithCode(() => indexRepository(dir), 'INPUT_TOO_LARGE');
  // Under the limit it is read (and, not being YAML, refused as such).
  await fs.writeFile(file, 'entries: [unclosed\n');
  await rejectsWithCode(() => readRepositoryIndex(dir), 'CHART_INVALID', 'is not YAML');
});

test('a withdrawn chart leaves index.yaml with its files and a note, stays out when another chart is published, and a second withdrawal changes nothing', async () => {
  const dir = await tempDir();
  const demo = await packageChart(DEMO_DIR);
  await publishToRepository(dir, { fileName: demo.fileName, archive: demo.data, provenance: 'old prov', bundle: '{}' });
  assert.deepEqual((await readRepositoryIndex(dir)).map((e) => [e.name, e.version, e.fileName]), [['demo', '1.2.3', 'demo-1.2.3.tgz']]);

  const note = { digest: `sha256:${demo.sha256}`, reason: 'signed by a compromised key', campaign: 'key-campaign-x', key: 'k1' };
  assert.equal(await withdrawFromRepository(dir, demo.fileName, note), 'withdrawn');
  assert.deepEqual(await readRepositoryIndex(dir), []);
  assert.deepEqual((await fs.readdir(dir)).sort(), [WITHDRAWN_DIR, 'index.yaml']);
  assert.deepEqual((await fs.readdir(path.join(dir, WITHDRAWN_DIR))).sort(), ['demo-1.2.3.tgz', 'demo-1.2.3.tgz.prov', 'demo-1.2.3.tgz.quarantine.json', 'demo-1.2.3.tgz.sigstore.json']);
  assert.deepEqual(JSON.parse(await fs.readFile(path.join(dir, WITHDRAWN_DIR, 'demo-1.2.3.tgz.quarantine.json'), 'utf8')), note);
  assert.equal(await findWithdrawn(dir, demo.sha256), demo.fileName);

  const mini = await packageChart(await writeChart());
  await publishToRepository(dir, { fileName: mini.fileName, archive: mini.data });
  assert.deepEqual((await readRepositoryIndex(dir)).map((e) => e.name), ['mini'], 'the next publish re-indexes without the withdrawn chart');
  assert.equal(await withdrawFromRepository(dir, demo.fileName, note), 'already');
  assert.deepEqual((await readRepositoryIndex(dir)).map((e) => e.name), ['mini']);
  await rejectsWithCode(() => withdrawFromRepository(dir, '../demo-1.2.3.tgz', note), 'BAD_INPUT');
});

test('replaceProvenance writes the new .prov beside the archive and nothing else', async () => {
  const dir = await tempDir();
  const demo = await packageChart(DEMO_DIR);
  await publishToRepository(dir, { fileName: demo.fileName, archive: demo.data, provenance: 'old prov' });
  const before = await fs.readFile(path.join(dir, 'index.yaml'), 'utf8');
  await replaceProvenance(dir, demo.fileName, 'new prov');
  assert.equal(await fs.readFile(path.join(dir, `${demo.fileName}.prov`), 'utf8'), 'new prov');
  assert.equal(await fs.readFile(path.join(dir, 'index.yaml'), 'utf8'), before);
  assert.deepEqual((await fs.readdir(dir)).sort(), ['demo-1.2.3.tgz', 'demo-1.2.3.tgz.prov', 'index.yaml']);
  await rejectsWithCode(() => replaceProvenance(dir, 'sub/demo-1.2.3.tgz', 'x'), 'BAD_INPUT');
});
