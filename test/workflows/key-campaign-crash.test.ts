/**
 * A worker process killed (kill -9) in the middle of a campaign's re-sign, after the new signature
 * is in the registry and before the decision record beside it: the replacement worker goes on from
 * that item, finds the signature there and does not sign again. One signature by the new key, one
 * record, the campaign DONE, and stock cosign verifies the image with the new key.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fs from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import YAML from 'yaml';
import { APPROVAL_PREDICATE_TYPE } from '../../src/approval/constants';
import { requestCampaign, signCampaignRequest, waitForCampaign } from '../../src/client/campaign';
import { waitForPromotion } from '../../src/client/promotions';
import { trustConfig } from '../../src/client/trust';
import { parseConfig } from '../../src/config';
import { verifyAttestations } from '../../src/cosign/attestations';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { cosignTag } from '../../src/cosign/tags';
import { spawnWorkerProcess, waitForWorker } from '../../src/stack/worker-process';
import { requireTool } from '../../src/stack/tools';
import { runCli } from '../support/cli';
import { APPROVERS, BUILD_COMMAND, BUILDER_ID, buildFacts, copyDir, DEV_PASSWORD_ENV, PLATFORM_PASSWORD_ENV, SOURCE_REPO, TEST_PASSWORD, useTestEnv } from '../support/env';
import { startHoldingProxy, type HoldingProxy } from '../support/holding-proxy';
import { requestSigner, runCeremony } from '../trust/support';
import { runCosign } from '../vectors/cosign-bundle/produce';

const HELLO = path.resolve(__dirname, '../../examples/hello');

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

describe('a worker killed mid-campaign', () => {
  const env = useTestEnv();
  const children: ChildProcess[] = [];
  let proxy: HoldingProxy | undefined;
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await proxy?.close();
  });

  it('is replaced by a worker that goes on from the item it was at, without signing twice', { timeout: 4 * 60_000 }, async () => {
    proxy = await startHoldingProxy(env.stack.registry.address);
    const approvers = Object.fromEntries(APPROVERS.map((n) => [n, { publicKey: `keys/${n}.pub`, identities: [`${n}@example.com`] }]));
    const raw = {
      approvers,
      initiators: { ci: { publicKey: 'keys/ci.pub', targets: ['*'] } },
      trust: {
        crash: {
          publishDir: 'trust-crash/public',
          stateFile: 'trust-crash/private/state.json',
          passwordEnv: PLATFORM_PASSWORD_ENV,
          governance: ['erin'],
          custodians: { members: ['alice', 'bob', 'carol'], required: 2, deadline: '1h' },
          overlap: '1h',
          campaign: { action: 'resign', approvers: { members: ['bob'], required: 1 } },
        },
      },
      targets: {
        'crash-target': {
          // Through the proxy, so the test can hold the one request it kills the worker at.
          repository: `${proxy.address}/apps/crash`,
          releaseTag: 'prod',
          sources: [env.dir],
          policy: { sourceRepo: SOURCE_REPO, builderIds: [BUILDER_ID], buildCommand: BUILD_COMMAND, requireCommit: true },
          approval: { approvers: ['alice'], required: 1, deadline: '1h' },
          keys: { developer: { key: 'keys/dev.key', publicKey: 'keys/dev.pub', passwordEnv: DEV_PASSWORD_ENV }, platform: { trust: 'crash' } },
        },
      },
    };
    const file = path.join(env.dir, 'countersign-crash.yaml');
    writeFileSync(file, YAML.stringify(raw));
    const config = parseConfig(raw, file);
    Object.assign(env.config.trust, config.trust);
    Object.assign(env.config.targets, config.targets);

    const first = await runCeremony(env, config, 'crash');
    assert.equal(first.ceremony.state, 'PUBLISHED', first.ceremony.error);
    const dir = await copyDir(HELLO, path.join(env.dir, 'crash-image'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'crash\n');
    const run = await env.promote({ target: 'crash-target', source: { directory: dir }, build: buildFacts() });
    await waitForPromotion(env.client, run.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(run.promotionId, 'alice', 'approve');
    assert.equal((await waitForPromotion(env.client, run.promotionId)).state, 'PROMOTED');
    const second = await runCeremony(env, config, 'crash');
    assert.equal(second.ceremony.state, 'PUBLISHED', second.ceremony.error);
    const next = second.ceremony.key!;
    const cliEnv = { TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_CONFIG: file, COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD };
    const revoked = await runCli(['keys', 'revoke', first.ceremony.key!.id, '--trust', 'crash', '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), '--reason', 'test: leaked'], cliEnv);
    assert.equal(revoked.code, 0, revoked.stderr);

    // From here a worker process runs the campaign, reading its configuration from the file, as in production.
    await env.stopWorkers();
    const startWorkerProcess = async (n: number) => {
      const logFile = path.join(env.dir, `campaign-worker-${n}.log`);
      const child = spawnWorkerProcess({ address: env.stack.temporal.address, logFile, env: { ...process.env, ...env.workerEnv, COUNTERSIGN_CONFIG: file } });
      children.push(child);
      await waitForWorker(env.stack.temporal.address, { pid: child.pid, logFile });
      return child;
    };
    const worker = await startWorkerProcess(1);
    const { request } = await signCampaignRequest(config, trustConfig(config, 'crash'), 'erin', first.ceremony.key!.id, 'test: leaked', { signer: await requestSigner(env, 'erin') });
    const campaignId = await requestCampaign(env.client, request);
    const plan = await waitForCampaign(env.client, campaignId, (s) => s.state === 'AWAITING_APPROVAL', 60_000);
    assert.equal(plan.state, 'AWAITING_APPROVAL', plan.error);
    assert.deepEqual(plan.items.map((i) => [i.target, i.digest, i.action]), [['crash-target', run.digest, 'resign']]);

    // Held: the decision record's write, after the new signature's.
    const att = `/v2/apps/crash/manifests/${cosignTag(run.digest, 'att')}`;
    const held = proxy.holdNext((method, url) => method === 'PUT' && url === att);
    await env.decideAs(campaignId, 'bob', 'approve');
    await held;
    const newPem = await fs.readFile(path.join(trustConfig(config, 'crash').publishDir, next.file), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/crash', run.digest, newPem)).valid, 1, 'the new signature was written before the kill');

    worker.kill('SIGKILL');
    await exited(worker);
    proxy.dropHeld();
    proxy.releaseHeld();
    await startWorkerProcess(2);
    const done = await waitForCampaign(env.client, campaignId, () => false, 120_000);
    assert.equal(done.state, 'DONE', done.error);
    assert.deepEqual(done.results.map((r) => [r.outcome, r.signatureAdded]), [['resigned', false]], 'the retry found the signature the dead worker wrote');
    assert.equal((await verifyImageSignatures(env.store, 'apps/crash', run.digest, newPem)).valid, 1, 'exactly one signature by the new key');
    const records = (await verifyAttestations(env.store, 'apps/crash', run.digest, newPem)).attestations.map((a) => a.predicateType);
    assert.deepEqual(records, [APPROVAL_PREDICATE_TYPE], 'one decision record, signed by the new key');
    const pemFile = path.join(env.dir, 'next.pem');
    await fs.writeFile(pemFile, newPem);
    const stock = await runCosign(requireTool('cosign'), ['verify', '--key', pemFile, '--insecure-ignore-tlog=true', '--allow-http-registry', `${env.stack.registry.address}/apps/crash@${run.digest}`], env.dir);
    assert.equal(stock.code, 0, stock.stderr);
  });
});
