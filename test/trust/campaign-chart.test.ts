/**
 * One chart item of a compromise campaign, against a real repository directory and real OpenPGP
 * keys: helm's own signed vector (test/vectors/helm) plays the release the compromised key signed,
 * a store's key made as a ceremony makes it is the active key. Re-signed once (a retry writes
 * nothing), a .prov by another key left alone, a release whose old .prov vouched for another sum
 * never signed (reported or quarantined as the store says), a quarantine done once, and a store
 * whose active key was revoked meanwhile signs nothing. No registry: the chart target has none.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { readChartArchive } from '../../src/helm/archive';
import { loadSigningKey, readKeyring } from '../../src/helm/pgp-key';
import { provenanceBody } from '../../src/helm/provenance';
import { publishToRepository, readRepositoryIndex } from '../../src/helm/repository';
import { verifyChart } from '../../src/helm/verify';
import { sha256Hex } from '../../src/oci/digest';
import { runChartItem } from '../../src/trust/campaign-chart';
import type { ItemWork } from '../../src/trust/campaign-item';
import type { CampaignChartTarget, CampaignSigningKey } from '../../src/trust/campaign-plan';
import { createKey } from '../../src/trust/create-key';
import { publishKey } from '../../src/trust/publish';
import { TrustStore } from '../../src/trust/store';
import { hasCode } from '../../src/errors';
import { DEMO_FILE, TEST_KEY_PASSPHRASE, vector, VECTORS } from '../helm/helpers';

const PASSWORD_ENV = 'COUNTERSIGN_TEST_CAMPAIGN_CHART_PASSWORD';
const deps = {
  storeFor: (): never => {
    throw new Error('this chart target publishes to no registry');
  },
  env: { [PASSWORD_ENV]: 'pw' },
};

describe('a chart item of a compromise campaign', () => {
  let dir: string;
  let active: CampaignSigningKey;
  let oldKeyring: Buffer;
  let compromised: string;
  let archive: Buffer;
  let digest: string;
  const location = () => ({ name: 'helm', publishDir: path.join(dir, 'public'), stateFile: path.join(dir, 'private', 'state.json') });

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-campaign-chart-'));
    const ceremony = 'key-ceremony-helm-2026-11-26T00:00:00Z';
    const created = await createKey({ kind: 'openpgp', backend: { type: 'file', keyDir: path.join(dir, 'private', 'keys'), passwordEnv: PASSWORD_ENV }, name: ceremony, userId: { name: 'Acme Charts' } }, deps.env);
    const { key } = await publishKey(location(), created, { ceremony, overlapMs: 1000 });
    const secret = await new TrustStore(location()).privateRef(key.id);
    active = { id: key.id, ref: secret.ref, passwordEnv: PASSWORD_ENV, publicKeyPem: '', fingerprint: key.fingerprint.toUpperCase(), trust: { publishDir: location().publishDir, keyId: key.id }, keyringPath: path.join(location().publishDir, key.file) };
    oldKeyring = await vector('keyring.gpg');
    compromised = (await readKeyring(oldKeyring))[0].getFingerprint().toUpperCase();
    archive = await vector(DEMO_FILE);
    digest = `sha256:${sha256Hex(archive)}`;
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  /** A repository holding helm's signed demo release, with `provenance` as its .prov (helm's own by default). */
  async function repository(name: string, provenance?: string): Promise<string> {
    const repo = path.join(dir, name);
    await publishToRepository(repo, { fileName: DEMO_FILE, archive, provenance: provenance ?? (await vector(`${DEMO_FILE}.prov`)).toString() });
    return repo;
  }

  function work(repo: string, action: 'resign' | 'quarantine', onVerifyFailure: 'quarantine' | 'report' = 'quarantine'): ItemWork & { chart: CampaignChartTarget } {
    const chart: CampaignChartTarget = { target: 'chart:demo', chart: 'demo', repositoryDir: repo, action };
    return {
      item: { id: `chart:demo@${digest}`, target: 'chart:demo', repository: repo, digest, action, found: ['registry'], runs: [] },
      chart,
      compromisedKeyPem: '',
      compromisedFingerprint: compromised,
      signingKey: active,
      onVerifyFailure,
      why: { reason: 'signed by compromised key k1: test', campaignId: 'key-campaign-helm-k1', keyId: 'k1' },
      record: {},
    };
  }

  const verifies = async (repo: string, keyring: Buffer) =>
    (await verifyChart({ archive, fileName: DEMO_FILE, provenance: await fs.readFile(path.join(repo, `${DEMO_FILE}.prov`)), keyring })).ok;

  it('re-signs with the active key once; a retry writes nothing; a .prov by another key is then left unchanged', async () => {
    const repo = await repository('resign');
    assert.equal(await verifies(repo, oldKeyring), true, 'before: the compromised key vouches for it');
    const done = await runChartItem(deps, work(repo, 'resign'));
    assert.equal(done.outcome, 'resigned', done.detail);
    assert.equal(done.signatureAdded, true);
    assert.equal(await verifies(repo, await fs.readFile(active.keyringPath!)), true);
    assert.equal(await verifies(repo, oldKeyring), false);
    const prov = await fs.readFile(path.join(repo, `${DEMO_FILE}.prov`), 'utf8');

    const again = await runChartItem(deps, work(repo, 'resign'));
    assert.deepEqual([again.outcome, again.signatureAdded], ['resigned', false]);
    assert.equal(await fs.readFile(path.join(repo, `${DEMO_FILE}.prov`), 'utf8'), prov, 'not signed again');
    const other = await runChartItem(deps, work(repo, 'quarantine'));
    assert.equal(other.outcome, 'unchanged', other.detail);
    assert.equal((await readRepositoryIndex(repo)).length, 1);
  });

  it("an old .prov that vouched for another sum is never signed: reported, or quarantined, as the store says", async () => {
    // The compromised key signs a .prov naming this file with another sum: the release's own record does not hold.
    const key = await loadSigningKey(path.join(VECTORS, 'test-key.asc'), TEST_KEY_PASSPHRASE);
    const body = provenanceBody(readChartArchive(archive).metadata, DEMO_FILE, 'f'.repeat(64));
    const forged = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text: body }), signingKeys: key, config: { preferredHashAlgorithm: openpgp.enums.hash.sha512 } });
    for (const [onVerifyFailure, outcome] of [['report', 'reported'], ['quarantine', 'quarantined']] as const) {
      const repo = await repository(`forged-${onVerifyFailure}`, forged);
      const done = await runChartItem(deps, work(repo, 'resign', onVerifyFailure));
      assert.equal(done.outcome, outcome, done.detail);
      assert.match(done.detail, new RegExp(`the release's checks failed again, so it was not signed.*the old \\.prov gives sha256:f{64} for ${DEMO_FILE.replace(/\./g, '\\.')}, not ${digest}`));
      // No .prov by the active key anywhere: the forged one stays where it was, or goes aside with the archive.
      const kept = outcome === 'reported' ? path.join(repo, `${DEMO_FILE}.prov`) : path.join(repo, '.quarantine', `${DEMO_FILE}.prov`);
      assert.equal(await fs.readFile(kept, 'utf8'), forged);
      assert.equal((await readRepositoryIndex(repo)).length, outcome === 'reported' ? 1 : 0);
    }
  });

  it('quarantines once: out of index.yaml, then found withdrawn', async () => {
    const repo = await repository('quarantine');
    const done = await runChartItem(deps, work(repo, 'quarantine'));
    assert.equal(done.outcome, 'quarantined', done.detail);
    assert.deepEqual(await readRepositoryIndex(repo), []);
    const again = await runChartItem(deps, work(repo, 'quarantine'));
    assert.equal(again.outcome, 'quarantined');
    assert.match(again.detail, /was taken out of .* already/);
  });

  it('signs nothing once the active key is revoked too', async () => {
    const repo = await repository('revoked');
    await new TrustStore(location()).setStatus(active.id, 'revoked', 'test: this one leaked as well');
    await assert.rejects(runChartItem(deps, work(repo, 'resign')), (e: Error) => hasCode(e, 'KEY_REVOKED'));
    assert.equal(await verifies(repo, oldKeyring), true, 'the .prov is as it was');
  });
});
