/**
 * Key ceremonies on a real dev server: M of N custodians through the approval gate, refusals,
 * expiry, and the three kinds of key (cosign file, KMS through local-kms, OpenPGP for Helm).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { signImageAs } from '../../src/cosign/verify-image';
import { hasCode } from '../../src/errors';
import { readKeyring } from '../../src/helm/pgp-key';
import { getChartReleaseStatus } from '../../src/client/chart-releases';
import { verifyChart } from '../../src/helm/verify';
import { runCli } from '../support/cli';
import { KmsSigner } from '../../src/keys/kms-signer';
import { loadSigner } from '../../src/keys/load-signer';
import { keyFingerprint } from '../../src/keys/public-key';
import { buildImageFromDirectory } from '../../src/oci/build';
import { requireTool } from '../../src/stack/tools';
import { keyWorkflowStatus, rotationIdFor, signCeremonyRequest, startRotation, trustConfig, waitForCeremonyAuthorization } from '../../src/client/trust';
import { countingClient } from '../support/counting-client';
import type { CeremonyStatus, RotationStatus } from '../../workflows/key-ceremony-messages';
import { readIndex } from '../../src/trust/index-file';
import { TrustStore } from '../../src/trust/store';
import { copyDir, TEST_PASSWORD, useTestEnv } from '../support/env';
import { localKmsPath, startLocalKms } from '../support/local-kms';
import type { KmsTestServer } from '../support/kms-server';
import { join, requestSigner, rotationStartTime, runCeremony, startCeremony, trustTestConfig, until } from '../trust/support';
import { runCosign } from '../vectors/cosign-bundle/produce';

const HELM_CHART = path.resolve(__dirname, '../vectors/helm/demo');
const HELLO_IMAGE = path.resolve(__dirname, '../fixtures/hello-image');

describe('key ceremony', () => {
  const env = useTestEnv();

  /**
   * Adds a chart target `<trust>-charts` to the worker's configuration that signs with the trust
   * store's active OpenPGP key (the store as trustTestConfig wrote it); returns the CLI arguments
   * that release a chart to it as ci.
   */
  async function chartTargetSigningWith(trust: string, repositoryDir: string): Promise<(chart: string) => string[]> {
    const written = YAML.parse(await fs.readFile(path.join(env.dir, `countersign-${trust}.yaml`), 'utf8')) as { trust: Record<string, unknown> };
    env.chartWith({ sources: [HELM_CHART, env.dir], signing: { trust }, publish: { repositoryDir } }, `${trust}-charts`, { trust: { [trust]: written.trust[trust] } });
    return (chart) => ['helm', 'release', chart, '--target', `${trust}-charts`, '--as', 'ci', '--key', path.join(env.keysDir, 'ci.key'), '--json'];
  }

  it('needs M distinct custodians; refuses non-custodians, the initiator and a second vote; then publishes the key', async () => {
    const config = trustTestConfig(env, {});
    const trust = trustConfig(config, 'platform');
    await assert.rejects(signCeremonyRequest(config, trust, 'bob', { signer: await requestSigner(env, 'bob'), scope: 'rotation:x' }), (e) => hasCode(e, 'BAD_INPUT'), 'only governance starts a ceremony');
    await assert.rejects(
      signCeremonyRequest(config, trust, 'erin', { signer: await requestSigner(env, 'dave'), scope: 'rotation:x' }),
      (e: Error) => hasCode(e, 'KEY_INVALID') && /the key given to sign the ceremony request .* is not erin's roster key/.test(e.message),
      "naming a governance member is not enough: it takes their key",
    );
    const started = await startCeremony(env, config, 'platform', 'alice'); // alice is governance and a custodian: SoD excludes her
    const { ceremonyId } = started;
    // What keys ceremony waits with: the rotation's update, then the ceremony's; no status query.
    const asking = await countingClient(env.stack.temporal.address);
    const answered = await waitForCeremonyAuthorization(asking.client, started).finally(() => asking.close());
    assert.equal(answered.state, 'AWAITING_CUSTODIANS');
    assert.equal(answered.approval.state, 'OPEN');
    assert.deepEqual(asking.calls, ['UpdateWorkflowExecution', 'UpdateWorkflowExecution'], 'two answers, no status read');
    // Neither update reads input: a store, custodians and a threshold a caller passes change nothing (dave is refused below, and one vote is not quorum).
    const forged = { trust: 'mallory', custodians: { members: ['dave'], required: 1 }, approval: { groups: [{ name: 'custodians', eligible: ['dave'], required: 1 }] } };
    const ceremonyAgain = (await env.client.workflow.getHandle(ceremonyId).executeUpdate('waitForAnswer', { args: [forged] })) as CeremonyStatus;
    const rotationAgain = (await env.client.workflow.getHandle(started.rotationId).executeUpdate('waitForCeremony', { args: [forged] })) as RotationStatus;
    assert.deepEqual([ceremonyAgain.trust, rotationAgain.ceremonyId, rotationAgain.state], ['platform', ceremonyId, 'CEREMONY']);
    assert.deepEqual(ceremonyAgain.approval.groups.map((g) => [g.name, g.required, g.eligible]), [['custodians', 2, ['bob', 'carol']]], 'the initiator, alice, is not eligible');

    await assert.rejects(join(env, ceremonyId, 'dave'), (e: Error) => hasCode(e, 'APPROVAL_REFUSED') && /dave is not a custodian of store platform$/.test(e.message));
    await assert.rejects(join(env, ceremonyId, 'alice'), (e: Error) => hasCode(e, 'APPROVAL_REFUSED') && /alice may not approve .*: started this key ceremony/.test(e.message));
    await join(env, ceremonyId, 'bob');
    await assert.rejects(join(env, ceremonyId, 'bob'), (e: Error) => hasCode(e, 'APPROVAL_REFUSED') && /already voted/.test(e.message));
    const waiting = await keyWorkflowStatus(env.client, ceremonyId);
    assert.equal(waiting.type === 'ceremony' && waiting.status.state, 'AWAITING_CUSTODIANS');
    assert.deepEqual((await readIndex(trust.publishDir)).keys, [], 'no key before quorum');

    await join(env, ceremonyId, 'carol');
    const done = await until(() => keyWorkflowStatus(env.client, ceremonyId), (s) => s.type === 'ceremony' && s.status.state === 'PUBLISHED');
    assert.equal(done.type, 'ceremony');
    const key = (await readIndex(trust.publishDir)).keys[0];
    assert.equal(key.status, 'active');
    assert.match(key.file, /^pubkey-\d{4}-\d{2}-\d{2}\.pem$/);
    assert.equal(keyFingerprint(await fs.readFile(path.join(trust.publishDir, key.file), 'utf8')), key.fingerprint);
    const secret = await new TrustStore(trust).privateRef(key.id);
    assert.ok(secret.ref.endsWith('.key') && !secret.ref.startsWith(trust.publishDir), 'the private key stays out of the published directory');
  });

  it('a forged request ends the ceremony REFUSED before any custodian is asked, and makes no key', async () => {
    const config = trustTestConfig(env, {}, 'forged');
    const at = rotationStartTime();
    const { request } = await signCeremonyRequest(config, trustConfig(config, 'forged'), 'erin', { signer: await requestSigner(env, 'erin'), scope: `rotation:${rotationIdFor('forged', at)}` });
    // Someone with access to Temporal but not to erin's key re-signs her request with another key.
    const dave = await requestSigner(env, 'dave');
    const forged = { statement: request.statement, signature: (await dave.sign(Buffer.from(request.statement, 'utf8'))).toString('base64') };
    const { rotationId, ceremonyId } = await startRotation(env.client, { trust: 'forged', request: forged }, at);
    const answer = await waitForCeremonyAuthorization(env.client, { rotationId, ceremonyId });
    assert.equal(answer.state, 'REFUSED', 'the ceremony answers with the refusal');
    assert.match(answer.error ?? '', /^REQUEST_BAD_SIGNATURE: /);
    const done = await until(() => keyWorkflowStatus(env.client, rotationId), (s) => s.type === 'rotation' && s.status.state !== 'CEREMONY');
    assert.equal(done.status.state, 'REFUSED');
    // Both runs closed: the server refuses updates to them as "not found"; the answer is still the refusal, not an unknown id.
    await env.client.workflow.getHandle(rotationId).result();
    assert.equal((await waitForCeremonyAuthorization(env.client, { rotationId, ceremonyId })).state, 'REFUSED');
    assert.match(done.status.error ?? '', /^REQUEST_BAD_SIGNATURE: the ceremony request does not verify with erin's roster key in the worker's configuration/);
    const ceremony = await keyWorkflowStatus(env.client, ceremonyId);
    assert.ok(ceremony.type === 'ceremony');
    assert.equal(ceremony.status.approval.votes.length, 0);
    assert.equal(ceremony.status.planDigest, undefined, 'no plan was resolved');
    assert.deepEqual((await readIndex(trustConfig(config, 'forged').publishDir)).keys, []);
  });

  it("countersign keys ceremony signs the request with --key; the worker answers it against its own configuration; a key that is not the initiator's is refused before anything starts", async () => {
    trustTestConfig(env, {}, 'cli');
    const cliEnv = { TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_CONFIG: path.join(env.dir, 'countersign-cli.yaml'), COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD };
    const wrong = await runCli(['keys', 'ceremony', '--trust', 'cli', '--as', 'erin', '--key', path.join(env.keysDir, 'dave.key')], cliEnv);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /KEY_INVALID: the key given to sign the ceremony request .* is not erin's roster key/);
    const noKey = await runCli(['keys', 'ceremony', '--trust', 'cli', '--as', 'erin'], cliEnv);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /--key is required/);
    const started = await runCli(['keys', 'ceremony', '--trust', 'cli', '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), '--json'], cliEnv);
    assert.equal(started.code, 0, started.stderr);
    const { ceremonyId, state, planDigest } = JSON.parse(started.stdout) as { ceremonyId: string; state: string; planDigest: string };
    assert.equal(state, 'AWAITING_CUSTODIANS');
    const open = await until(() => keyWorkflowStatus(env.client, ceremonyId), (s) => s.type === 'ceremony' && s.status.approval.state === 'OPEN');
    assert.ok(open.type === 'ceremony');
    assert.equal(open.status.initiator, 'erin');
    assert.equal(open.status.planDigest, planDigest, 'the worker resolved the plan the initiator signed');
    assert.deepEqual(open.status.approval.groups.map((g) => [g.name, g.required, g.eligible]), [['custodians', 2, ['alice', 'bob', 'carol']]], "the custodians are the worker's");

    // The caller's copy of the configuration says other custodians: the worker's plan differs, and it refuses.
    trustTestConfig(env, {}, 'cli-copy');
    const edited = (await fs.readFile(path.join(env.dir, 'countersign-cli-copy.yaml'), 'utf8')).replace(/- carol$/m, '- dave');
    const otherCopy = path.join(env.dir, 'countersign-cli-edited.yaml');
    await fs.writeFile(otherCopy, edited);
    const refused = await runCli(['keys', 'ceremony', '--trust', 'cli-copy', '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), '--config', otherCopy], cliEnv);
    assert.equal(refused.code, 7, refused.stderr);
    assert.match(refused.stderr, /the worker refused the ceremony request for key-ceremony-cli-copy-.*: REQUEST_INVALID: the request is for plan sha256:[0-9a-f]{64}, but the worker's configuration of trust store cli-copy gives plan /);
    assert.deepEqual((await readIndex(trustConfig(env.config, 'cli-copy').publishDir)).keys, []);
  });

  it('refuses a config with fewer than 2 custodians required', () => {
    assert.throws(() => trustTestConfig(env, { custodians: { members: ['alice', 'bob'], required: 1 } }, 'solo'), (e: Error) => hasCode(e, 'BAD_CONFIG') && /at least 2 custodians/.test(e.message));
  });

  it('expires at the deadline with too few custodians, and makes no key', async () => {
    const config = trustTestConfig(env, {}, 'expiring');
    const trust = trustConfig(config, 'expiring');
    const { ceremonyId, rotationId } = await startCeremony(env, config, 'expiring', 'erin', { deadlineMs: 1500 });
    await until(() => keyWorkflowStatus(env.client, ceremonyId), (s) => s.type === 'ceremony' && s.status.approval.state === 'OPEN');
    await join(env, ceremonyId, 'bob');
    const done = await until(() => keyWorkflowStatus(env.client, rotationId), (s) => s.type === 'rotation' && s.status.state !== 'CEREMONY');
    assert.equal(done.status.state, 'EXPIRED');
    assert.deepEqual((await readIndex(trust.publishDir)).keys, []);
  });

  it('makes and publishes an OpenPGP key as keyring-YYYY-MM-DD-<FINGERPRINT>.gpg, which Helm can read', async () => {
    const config = trustTestConfig(env, { kind: 'openpgp', userId: { name: 'Acme Charts', email: 'charts@example.com' } }, 'helm');
    const { ceremony } = await runCeremony(env, config, 'helm');
    assert.equal(ceremony.state, 'PUBLISHED', ceremony.error);
    const key = ceremony.key!;
    assert.equal(key.file, `keyring-${key.created.slice(0, 10)}-${key.fingerprint}.gpg`);
    const keyring = await fs.readFile(path.join(trustConfig(config, 'helm').publishDir, key.file));
    const keys = await readKeyring(keyring);
    assert.equal(keys[0].getFingerprint().toUpperCase(), key.fingerprint);

    // A chart release signs with the ceremony's key, found through the trust store the worker's chart target names.
    const repoDir = path.join(env.dir, 'ceremony-charts');
    const release = await chartTargetSigningWith('helm', repoDir);
    const cliEnv = { TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_CONFIG: path.join(env.dir, 'countersign-helm.yaml'), COUNTERSIGN_HOME: path.join(env.dir, 'home'), COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD };
    const started = await runCli(release(HELM_CHART), cliEnv);
    assert.equal(started.code, 0, started.stderr);
    const { releaseId } = JSON.parse(started.stdout);
    await until(() => getChartReleaseStatus(env.client, releaseId), (s) => s.state === 'AWAITING_APPROVAL' || s.state === 'FAILED');
    await env.decideAs(releaseId, 'alice', 'approve');
    const done = await until(() => getChartReleaseStatus(env.client, releaseId), (s) => s.state === 'RELEASED' || s.state === 'FAILED', 60_000);
    assert.equal(done.state, 'RELEASED', done.error);
    const tgz = (await fs.readdir(repoDir)).find((f) => f.endsWith('.tgz'))!;
    const report = await verifyChart({ archive: await fs.readFile(path.join(repoDir, tgz)), fileName: tgz, provenance: await fs.readFile(path.join(repoDir, `${tgz}.prov`)), keyring });
    assert.equal(report.ok, true, JSON.stringify(report.checks));

    // Revoked after the next release signed its .prov but before approval: that release publishes nothing.
    const nextChart = await copyDir(HELM_CHART, path.join(env.dir, 'chart-next'));
    const chartYaml = path.join(nextChart, 'Chart.yaml');
    await fs.writeFile(chartYaml, (await fs.readFile(chartYaml, 'utf8')).replace(/^version: .*$/m, 'version: 9.9.9'));
    const next = await runCli(release(nextChart), cliEnv);
    assert.equal(next.code, 0, next.stderr);
    const nextId = (JSON.parse(next.stdout) as { releaseId: string }).releaseId;
    await until(() => getChartReleaseStatus(env.client, nextId), (s) => s.state === 'AWAITING_APPROVAL' || s.state === 'FAILED');
    const revoked = await runCli(['keys', 'revoke', key.id, '--trust', 'helm', '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), '--reason', 'test: helm key leaked', '--json'], cliEnv);
    assert.equal(revoked.code, 0, revoked.stderr);
    // What the key signed: the published release; what is pinned to it and will be refused: the waiting one.
    const listing = JSON.parse(revoked.stdout) as { signed: Array<{ promotionId: string; signature: string }>; inFlight: Array<{ promotionId: string }> };
    assert.deepEqual(listing.signed.map((p) => [p.promotionId, p.signature]), [[releaseId, 'written']]);
    assert.deepEqual(listing.inFlight.map((p) => p.promotionId), [nextId]);
    await env.decideAs(nextId, 'alice', 'approve');
    const refused = await until(() => getChartReleaseStatus(env.client, nextId), (s) => s.state === 'RELEASED' || s.state === 'FAILED', 60_000);
    assert.equal(refused.state, 'FAILED');
    assert.match(refused.error ?? '', new RegExp(`KEY_REVOKED: key ${key.id} was revoked at .*refusing to sign`));
    assert.deepEqual((await fs.readdir(repoDir)).filter((f) => f.includes('9.9.9')), [], 'nothing of the refused release was published');
    // A release started after the revocation finds no key to sign with, and starts nothing.
    const later = await runCli(release(nextChart).filter((a) => a !== '--json'), cliEnv);
    assert.notEqual(later.code, 0);
    assert.match(later.stderr, /TRUST_NO_ACTIVE_KEY: no active openpgp key in .*: run a key ceremony/);
  });

  it('retires a superseded OpenPGP key only once no chart release signed with it is still running', async () => {
    const config = trustTestConfig(env, { kind: 'openpgp', userId: { name: 'Acme Charts', email: 'charts@example.com' } }, 'helm-rotate');
    const first = await runCeremony(env, config, 'helm-rotate');
    assert.equal(first.ceremony.state, 'PUBLISHED', first.ceremony.error);
    const oldKey = first.ceremony.key!;
    const release = await chartTargetSigningWith('helm-rotate', path.join(env.dir, 'rotate-charts'));
    const cliEnv = { TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD };
    const started = await runCli(release(HELM_CHART), cliEnv);
    assert.equal(started.code, 0, started.stderr);
    const { releaseId } = JSON.parse(started.stdout) as { releaseId: string };
    await until(() => getChartReleaseStatus(env.client, releaseId), (s) => s.state === 'AWAITING_APPROVAL');

    // The next ceremony supersedes the key; its 2 s overlap passes, but the release still holds it.
    const second = await runCeremony(env, config, 'helm-rotate');
    assert.equal(second.ceremony.state, 'PUBLISHED', second.ceremony.error);
    const waiting = await until(() => keyWorkflowStatus(env.client, second.rotationId), (s) => s.type === 'rotation' && s.status.retiring[0]?.inFlight === 1);
    assert.ok(waiting.type === 'rotation' && waiting.status.state === 'RETIRING');
    assert.equal((await readIndex(trustConfig(config, 'helm-rotate').publishDir)).keys.find((k) => k.id === oldKey.id)?.status, 'retiring');

    await env.decideAs(releaseId, 'alice', 'approve');
    const released = await until(() => getChartReleaseStatus(env.client, releaseId), (s) => s.state === 'RELEASED' || s.state === 'FAILED', 60_000);
    assert.equal(released.state, 'RELEASED', released.error);
    const done = await until(() => keyWorkflowStatus(env.client, second.rotationId), (s) => s.type === 'rotation' && s.status.state === 'DONE');
    assert.ok(done.type === 'rotation' && done.status.retiring[0].retiredAt);
    assert.equal((await readIndex(trustConfig(config, 'helm-rotate').publishDir)).keys.find((k) => k.id === oldKey.id)?.status, 'retired');
  });

  describe('with a KMS key', { skip: localKmsPath() ? false : 'local-kms not installed (bash scripts/toolchain.sh local-kms)' }, () => {
    let kms: KmsTestServer;
    before(async () => {
      kms = await startLocalKms();
      Object.assign(env.workerEnv, kms.env);
    });
    after(() => kms?.close());

    it('creates an ECC_NIST_P256 key and alias in KMS and publishes its public key; stock cosign verifies a KMS-signed image with the published pem', async () => {
      const config = trustTestConfig(env, { kms: { endpoint: kms.address, aliasPrefix: 'countersign-test' } }, 'kms');
      const { ceremony } = await runCeremony(env, config, 'kms');
      assert.equal(ceremony.state, 'PUBLISHED', ceremony.error);
      const trust = trustConfig(config, 'kms');
      const secret = await new TrustStore(trust).privateRef(ceremony.key!.id);
      assert.match(secret.ref, /^awskms:\/\/.+\/alias\/countersign-test-key-ceremony-kms-/);
      const published = path.join(trust.publishDir, ceremony.key!.file);
      assert.equal(keyFingerprint(await fs.readFile(published, 'utf8')), ceremony.key!.fingerprint);

      // The key signs through KMS by the private reference the ceremony recorded; stock cosign
      // accepts the signature with the published pem a customer downloads, and no other pem.
      const signer = await loadSigner(secret.ref, undefined, kms.env);
      assert.ok(signer instanceof KmsSigner);
      const image = await buildImageFromDirectory(HELLO_IMAGE);
      const repo = 'apps/kms-ceremony';
      for (const blob of [...image.layers, image.config]) await env.store.putBlob(repo, blob);
      await env.store.putManifest(repo, image.digest, image.manifest.data, image.manifest.descriptor.mediaType);
      assert.equal((await signImageAs('legacy', env.store, repo, image.digest, signer)).added, true);

      const cosign = requireTool('cosign');
      const ref = `${env.stack.registry.address}/${repo}@${image.digest}`;
      const verify = (pem: string) => runCosign(cosign, ['verify', '--key', pem, '--insecure-ignore-tlog=true', '--allow-http-registry', ref], env.dir);
      const ok = await verify(published);
      assert.equal(ok.code, 0, ok.stderr);
      const other = await verify(path.join(env.keysDir, 'platform.pub'));
      assert.notEqual(other.code, 0, 'another key must not verify');
      assert.match(other.stderr, /no matching signatures|invalid signature/i);
    });
  });
});
