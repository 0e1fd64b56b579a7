import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { writeKeyPair } from '../../src/keys/file-signer';
import { runCli } from '../support/cli';
import { stablePort } from '../support/stable-port';
import { BUILD_COMMAND, BUILDER_ID, COMMIT, SOURCE_REPO, TEST_PASSWORD } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const BIN = path.resolve(__dirname, '../../bin/countersign');

/** The installed command run as a person runs it: its own process, from `cwd` (not the repository). */
function runBin(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 180_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

describe('countersign dev up / dev down', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let ports: string[];

  before(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-dev-'));
    await writeKeyPair(path.join(home, 'keys'), 'dev', TEST_PASSWORD);
    await writeKeyPair(path.join(home, 'keys'), 'platform', TEST_PASSWORD);
    await writeKeyPair(path.join(home, 'keys'), 'alice', TEST_PASSWORD);
    await writeKeyPair(path.join(home, 'keys'), 'ci', TEST_PASSWORD);
    const config = path.join(home, 'countersign.yaml');
    await fs.writeFile(
      config,
      YAML.stringify({
        approvers: { alice: { publicKey: 'keys/alice.pub' } },
        initiators: { ci: { publicKey: 'keys/ci.pub', targets: ['prod'] } },
        keys: { developer: { key: 'keys/dev.key', publicKey: 'keys/dev.pub' }, platform: { key: 'keys/platform.key', publicKey: 'keys/platform.pub' } },
        targets: {
          prod: {
            repository: 'apps/dev',
            sources: [HELLO],
            policy: { sourceRepo: SOURCE_REPO, builderIds: [BUILDER_ID] },
            approval: { approvers: ['alice'] },
          },
        },
      }),
    );
    env = {
      COUNTERSIGN_HOME: home,
      COUNTERSIGN_CONFIG: config,
      COUNTERSIGN_DEV_KEY_PASSWORD: TEST_PASSWORD,
      COUNTERSIGN_PLATFORM_KEY_PASSWORD: TEST_PASSWORD,
      COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD,
      COUNTERSIGN_APPROVER_KEY: path.join(home, 'keys', 'alice.key'),
    };
    // Bound again after dev down (the registry's address is in the pinned plan): below the ephemeral range.
    ports = ['--temporal-port', String(await stablePort()), '--ui-port', String(await stablePort()), '--registry-port', String(await stablePort()), '--console-port', String(await stablePort())];
  });
  after(async () => {
    await runCli(['dev', 'down'], env);
    await fs.rm(home, { recursive: true, force: true });
  });

  const awaitState = async (id: string, state: string) => {
    for (let i = 0; i < 200; i++) {
      const r = await runCli(['status', id, '--json'], env);
      if (r.code === 0 && JSON.parse(r.stdout).state === state) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.fail(`${id} never reached ${state}`);
  };

  it('runs the stack in the background from any folder, and state survives down + up', async () => {
    // Run from a folder with no node_modules above it: the worker must find tsx from the project.
    const elsewhere = path.join(home, 'elsewhere');
    await fs.mkdir(elsewhere);
    const up = await runBin(['dev', 'up', ...ports, '--json'], env, elsewhere);
    assert.equal(up.code, 0, up.stderr);
    const state = JSON.parse(up.stdout);
    assert.match(state.temporal.address, /^127\.0\.0\.1:\d+$/);
    assert.match(state.temporal.uiUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(state.dataDir, path.join(home, 'dev'));
    assert.equal((await runCli(['dev', 'status'], env)).code, 0);
    assert.match(state.registry.address, /^127\.0\.0\.1:\d+$/);
    assert.match(state.console.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const again = await runCli(['dev', 'up', ...ports], env);
    assert.match(again.stdout, /already running/);
    // What a person reads: every address and the data directory.
    for (const line of [`temporal:  ${state.temporal.address}`, `web ui:    ${state.temporal.uiUrl}`, `registry:  ${state.registry.address}`, `console:   ${state.console.url} (--dev-loopback: no login, loopback only)`, `data dir:  ${state.dataDir}`]) {
      assert.ok(again.stdout.includes(line), `dev up prints "${line}":\n${again.stdout}`);
    }
    const status = await runCli(['dev', 'status'], env);
    assert.match(status.stdout, /running: +temporal true, registry true, worker true/);

    const started = await runCli(
      ['promote', '--dir', HELLO, '--target', 'prod', '--as', 'ci', '--key', path.join(home, 'keys', 'ci.key'), '--source-repo', SOURCE_REPO, '--commit', COMMIT, '--build-command', BUILD_COMMAND, '--builder-id', BUILDER_ID, '--json'],
      env,
    );
    assert.equal(started.code, 0, started.stderr);
    const { promotionId } = JSON.parse(started.stdout);
    await awaitState(promotionId, 'AWAITING_APPROVAL');
    // The console dev up started lists it, and its evidence page answers.
    const waiting = await (await fetch(`${state.console.url}/`)).text();
    assert.ok(waiting.includes(`href="/promotions/${promotionId}"`), waiting);
    assert.equal((await fetch(`${state.console.url}/promotions/${promotionId}`)).status, 200);

    const down = await runCli(['dev', 'down'], env);
    assert.equal(down.code, 0);
    assert.equal(await fetch(`${state.console.url}/`).then(() => 'answered', () => 'down'), 'down', 'dev down stops the console');
    assert.equal((await runCli(['dev', 'status'], env)).code, 10);
    assert.equal((await runCli(['status', promotionId], env)).code, 10, 'nothing answers while the stack is down');

    const reup = await runCli(['dev', 'up', ...ports], env);
    assert.equal(reup.code, 0, `dev up again: ${reup.stderr}`);
    await awaitState(promotionId, 'AWAITING_APPROVAL');
    assert.equal((await runCli(['approve', promotionId, '--as', 'alice'], env)).code, 0);
    await awaitState(promotionId, 'PROMOTED');
  });
});
