/**
 * The compromise campaign on a real dev server and registry, with stock cosign as the judge: a
 * ceremony's key signs three releases, the next ceremony supersedes it, it is revoked, and
 * `keys campaign` (run as docs/trust.md prints it) finds all three from the decision records; after
 * the approvers approve the plan, the image of a `resign` target verifies with the new key, the
 * `quarantine` target's release tag no longer gives its image, and an image whose platform verify
 * fails again is quarantined instead of signed. At most perMinute items share a rate window. The
 * key's index entry and `keys history` record the campaign. Attacks: unsigned, wrongly signed and
 * out-of-scope requests are refused; a caller cannot choose items or actions through the input.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { parseConfig, type Config } from '../../src/config';
import { waitForPromotion } from '../../src/client/promotions';
import { getCampaignStatus, signCampaignRequest, waitForCampaign, waitForCampaignPlan } from '../../src/client/campaign';
import { keyWorkflowStatus, trustConfig } from '../../src/client/trust';
import { CAMPAIGN_REQUEST_TYPE, campaignWorkflowId } from '../../src/requests/campaign-request';
import { newNonce, signStatement } from '../../src/requests/sign';
import { requireTool } from '../../src/stack/tools';
import { readIndex, type TrustKey } from '../../src/trust/index-file';
import { noticeFor } from '../../src/trust/quarantine';
import { KEY_CAMPAIGN_WORKFLOW_TYPE, type CampaignStatus } from '../../workflows/key-campaign-messages';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import { runCli } from '../support/cli';
import { APPROVERS, BUILD_COMMAND, BUILDER_ID, buildFacts, copyDir, DEV_PASSWORD_ENV, PLATFORM_PASSWORD_ENV, SOURCE_REPO, TEST_PASSWORD, useTestEnv, type TestEnv } from '../support/env';
import { requestSigner, runCeremony, until } from '../trust/support';
import { runCosign } from '../vectors/cosign-bundle/produce';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const DOCS = path.resolve(__dirname, '../../docs/trust.md');

/** The commands docs/trust.md's campaign runbook prints, with its placeholders. */
async function runbook(): Promise<string[][]> {
  const doc = await fs.readFile(DOCS, 'utf8');
  const match = /<!-- campaign-runbook -->\n```bash\n([\s\S]*?)```/.exec(doc);
  assert.ok(match, 'docs/trust.md has the campaign runbook');
  return match[1]
    .split('\n')
    .filter((l) => l.startsWith('countersign '))
    .map((l) => (l.replace(/\s+#.*$/, '').match(/"[^"]*"|\S+/g) ?? []).slice(1).map((w) => w.replace(/^"(.*)"$/, '$1')));
}

/** A store `camp` whose campaign re-signs camp-resign and camp-bad and quarantines the rest, with three targets signing with it. */
function campaignConfig(env: TestEnv): { config: Config; file: string } {
  const approvers = Object.fromEntries(APPROVERS.map((n) => [n, { publicKey: `keys/${n}.pub`, identities: [`${n}@example.com`] }]));
  const target = (repo: string) => ({
    repository: `${env.stack.registry.address}/apps/${repo}`,
    releaseTag: 'prod',
    sources: [env.dir],
    policy: { sourceRepo: SOURCE_REPO, builderIds: [BUILDER_ID], buildCommand: BUILD_COMMAND, requireCommit: true },
    approval: { approvers: ['alice', 'bob'], required: 1, deadline: '1h' },
    keys: { developer: { key: 'keys/dev.key', publicKey: 'keys/dev.pub', passwordEnv: DEV_PASSWORD_ENV }, platform: { trust: 'camp' } },
  });
  const raw = {
    approvers,
    initiators: { ci: { publicKey: 'keys/ci.pub', targets: ['*'] } },
    trust: {
      camp: {
        publishDir: 'trust-camp/public',
        stateFile: 'trust-camp/private/state.json',
        passwordEnv: PLATFORM_PASSWORD_ENV,
        governance: ['erin', 'dave'],
        custodians: { members: ['alice', 'bob', 'carol'], required: 2, deadline: '1h' },
        overlap: '1h',
        campaign: { action: 'quarantine', targets: { 'camp-resign': 'resign', 'camp-bad': 'resign' }, perMinute: 2, approvers: { members: ['bob', 'carol'], required: 1, deadline: '1h' } },
      },
    },
    targets: { 'camp-resign': target('camp-resign'), 'camp-quarantine': target('camp-quarantine'), 'camp-bad': target('camp-bad') },
  };
  // Also on disk, for the CLI (--config); paths are relative to it either way.
  const file = path.join(env.dir, 'countersign-camp.yaml');
  writeFileSync(file, YAML.stringify(raw));
  return { config: parseConfig(raw, file), file };
}

describe('a compromise campaign', () => {
  const env = useTestEnv();
  const cosign = requireTool('cosign');
  let compromised: TrustKey;
  let next: TrustKey;
  let campaignId: string;
  let cliEnv: NodeJS.ProcessEnv;
  const images: Record<string, string> = {};

  it('re-signs and quarantines on a real registry as the store says, and stock cosign agrees afterwards', { timeout: 5 * 60_000 }, async () => {
    const { config, file } = campaignConfig(env);
    Object.assign(env.config.trust, config.trust);
    Object.assign(env.config.targets, config.targets);
    // The configuration's window is a minute; the test shortens it on the configuration the worker holds, and counts.
    env.config.trust.camp.campaign.windowMs = 1500;
    // And one item per run, so the campaign continues as new between items and carries its progress.
    env.config.trust.camp.campaign.itemsPerRun = 1;
    cliEnv = { TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_CONFIG: file, COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD };

    const first = await runCeremony(env, config, 'camp');
    assert.equal(first.ceremony.state, 'PUBLISHED', first.ceremony.error);
    compromised = first.ceremony.key!;
    for (const name of ['camp-resign', 'camp-quarantine', 'camp-bad']) {
      const dir = await copyDir(HELLO, path.join(env.dir, name));
      await fs.writeFile(path.join(dir, 'VERSION'), `${name}\n`);
      const run = await env.promote({ target: name, source: { directory: dir }, build: buildFacts() });
      await waitForPromotion(env.client, run.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      await env.decideAs(run.promotionId, 'alice', 'approve');
      assert.equal((await waitForPromotion(env.client, run.promotionId)).state, 'PROMOTED');
      images[name] = run.digest;
    }
    const second = await runCeremony(env, config, 'camp');
    assert.equal(second.ceremony.state, 'PUBLISHED', second.ceremony.error);
    next = second.ceremony.key!;
    const publishDir = trustConfig(config, 'camp').publishDir;
    const pem = (key: TrustKey) => path.join(publishDir, key.file);
    const keep = path.join(env.dir, 'compromised.pem');
    await fs.copyFile(pem(compromised), keep);
    // The bad target's policy changed since: its image no longer passes platform verify.
    env.config.targets['camp-bad'] = { ...env.config.targets['camp-bad'], policy: { ...env.config.targets['camp-bad'].policy, buildCommand: 'make release' } };

    const commands = await runbook();
    const fill = (argv: string[]) => argv.map((w) => w.replace('KEY_ID', compromised.id).replace('CAMPAIGN_ID', campaignWorkflowId('camp', compromised.id)).replace('TRUST', 'camp').replace(/^keys\/(\w+)\.key$/, (_m, who) => path.join(env.keysDir, `${who}.key`)));
    const [revoke, campaign, status, approve, history, list] = commands.map(fill);
    assert.deepEqual([revoke[0], revoke[1], campaign[1], status[1], approve[0], history[1], list[0]], ['keys', 'revoke', 'campaign', 'status', 'approve', 'history', 'list']);

    // Revoked first: the campaign refuses a key that still signs.
    const early = await runCli(campaign, cliEnv);
    assert.equal(early.code, 7, early.stdout + early.stderr);
    assert.match(early.stderr, /REQUEST_INVALID: key .* is retiring, not revoked: revoke it first/);
    const revoked = await runCli(revoke, cliEnv);
    assert.equal(revoked.code, 0, revoked.stderr);

    const started = await runCli(campaign, cliEnv);
    assert.equal(started.code, 0, started.stderr);
    campaignId = campaignWorkflowId('camp', compromised.id);
    assert.match(started.stdout, new RegExp(`^${campaignId}  AWAITING_APPROVAL  key ${compromised.id} of trust store camp, requested by erin`));
    assert.match(started.stdout, new RegExp(`re-signs with: ${next.id}`));
    for (const [name, action] of [['camp-resign', 'resign'], ['camp-quarantine', 'quarantine'], ['camp-bad', 'resign']]) {
      assert.match(started.stdout, new RegExp(`  ${action} +${env.stack.registry.address}/apps/${name}@${images[name]}  \\(${name}; found in temporal\\+registry\\)`));
    }
    assert.match(started.stdout, new RegExp(`approvers approve this plan with: countersign approve ${campaignId} --as NAME --key FILE`));
    // Nothing changed before approval.
    assert.equal((await env.store.getManifest(`apps/camp-quarantine`, 'prod'))?.digest, images['camp-quarantine']);

    const approved = await runCli(approve, cliEnv);
    assert.equal(approved.code, 0, approved.stderr);
    const done = await waitForCampaign(env.client, campaignId, () => false, 120_000);
    assert.equal(done.state, 'DONE', done.error);
    // keys campaign's plan wait on the closed run: the server refuses the update as "not found", and the answer is the run's end, not an unknown id.
    await env.client.workflow.getHandle(campaignId).result();
    assert.equal((await waitForCampaignPlan(env.client, campaignId)).state, 'DONE');
    const outcome = Object.fromEntries(done.results.map((r) => [r.id.split('@')[0], r]));
    assert.equal(outcome['camp-resign'].outcome, 'resigned', outcome['camp-resign'].detail);
    assert.equal(outcome['camp-resign'].signatureAdded, true);
    assert.equal(outcome['camp-quarantine'].outcome, 'quarantined');
    assert.equal(outcome['camp-bad'].outcome, 'quarantined');
    assert.match(outcome['camp-bad'].detail, /platform verify failed again, so it was not signed \(policy\.buildCommand/);
    assert.deepEqual(done.counts, { resigned: 1, quarantined: 2, reported: 0, unchanged: 0, failed: 0 });
    assert.deepEqual(done.approvedBy, ['bob']);

    // Rate: perMinute 2, three items: two in the first window, the third in the next (counted, not timed).
    const perWindow = done.results.reduce<number[]>((n, r) => ((n[r.window] = (n[r.window] ?? 0) + 1), n), []);
    assert.deepEqual(perWindow, [2, 1]);
    // Each item in a run of its own: the progress and the rate window went through continue-as-new.
    const handedOver = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${campaignId}' AND ExecutionStatus = 'ContinuedAsNew'` })) handedOver.push(wf.runId);
    assert.equal(handedOver.length, 2);

    // Stock cosign: the re-signed image verifies with the new key; the others do not; the quarantined tags no longer give their images.
    const verify = (keyFile: string, ref: string) => runCosign(cosign, ['verify', '--key', keyFile, '--insecure-ignore-tlog=true', '--allow-http-registry', ref], env.dir);
    const image = (name: string, at = `@${images[name]}`) => `${env.stack.registry.address}/apps/${name}${at}`;
    const ok = await verify(pem(next), image('camp-resign'));
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await verify(pem(next), image('camp-resign', ':prod'))).code, 0, 'the resigned release tag verifies with the new key');
    assert.notEqual((await verify(pem(next), image('camp-bad'))).code, 0, 'an image whose verify failed is never signed');
    assert.notEqual((await verify(pem(next), image('camp-quarantine'))).code, 0);
    for (const name of ['camp-quarantine', 'camp-bad']) {
      const tagged = await env.store.getManifest(`apps/${name}`, 'prod');
      assert.notEqual(tagged?.digest, images[name], `${name}:prod no longer names the image`);
      assert.equal(noticeFor(tagged!.data), images[name], 'distribution 2.8 cannot delete a tag: it names a quarantine notice');
      assert.notEqual((await verify(keep, image(name, ':prod'))).code, 0, 'not even the compromised key verifies what the tag gives now');
      assert.ok(await env.store.getManifest(`apps/${name}`, images[name]), 'the image stays by digest for examination');
    }

    // The key's index entry records the campaign; keys history and list --kind campaign show it.
    const entry = (await readIndex(publishDir)).keys.find((k) => k.id === compromised.id)!;
    assert.equal(entry.campaigns?.length, 1);
    assert.deepEqual([entry.campaigns![0].workflowId, entry.campaigns![0].requester, entry.campaigns![0].approvers, entry.campaigns![0].state, entry.campaigns![0].counts], [campaignId, 'erin', ['bob'], 'DONE', done.counts]);
    const shown = await runCli(status, cliEnv);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /outcome: 1 resigned, 2 quarantined, 0 reported, 0 unchanged, 0 failed/);
    assert.match(shown.stdout, new RegExp(`recorded in the index entry of ${compromised.id}`));
    type Entry = { kind: string; id: string; state: string; requestedBy?: string; joined: Array<{ who: string }>; result: string; source: string };
    const trail = await until(async () => JSON.parse((await runCli([...history, '--json'], cliEnv)).stdout) as Entry[], (e) => e.some((x) => x.kind === 'campaign' && x.state === 'DONE'));
    const row = trail.find((e) => e.kind === 'campaign')!;
    assert.deepEqual([row.id, row.requestedBy, row.joined.map((j) => j.who), row.result, row.source], [campaignId, 'erin', ['bob'], `campaign over ${compromised.id}: 1 resigned, 2 quarantined`, 'temporal']);
    const listed = await runCli([...list, '--json'], cliEnv);
    assert.equal(listed.code, 0, listed.stderr);
    // Every run counts: the one refused before the revocation is listed too.
    assert.deepEqual((JSON.parse(listed.stdout) as Entry[]).map((e) => [e.id, e.state]), [[campaignId, 'DONE'], [campaignId, 'REFUSED']]);
  });

  /** Starts a campaign directly, as anyone who can reach Temporal can, and waits for the worker's answer. */
  async function startRaw(input: unknown): Promise<CampaignStatus> {
    const handle = await env.client.workflow.start(KEY_CAMPAIGN_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: campaignId, args: [input] });
    return until(() => getCampaignStatus(env.client, campaignId), (s) => s.state !== 'AUTHORIZING' && s.state !== 'FINDING' && handle.firstExecutionRunId !== undefined);
  }

  it('an unsigned, a wrongly signed or an out-of-scope campaign request is refused before anything is found or changed', async () => {
    assert.ok(campaignId, 'runs after the campaign above');
    const unsigned = await startRaw({});
    assert.equal(unsigned.state, 'REFUSED');
    assert.match(unsigned.error!, /^REQUEST_UNSIGNED: /);
    const fields = { _type: CAMPAIGN_REQUEST_TYPE, trust: 'camp', keyId: compromised.id, fingerprint: compromised.fingerprint, reason: 'test', time: new Date().toISOString() };
    // Claims to be erin, signed with bob's key.
    const forged = await startRaw({ request: await signStatement({ ...fields, requester: 'erin', nonce: newNonce() }, await requestSigner(env, 'bob')) });
    assert.equal(forged.state, 'REFUSED');
    assert.match(forged.error!, /^REQUEST_BAD_SIGNATURE: the campaign request does not verify with erin's roster key/);
    // bob signs as bob: in the roster, but not in the store's governance.
    const outsider = await startRaw({ request: await signStatement({ ...fields, requester: 'bob', nonce: newNonce() }, await requestSigner(env, 'bob')) });
    assert.equal(outsider.state, 'REFUSED');
    assert.match(outsider.error!, /^REQUEST_OUT_OF_SCOPE: bob is not a governance member of trust store camp/);
    assert.deepEqual([unsigned, forged, outsider].map((s) => s.items.length), [0, 0, 0]);
  });

  it('a caller cannot choose the items or their actions: not in the signed request, not in the input, not as carried state', async () => {
    const fields = { _type: CAMPAIGN_REQUEST_TYPE, trust: 'camp', keyId: compromised.id, fingerprint: compromised.fingerprint, reason: 'test', requester: 'erin', time: new Date().toISOString() };
    const erin = await requestSigner(env, 'erin');
    const withAction = await startRaw({ request: await signStatement({ ...fields, action: 'resign', nonce: newNonce() }, erin) });
    assert.equal(withAction.state, 'REFUSED');
    assert.match(withAction.error!, /^REQUEST_INVALID: the campaign request has unknown fields: action/);

    const previous = (await keyWorkflowStatus(env.client, campaignId)).status as CampaignStatus;
    const fake = { id: 'camp-quarantine@sha256:0', target: 'camp-quarantine', repository: 'evil.example/apps/x', digest: `sha256:${'0'.repeat(64)}`, action: 'resign', found: ['temporal'], runs: [] };
    const carried = await startRaw({ request: await signStatement({ ...fields, nonce: newNonce() }, erin), carried: { plan: {}, status: { ...previous, items: [fake], results: [] }, decisions: [], window: { index: 0, startedAt: 0, used: 0 } } });
    assert.equal(carried.state, 'REFUSED');
    assert.match(carried.error!, /^REQUEST_INVALID: a carried state is accepted only from the earlier run/);

    // Extra input fields are not read: the worker's own findings and actions are the plan.
    const request = (await signCampaignRequest(env.config, env.config.trust.camp, 'erin', compromised.id, 'test: a second look', { signer: erin })).request;
    const extra = await startRaw({ request, items: [fake], action: 'resign', targets: { 'camp-quarantine': 'resign' } });
    assert.equal(extra.state, 'AWAITING_APPROVAL', extra.error);
    assert.deepEqual(
      extra.items.map((i) => [i.target, i.action]),
      [['camp-bad', 'resign'], ['camp-quarantine', 'quarantine'], ['camp-resign', 'resign']],
    );
    assert.ok(!extra.items.some((i) => i.repository.startsWith('evil.example')));
    await env.decideAs(campaignId, 'carol', 'reject', 'test: nothing to do twice');
    const ended = await waitForCampaign(env.client, campaignId, () => false);
    assert.equal(ended.state, 'REJECTED');
    assert.deepEqual(ended.results, []);
  });
});
