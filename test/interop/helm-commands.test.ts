/**
 * docs/helm.md, "Commands": its three blocks run in bash exactly as printed, `countersign` being
 * bin/countersign, against a real Temporal dev server, registry and worker whose chart target
 * `charts` takes charts from the customer's `charts/`. The local tools make a key, a keyring, an
 * archive, its .prov and an index; the release block starts a release that alice's approval
 * publishes; the re-open block, after a rejection, starts the re-opened release.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitForChartRelease } from '../../src/client/chart-releases';
import { copyDir, startTestEnv, TEST_PASSWORD, type TestEnv } from '../support/env';
import { DEMO_DIR, PGP_PASSWORD_ENV, TEST_KEY_PASSPHRASE, demoChartTarget, releaseChart } from '../helm/helpers';

const ROOT = path.resolve(__dirname, '../..');
const DOC = path.join(ROOT, 'docs/helm.md');

async function block(name: string): Promise<string> {
  const match = new RegExp(`<!-- ${name} -->\\n\`\`\`bash\\n([\\s\\S]*?)\`\`\``).exec(await fs.readFile(DOC, 'utf8'));
  assert.ok(match, `docs/helm.md has the ${name} block`);
  return match[1]!;
}

describe('the countersign helm commands in docs/helm.md, as printed', () => {
  let env: TestEnv;
  before(async () => {
    env = await startTestEnv();
    env.workerEnv[PGP_PASSWORD_ENV] = TEST_KEY_PASSPHRASE;
    await env.startWorker();
  });
  after(async () => {
    await env?.close();
  });

  /** A customer's directory: charts/demo (the demo chart, with `values` when given) and their keys. */
  async function customerDir(name: string, values?: string): Promise<string> {
    const work = path.join(env.dir, name);
    await copyDir(DEMO_DIR, path.join(work, 'charts', 'demo'));
    if (values !== undefined) await fs.writeFile(path.join(work, 'charts', 'demo', 'values.yaml'), values);
    await fs.mkdir(path.join(work, 'keys'));
    for (const who of ['ci', 'alice', 'dave']) await fs.copyFile(path.join(env.keysDir, `${who}.key`), path.join(work, 'keys', `${who}.key`));
    return work;
  }

  function bash(script: string, cwd: string, extra: Record<string, string> = {}) {
    const environment = {
      PATH: `${path.join(ROOT, 'bin')}:${process.env.PATH}`,
      HOME: env.dir,
      TEMPORAL_ADDRESS: env.stack.temporal.address,
      COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD,
      ...extra,
    };
    // Not spawnSync: the worker runs in this process, and the printed commands wait for it.
    const child = spawn('bash', ['-eo', 'pipefail', '-c', script], { cwd, env: environment, timeout: 300_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  }

  it('the local tools: a key and its keyring, the archive, its .prov, verified, and the index', async () => {
    const work = await customerDir('local');
    const run = await bash(await block('helm-local-commands'), work);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const files = (await fs.readdir(path.join(work, 'out'))).sort();
    assert.deepEqual(files, ['demo-1.2.3.tgz', 'demo-1.2.3.tgz.prov', 'index.yaml']);
    assert.match(await fs.readFile(path.join(work, 'out', 'index.yaml'), 'utf8'), /https:\/\/charts\.acme\.example\/demo-1\.2\.3\.tgz/);
    assert.match((await fs.readdir(path.join(work, 'trust'))).join(','), /^keyring-\d{4}-\d{2}-\d{2}-[0-9A-F]{40}\.gpg$/);
    // The printed verify is a real check: on an archive changed after signing it fails.
    await fs.appendFile(path.join(work, 'out', 'demo-1.2.3.tgz'), Buffer.from([0]));
    const tampered = await bash('countersign helm verify out/demo-1.2.3.tgz --keyring trust/keyring-*.gpg', work);
    assert.notEqual(tampered.status, 0, tampered.stdout);
  });

  it('a release started and approved as printed is published; a rejected one re-opened as printed starts again', async () => {
    const work = await customerDir('release');
    const rejected = await customerDir('rejected', 'replicas: 2\n');
    const approval = { approvers: ['alice', 'bob'], required: 1, deadline: '1h', reopen: ['dave'] };
    env.chartWith(demoChartTarget(env, { sources: [path.join(work, 'charts'), path.join(rejected, 'charts')], approval }), 'charts');

    const first = await releaseChart(env, 'charts', { chartDir: path.join(rejected, 'charts', 'demo') });
    await waitForChartRelease(env.client, first.releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });

    const run = await bash(await block('helm-release-commands'), work);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const { releaseId } = JSON.parse(await fs.readFile(path.join(work, 'release.json'), 'utf8')) as { releaseId: string };
    assert.match(releaseId, /^chart-charts\/demo-1\.2\.3-[0-9a-f]{16}$/);
    const done = await waitForChartRelease(env.client, releaseId);
    assert.equal(done.state, 'RELEASED', done.error);

    await env.decideAs(first.releaseId, 'bob', 'reject', 'values wrong');
    assert.equal((await waitForChartRelease(env.client, first.releaseId)).state, 'REJECTED');
    const reopened = await bash(await block('helm-reopen-commands'), rejected, { RELEASE: first.releaseId });
    assert.equal(reopened.status, 0, reopened.stdout + reopened.stderr);
    assert.match(reopened.stdout, new RegExp(`started release ${first.releaseId.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    const again = await waitForChartRelease(env.client, first.releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(again.reopenedBy?.reopener, 'dave');
  });
});
