/**
 * Helm inputs from outside within limits: a chart manifest that is not one, an oversized `.prov`,
 * an oversized keyring or one with too many keys. Each refusal has a code and the numbers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HELM_MEDIA_TYPE, pullChart, pushChart } from '../../src/helm/oci';
import { DEFAULT_KEYRING_MAX_BYTES, DEFAULT_KEYRING_MAX_KEYS, readKeyring } from '../../src/helm/pgp-key';
import { DEFAULT_PROVENANCE_MAX_BYTES, parseProvenance } from '../../src/helm/provenance';
import { digestOf } from '../../src/oci/digest';
import { MEDIA_TYPE } from '../../src/oci/types';
import { MemoryStore } from '../support/memory-store';
import { DEMO_FILE, rejectsWithCode, vector } from './helpers';

const CREATED = '2026-01-01T00:00:00Z';

test('pulling a chart whose manifest is not JSON, or has no layers list, is MANIFEST_INVALID (not a SyntaxError/TypeError)', async () => {
  const store = new MemoryStore();
  for (const body of ['<html>not a manifest</html>', JSON.stringify({ schemaVersion: 2, config: { mediaType: HELM_MEDIA_TYPE.config, digest: digestOf(Buffer.from('{}')), size: 2 } })]) {
    await store.tagRaw('charts/demo', '1.2.3', body, MEDIA_TYPE.imageManifest);
    await rejectsWithCode(() => pullChart(store, 'charts/demo', '1.2.3'), 'MANIFEST_INVALID');
  }
});

test("a chart layer declaring more than Helm's chart limit is refused before it is fetched", async () => {
  const store = new MemoryStore();
  const archive = await vector(DEMO_FILE);
  const pushed = await pushChart(store, 'charts', { fileName: DEMO_FILE, archive, created: CREATED });
  const manifest = JSON.parse((await store.getManifest('charts/demo', pushed.digest))!.data.toString());
  manifest.layers[0].size = 200 * 1024 * 1024;
  await store.tagRaw('charts/demo', '1.2.3', JSON.stringify(manifest), MEDIA_TYPE.imageManifest);
  await rejectsWithCode(() => pullChart(store, 'charts/demo', '1.2.3'), 'CHART_INVALID', /declares 209715200 bytes, over Helm's 104857600/);
});

test('a .prov over the limit is refused before OpenPGP parses it', async () => {
  const prov = (await vector(`${DEMO_FILE}.prov`)).toString();
  assert.equal((await parseProvenance(prov)).files[DEMO_FILE]?.startsWith('sha256:'), true);
  const padded = prov.replace('\n...\n', `\n${'#'.repeat(DEFAULT_PROVENANCE_MAX_BYTES)}\n...\n`);
  await rejectsWithCode(() => parseProvenance(padded, 'demo.prov'), 'INPUT_TOO_LARGE', new RegExp(`demo.prov is \\d+ bytes, over the limit of ${DEFAULT_PROVENANCE_MAX_BYTES}`));
});

test('a keyring over the size limit, or with more keys than are read, is INPUT_TOO_LARGE', async () => {
  const keyring = await vector('keyring.gpg');
  assert.equal((await readKeyring(keyring)).length, 1);
  const many = Buffer.concat(Array.from({ length: DEFAULT_KEYRING_MAX_KEYS + 1 }, () => keyring));
  await rejectsWithCode(() => readKeyring(many, 'many.gpg'), 'INPUT_TOO_LARGE', /many.gpg holds 257 keys, more than the 256 read/);
  const huge = Buffer.concat([keyring, Buffer.alloc(DEFAULT_KEYRING_MAX_BYTES)]);
  await rejectsWithCode(() => readKeyring(huge, 'huge.gpg'), 'INPUT_TOO_LARGE', new RegExp(`huge.gpg is ${huge.length} bytes, over the limit of ${DEFAULT_KEYRING_MAX_BYTES}`));
});
