/**
 * README's "Using it" walk-through with the shipped countersign.example.yaml, unedited except for
 * the registry address: keys generated as the README says, a CLI promotion of examples/hello, the
 * approvals the example's groups need, on a real Temporal dev server and registry.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { runCli } from '../support/cli';
import { loadConfig } from '../../src/config';
import { copyDir, startTestEnv, TEST_PASSWORD, type TestEnv } from '../support/env';

const ROOT = path.resolve(__dirname, '../..');

describe('the README walk-through with countersign.example.yaml', () => {
  let env: TestEnv;
  let cliEnv: NodeJS.ProcessEnv;

  before(async () => {
    env = await startTestEnv();
    // examples/hello where the example's `sources: [examples]` finds it, beside the copied config.
    await copyDir(path.join(ROOT, 'examples', 'hello'), path.join(env.dir, 'examples', 'hello'));
    const example = YAML.parse(await fs.readFile(path.join(ROOT, 'countersign.example.yaml'), 'utf8'));
    example.registry = env.stack.registry.address;
    await fs.writeFile(path.join(env.dir, 'countersign.yaml'), YAML.stringify(example));
    const passwords = { COUNTERSIGN_DEV_KEY_PASSWORD: TEST_PASSWORD, COUNTERSIGN_PLATFORM_KEY_PASSWORD: TEST_PASSWORD };
    cliEnv = {
      TEMPORAL_ADDRESS: env.stack.temporal.address,
      COUNTERSIGN_CONFIG: path.join(env.dir, 'countersign.yaml'),
      COUNTERSIGN_HOME: path.join(env.dir, 'home'),
      COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD,
      ...passwords,
    };
    // The README's key generation, through the CLI, into the folder the example names.
    const keysDir = path.join(env.dir, 'keys');
    for (const file of ['platform.key', 'platform.pub', 'ci.key', 'ci.pub']) await fs.rm(path.join(keysDir, file));
    for (const [prefix, passwordEnv] of [['developer', 'COUNTERSIGN_DEV_KEY_PASSWORD'], ['platform', 'COUNTERSIGN_PLATFORM_KEY_PASSWORD']]) {
      const made = await runCli(['keys', 'generate', '--output-dir', keysDir, '--prefix', prefix, '--password-env', passwordEnv], cliEnv);
      assert.equal(made.code, 0, made.stderr);
    }
    const ci = await runCli(['keys', 'generate', '--output-dir', keysDir, '--prefix', 'ci', '--password-env', 'COUNTERSIGN_APPROVER_KEY_PASSWORD'], { ...cliEnv, COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD });
    assert.equal(ci.code, 0, ci.stderr);
    Object.assign(env.workerEnv, passwords);
    // The worker reads the example configuration itself; the CLI only names the target and signs.
    await env.startWorker({ config: loadConfig(path.join(env.dir, 'countersign.yaml'), { ...process.env, COUNTERSIGN_REGISTRY: env.stack.registry.address }) });
  });
  after(async () => {
    await env?.close();
  });

  it('promotes examples/hello once one of platform and one of security approved; carol, who holds the developer key, may not', async () => {
    const dir = path.join(env.dir, 'examples', 'hello');
    const started = await runCli(
      [
        'promote', '--dir', dir, '--target', 'production', '--as', 'ci', '--key', path.join(env.dir, 'keys', 'ci.key'),
        '--source-repo', 'https://github.com/acme/hello', '--commit', '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e',
        '--build-command', 'countersign build examples/hello', '--builder-id', 'https://countersign.dev/builders/local@v1',
        '--json',
      ],
      cliEnv,
    );
    assert.equal(started.code, 0, started.stderr);
    const { promotionId, digest } = JSON.parse(started.stdout) as { promotionId: string; digest: string };
    assert.match(promotionId, /^promote-production-/);

    let status: { state: string } = { state: '' };
    for (let i = 0; i < 300 && status.state !== 'AWAITING_APPROVAL'; i++) {
      const s = await runCli(['status', promotionId, '--json'], cliEnv);
      status = JSON.parse(s.stdout);
      if (['REJECTED', 'FAILED', 'EXPIRED'].includes(status.state)) assert.fail(s.stdout);
      if (status.state !== 'AWAITING_APPROVAL') await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status.state, 'AWAITING_APPROVAL');
    const blocked = await runCli(['status', promotionId], cliEnv);
    assert.match(blocked.stdout, /platform/);
    assert.match(blocked.stdout, /security/);

    const approve = (who: string) => runCli(['approve', promotionId, '--as', who, '--key', path.join(env.dir, 'keys', `${who}.key`)], cliEnv);
    const carol = await approve('carol');
    assert.equal(carol.code, 7, carol.stderr);
    assert.match(carol.stderr, /carol may not approve .*signed the build with the developer key/);
    const alice = await approve('alice');
    assert.equal(alice.code, 0, alice.stderr);
    assert.match(alice.stdout, /waiting for 1 more of security/);
    const dave = await approve('dave');
    assert.equal(dave.code, 0, dave.stderr);
    assert.match(dave.stdout, /quorum met: approved by alice, dave/, 'the deciding vote is told it decided');

    let done: { state: string; error?: string } = { state: '' };
    for (let i = 0; i < 300 && done.state !== 'PROMOTED'; i++) {
      done = JSON.parse((await runCli(['status', promotionId, '--json'], cliEnv)).stdout);
      if (['REJECTED', 'FAILED', 'EXPIRED'].includes(done.state)) break;
      if (done.state !== 'PROMOTED') await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(done.state, 'PROMOTED', done.error);
    const platformPem = await fs.readFile(path.join(env.dir, 'keys', 'platform.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/hello', digest, platformPem)).valid, 1);
  });
});
