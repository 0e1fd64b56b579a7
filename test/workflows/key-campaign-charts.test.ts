/**
 * A compromise campaign over an OpenPGP (chart signing) key on a real dev server and registry,
 * with stock helm as the judge: the store's first key signs two chart releases, each published to
 * a repository directory and to OCI; the next ceremony supersedes it; it is revoked; the campaign
 * finds both (in Temporal and in the repositories' .prov files), and once approved re-signs the
 * `resign` chart target's release (helm verify and helm pull --verify pass with the new key's
 * keyring and fail with the old one) and quarantines the other (gone from index.yaml and from its
 * OCI tag, kept aside with why). Whoever holds the stolen key and can push to the registry swaps
 * one release's OCI tag for a chart of their own with a .prov by that key: it is not signed. A
 * campaign run again changes nothing.
 *
 * Three more chart targets publish to OCI only (no repository directory, so no index.yaml names a
 * version): the campaign takes each release's chart name, version and OCI namespace from its run's
 * sealed plan, re-signs one (a new manifest under the same tag; helm pull --verify passes with the
 * new keyring, fails with the old), quarantines another, and reports the third, whose tag the
 * thief swapped for their own chart: it is never signed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { getChartReleaseStatus } from '../../src/client/chart-releases';
import { getCampaignStatus, requestCampaign, signCampaignRequest, waitForCampaign, waitForCampaignPlan } from '../../src/client/campaign';
import { trustConfig } from '../../src/client/trust';
import { campaignWorkflowId } from '../../src/requests/campaign-request';
import type { CampaignStatus } from '../../workflows/key-campaign-messages';
import { readRepositoryIndex } from '../../src/helm/repository';
import type { TrustKey } from '../../src/trust/index-file';
import { noticeFor } from '../../src/trust/quarantine';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { COSIGN, HELMS, helmVerify, run } from '../support/chart-tools';
import { runCli } from '../support/cli';
import { countingClient } from '../support/counting-client';
import { copyDir, PLATFORM_PASSWORD_ENV, TEST_PASSWORD, useTestEnv } from '../support/env';
import { chartArtifact } from '../../src/helm/oci';
import { packageChart } from '../../src/helm/package';
import { loadSigningKey } from '../../src/helm/pgp-key';
import { signChart } from '../../src/helm/provenance';
import { TrustStore } from '../../src/trust/store';
import { requestSigner, runCeremony, trustTestConfig, until } from '../trust/support';

const HELM_CHART = path.resolve(__dirname, '../vectors/helm/demo');
const helm = HELMS[0].bin;

describe('a compromise campaign over a chart signing key', { skip: helm ? false : 'helm not installed (bash scripts/toolchain.sh helm)' }, () => {
  const env = useTestEnv();

  it('re-signs one chart release with the active key and quarantines the other; helm agrees afterwards', { timeout: 5 * 60_000 }, async () => {
    const trust = 'chartcamp';
    const config = trustTestConfig(env, {
      kind: 'openpgp',
      userId: { name: 'Acme Charts', email: 'charts@example.com' },
      overlap: '1h',
      campaign: { action: 'quarantine', perMinute: 10, approvers: { members: ['bob', 'carol'], required: 1, deadline: '1h' } },
    }, trust);
    const cliEnv = { TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_CONFIG: path.join(env.dir, `countersign-${trust}.yaml`), COUNTERSIGN_HOME: path.join(env.dir, 'home'), COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD };
    const first = await runCeremony(env, config, trust);
    assert.equal(first.ceremony.state, 'PUBLISHED', first.ceremony.error);
    const compromised: TrustKey = first.ceremony.key!;

    // Two chart targets signing with the store, each with a repository directory and an OCI namespace of its own.
    const written = YAML.parse(await fs.readFile(path.join(env.dir, `countersign-${trust}.yaml`), 'utf8')) as { trust: Record<string, unknown> };
    const registry = env.stack.registry.address;
    const cosignPub = path.join(env.keysDir, 'platform.pub');
    const repo = (name: string) => path.join(env.dir, `${name}-repo`);
    for (const name of ['cc-resign', 'cc-quarantine', 'cc-swap', 'oci-quarantine', 'oci-resign', 'oci-swap']) {
      const publish = name.startsWith('oci-') ? { oci: `${registry}/${name}` } : { repositoryDir: repo(name), oci: `${registry}/${name}` };
      // oci-resign also cosign-signs its OCI manifest, as customers verifying with `cosign verify --key` expect.
      const cosign = name === 'oci-resign' ? { cosign: { key: path.join(env.keysDir, 'platform.key'), publicKey: cosignPub, passwordEnv: PLATFORM_PASSWORD_ENV } } : {};
      env.chartWith({ sources: [HELM_CHART, env.dir], signing: { trust }, publish, ...cosign }, name, { trust: { [trust]: written.trust[trust] } });
      const started = await runCli(['helm', 'release', HELM_CHART, '--target', name, '--as', 'ci', '--key', path.join(env.keysDir, 'ci.key'), '--json'], cliEnv);
      assert.equal(started.code, 0, started.stderr);
      const { releaseId } = JSON.parse(started.stdout) as { releaseId: string };
      await until(() => getChartReleaseStatus(env.client, releaseId), (s) => s.state === 'AWAITING_APPROVAL' || s.state === 'FAILED');
      await env.decideAs(releaseId, 'alice', 'approve');
      const done = await until(() => getChartReleaseStatus(env.client, releaseId), (s) => s.state === 'RELEASED' || s.state === 'FAILED', 60_000);
      assert.equal(done.state, 'RELEASED', done.error);
    }
    // The store's campaign re-signs cc-resign's releases and quarantines the rest (config: campaign.targets names chart targets too).
    env.config.trust[trust].campaign.targets['cc-resign'] = 'resign';
    env.config.trust[trust].campaign.targets['cc-swap'] = 'resign';
    env.config.trust[trust].campaign.targets['oci-resign'] = 'resign';
    env.config.trust[trust].campaign.targets['oci-swap'] = 'resign';
    const [entry] = await readRepositoryIndex(repo('cc-resign'));
    const digest = `sha256:${entry.digest}`;

    const second = await runCeremony(env, config, trust);
    assert.equal(second.ceremony.state, 'PUBLISHED', second.ceremony.error);
    const next = second.ceremony.key!;
    const publishDir = trustConfig(config, trust).publishDir;
    const keyrings = path.join(env.dir, 'keyrings');
    await fs.mkdir(keyrings, { recursive: true });
    // The old keyring is copied before the revocation lays its tombstone: a customer who kept it.
    const oldKeyring = path.join(keyrings, 'old.gpg');
    await fs.copyFile(path.join(publishDir, compromised.file), oldKeyring);
    const newKeyring = path.join(publishDir, next.file);

    // Whoever stole the key and can push to the registry puts another demo 1.2.3 under cc-swap's OCI tag, with a
    // .prov the stolen key signed, hoping the campaign signs it with the new key.
    const evil = await copyDir(HELM_CHART, path.join(env.dir, 'evil-chart'));
    await fs.writeFile(path.join(evil, 'values.yaml'), 'image: attacker.example/miner\n');
    const evilPkg = await packageChart(evil);
    const stolen = await loadSigningKey((await new TrustStore(trustConfig(config, trust)).privateRef(compromised.id)).ref, TEST_PASSWORD);
    const evilArtifact = chartArtifact(evilPkg.metadata, evilPkg.data, await signChart(evilPkg.data, { fileName: evilPkg.fileName, key: stolen }), new Date().toISOString());
    for (const swapped of ['cc-swap/demo', 'oci-swap/demo']) {
      for (const blob of [evilArtifact.config, ...evilArtifact.layers]) await env.store.putBlob(swapped, blob);
      await env.store.putManifest(swapped, '1.2.3', evilArtifact.manifest.data, evilArtifact.manifest.descriptor.mediaType);
    }

    const revoked = await runCli(['keys', 'revoke', compromised.id, '--trust', trust, '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), '--reason', 'test: chart key leaked'], cliEnv);
    assert.equal(revoked.code, 0, revoked.stderr);

    const erin = await requestSigner(env, 'erin');
    const { request } = await signCampaignRequest(env.config, env.config.trust[trust], 'erin', compromised.id, 'test: chart key leaked', { signer: erin });
    const campaignId = await requestCampaign(env.client, request);
    assert.equal(campaignId, campaignWorkflowId(trust, compromised.id));
    // The plan is the workflow's answer to the waitForPlan update, as `keys campaign` waits for it: no status query.
    const asking = await countingClient(env.stack.temporal.address);
    const planned = await waitForCampaignPlan(asking.client, campaignId).finally(() => asking.close());
    assert.ok(asking.calls.includes('UpdateWorkflowExecution') && !asking.calls.includes('QueryWorkflow'), asking.calls.join(' '));
    // The update reads no input: items, actions and a signing key a caller passes to it change nothing.
    const forged = { items: [{ target: 'chart:cc-quarantine', action: 'resign' }], action: 'resign', signingKey: { id: 'attacker' } };
    const answered = (await env.client.workflow.getHandle(campaignId).executeUpdate('waitForPlan', { args: [forged] })) as CampaignStatus;
    assert.deepEqual([answered.items, answered.signingKey], [planned.items, planned.signingKey]);
    assert.equal(planned.state, 'AWAITING_APPROVAL', planned.error);
    assert.equal(planned.signingKey?.id, next.id);
    assert.deepEqual(
      planned.items.map((i) => [i.target, i.digest, i.repository, i.action, i.found]),
      [
        ['chart:cc-quarantine', digest, repo('cc-quarantine'), 'quarantine', ['temporal', 'registry']],
        ['chart:cc-resign', digest, repo('cc-resign'), 'resign', ['temporal', 'registry']],
        ['chart:cc-swap', digest, repo('cc-swap'), 'resign', ['temporal', 'registry']],
        ['chart:oci-quarantine', digest, `${registry}/oci-quarantine`, 'quarantine', ['temporal']],
        ['chart:oci-resign', digest, `${registry}/oci-resign`, 'resign', ['temporal']],
        ['chart:oci-swap', digest, `${registry}/oci-swap`, 'resign', ['temporal']],
      ],
    );
    // The OCI-only items carry the chart each release's sealed plan named (approvers approve it with the rest).
    for (const name of ['oci-quarantine', 'oci-resign', 'oci-swap']) {
      const item = planned.items.find((i) => i.target === `chart:${name}`)!;
      assert.deepEqual([item.release?.name, item.release?.version, item.release?.oci, item.release?.releaseId], ['demo', '1.2.3', `${registry}/${name}`, item.runs[0]]);
    }
    // Nothing changed before approval.
    assert.equal((await helmVerify(helm!, oldKeyring, path.join(repo('cc-resign'), entry.fileName), path.join(env.dir, 'helm-home'))).code, 0);

    await env.decideAs(campaignId, 'bob', 'approve');
    const done = await waitForCampaign(env.client, campaignId, () => false, 120_000);
    assert.equal(done.state, 'DONE', done.error);
    const outcome = Object.fromEntries(done.results.map((r) => [r.id.split('@')[0], r]));
    assert.equal(outcome['chart:cc-resign'].outcome, 'resigned', outcome['chart:cc-resign'].detail);
    assert.equal(outcome['chart:cc-resign'].signatureAdded, true);
    assert.match(outcome['chart:cc-resign'].detail, new RegExp(`demo-1\\.2\\.3\\.tgz\\.prov signed with ${next.id} .* in ${repo('cc-resign')}, ${registry}/cc-resign/demo:1\\.2\\.3`));
    assert.equal(outcome['chart:cc-quarantine'].outcome, 'quarantined', outcome['chart:cc-quarantine'].detail);
    assert.match(outcome['chart:cc-quarantine'].detail, /taken out of .*index\.yaml \(moved to \.quarantine\): signed by compromised key/);
    assert.deepEqual(done.counts, { resigned: 3, quarantined: 2, reported: 1, unchanged: 0, failed: 0 }, JSON.stringify(done.results));
    assert.equal(outcome['chart:oci-resign'].signatureAdded, true);
    assert.match(outcome['chart:oci-resign'].detail, new RegExp(`demo-1\\.2\\.3\\.tgz\\.prov signed with ${next.id} .* in ${registry}/oci-resign/demo:1\\.2\\.3; ${registry}/oci-resign/demo@sha256:[0-9a-f]{64} cosign-signed with key [0-9a-f]{16}$`));
    assert.equal(outcome['chart:oci-quarantine'].outcome, 'quarantined', outcome['chart:oci-quarantine'].detail);
    assert.match(outcome['chart:oci-quarantine'].detail, new RegExp(`OCI tag ${registry}/oci-quarantine/demo:1\\.2\\.3 (removed|now names a quarantine notice): signed by compromised key`));
    // The thief's chart under oci-swap's tag is not the archive the release recorded: nothing signed, a person looks.
    assert.equal(outcome['chart:oci-swap'].outcome, 'reported', outcome['chart:oci-swap'].detail);
    assert.match(outcome['chart:oci-swap'].detail, new RegExp(`OCI tag ${registry}/oci-swap/demo:1\\.2\\.3 names sha256:[0-9a-f]{64}, which does not hold the archive ${digest}`));
    // The swapped OCI tag holds another archive: only the directory's copy, the one the release recorded, was signed.
    assert.match(outcome['chart:cc-swap'].detail, new RegExp(`signed with ${next.id} .* in ${repo('cc-swap')}$`));

    // Stock helm: the re-signed release verifies with the new key's keyring, not the old one's, from the directory and from OCI.
    const home = path.join(env.dir, 'helm-home');
    const tgz = path.join(repo('cc-resign'), entry.fileName);
    const ok = await helmVerify(helm!, newKeyring, tgz, home);
    assert.equal(ok.code, 0, ok.out);
    assert.notEqual((await helmVerify(helm!, oldKeyring, tgz, home)).code, 0, "the old key's keyring no longer verifies it");
    const helmEnv = { HELM_CACHE_HOME: path.join(home, 'cache'), HELM_CONFIG_HOME: path.join(home, 'config'), HELM_DATA_HOME: path.join(home, 'data') };
    const pull = async (name: string, keyring: string) => {
      const dest = await fs.mkdtemp(path.join(env.dir, `pulled-${name}-`));
      return run(helm!, ['pull', `oci://${registry}/${name}/demo`, '--version', '1.2.3', '--plain-http', '--verify', '--keyring', keyring, '-d', dest], helmEnv);
    };
    const pulled = await pull('cc-resign', newKeyring);
    assert.equal(pulled.code, 0, pulled.out);
    assert.notEqual((await pull('cc-resign', oldKeyring)).code, 0);
    const swapped = await pull('cc-swap', newKeyring);
    assert.notEqual(swapped.code, 0, "the attacker's chart got no .prov by the new key");
    // OCI only: the re-signed tag verifies with the new keyring and not the old; the swapped one never gets the new key's .prov.
    const ociPulled = await pull('oci-resign', newKeyring);
    assert.equal(ociPulled.code, 0, ociPulled.out);
    assert.notEqual((await pull('oci-resign', oldKeyring)).code, 0);
    assert.notEqual((await pull('oci-swap', newKeyring)).code, 0, "the attacker's chart under an OCI-only tag got no .prov by the new key");
    // Stock cosign: the re-signed release's new manifest carries the chart target's cosign signature, exactly one.
    const cosignVerify = (name: string) => run(COSIGN!, ['verify', '--key', cosignPub, '--insecure-ignore-tlog=true', '--allow-http-registry', `${registry}/${name}/demo:1.2.3`], { HOME: env.dir });
    if (COSIGN) {
      const verified = await cosignVerify('oci-resign');
      assert.equal(verified.code, 0, verified.out);
      // Without a cosign key pinned, nothing was cosign-signed: the check above can fail.
      assert.notEqual((await cosignVerify('cc-resign')).code, 0);
    }
    const resignedDigest = (await env.store.getManifest('oci-resign/demo', '1.2.3'))!.digest;
    assert.equal((await verifyImageSignatures(env.store, 'oci-resign/demo', resignedDigest, await fs.readFile(cosignPub, 'utf8'))).valid, 1);
    const ociQuarantined = await env.store.getManifest('oci-quarantine/demo', '1.2.3');
    assert.ok(ociQuarantined === undefined || noticeFor(ociQuarantined.data) !== undefined, 'the OCI-only tag is gone or names a quarantine notice');
    assert.notEqual((await pull('oci-quarantine', oldKeyring)).code, 0, 'helm pulls nothing verifiable from the quarantined OCI-only tag');
    assert.equal((await helmVerify(helm!, newKeyring, path.join(repo('cc-swap'), entry.fileName), home)).code, 0);

    // The quarantined release: out of index.yaml (the archive and its .prov aside, with why), and its OCI tag no longer gives it.
    assert.deepEqual(await readRepositoryIndex(repo('cc-quarantine')), []);
    const why = JSON.parse(await fs.readFile(path.join(repo('cc-quarantine'), '.quarantine', `${entry.fileName}.quarantine.json`), 'utf8')) as Record<string, string>;
    assert.deepEqual([why.digest, why.campaign, why.key], [digest, campaignId, compromised.id]);
    assert.match(why.reason, /test: chart key leaked/);
    const tagged = await env.store.getManifest('cc-quarantine/demo', '1.2.3');
    assert.ok(tagged === undefined || noticeFor(tagged.data) !== undefined, 'the OCI tag is gone or names a quarantine notice');
    assert.notEqual((await pull('cc-quarantine', oldKeyring)).code, 0, 'helm pulls nothing verifiable from the quarantined tag');

    // A second campaign over the same key finds the quarantined release no more and changes nothing;
    // started with `keys campaign --wait`, which answers with the report once the campaign has ended.
    const waiting = runCli(['keys', 'campaign', compromised.id, '--trust', trust, '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), '--reason', 'test: a second look', '--wait', '--json'], cliEnv);
    const second2 = await Promise.race([
      until(() => getCampaignStatus(env.client, campaignId), (s) => s.reason === 'test: a second look' && s.state !== 'AUTHORIZING' && s.state !== 'FINDING', 90_000),
      waiting.then((r) => Promise.reject(new Error(`keys campaign --wait ended before its plan was approved (exit ${r.code}): ${r.stderr}`))),
    ]);
    assert.equal(second2.state, 'AWAITING_APPROVAL', second2.error);
    assert.deepEqual(
      second2.items.map((i) => [i.target, i.found]),
      [['chart:cc-quarantine', ['temporal']], ['chart:cc-resign', ['temporal']], ['chart:cc-swap', ['temporal']], ['chart:oci-quarantine', ['temporal']], ['chart:oci-resign', ['temporal']], ['chart:oci-swap', ['temporal']]],
      'the repositories hold no .prov by the key any more',
    );
    await env.decideAs(campaignId, 'carol', 'approve');
    const waited = await waiting;
    assert.equal(waited.code, 0, waited.stderr);
    const twice = JSON.parse(waited.stdout) as CampaignStatus;
    assert.equal(twice.state, 'DONE', twice.error);
    assert.equal(twice.reason, 'test: a second look');
    assert.deepEqual(twice.results.map((r) => [r.id.split('@')[0], r.outcome, r.signatureAdded]), [
      ['chart:cc-quarantine', 'quarantined', undefined],
      ['chart:cc-resign', 'resigned', false],
      ['chart:cc-swap', 'resigned', false],
      // A deleted tag cannot say it was a quarantine; a notice can.
      ['chart:oci-quarantine', ociQuarantined === undefined ? 'unchanged' : 'quarantined', undefined],
      ['chart:oci-resign', 'resigned', false],
      ['chart:oci-swap', 'reported', undefined],
    ]);
    assert.equal((await pull('oci-resign', newKeyring)).code, 0);
    assert.equal((await helmVerify(helm!, newKeyring, tgz, home)).code, 0);
    // The second run signs nothing again: still one cosign signature on the re-signed manifest.
    assert.match(twice.results.find((r) => r.id.startsWith('chart:oci-resign@'))!.detail, /cosign-signed already with key/);
    assert.equal((await verifyImageSignatures(env.store, 'oci-resign/demo', resignedDigest, await fs.readFile(cosignPub, 'utf8'))).valid, 1);
    if (COSIGN) assert.equal((await cosignVerify('oci-resign')).code, 0);
  });
});
