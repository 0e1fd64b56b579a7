/**
 * `countersign demo`, README's first Quick start line: a fresh embedded stack (real Temporal dev
 * server and registry), a full promotion, and the customer's cosign check; non-zero when a step fails.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { locateTool } from '../../src/stack/tools';
import { runCli, type CliRun } from '../support/cli';

describe('countersign demo', () => {
  let dir: string;
  let run: CliRun;
  // The demo looks cosign up in the environment it is given; ask the same question of the same one.
  const cliEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  const cosign = locateTool('cosign', cliEnv);
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-demo-test-'));
    run = await runCli(['demo', '--data-dir', path.join(dir, 'ok'), '--json'], cliEnv);
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('promotes examples/hello through every step and prints the customer\'s verify command', () => {
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { state: string; timeline: Array<{ step: string; status: string }>; verifyCommand: string };
    assert.equal(result.state, 'PROMOTED');
    assert.deepEqual(
      result.timeline.map((t) => [t.step, t.status]),
      ['authorize', 'keys', 'build', 'attest', 'dev-sign', 'platform-verify', 'approval', 'prod-sign', 'release'].map((step) => [step, 'succeeded']),
    );
    assert.match(result.verifyCommand, /^cosign verify --key .*platform\.pub --insecure-ignore-tlog=true .*\/apps\/hello@sha256:[0-9a-f]{64}$/);
  });

  it('has stock cosign verify the result', { skip: cosign ? false : 'cosign is not installed (npm run toolchain)' }, () => {
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { cosignVerify: string }).cosignVerify, 'passed');
  });

  it('exits non-zero and says why when a step cannot run', async () => {
    const empty = path.join(dir, 'empty-src');
    await fs.mkdir(empty);
    const run = await runCli(['demo', '--data-dir', path.join(dir, 'bad'), '--dir', empty]);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /build directory .*empty-src is empty/);
  });
});
