import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { getPromotionStatus, startPromotion, waitForPromotion } from '../../src/client/promotions';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { spawnWorkerProcess, waitForWorker } from '../../src/stack/worker-process';
import { buildFacts, copyDir, startTestEnv, type TestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

describe('a worker process killed mid-promotion', () => {
  let env: TestEnv;
  const children: ChildProcess[] = [];

  before(async () => {
    env = await startTestEnv();
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await env?.close();
  });

  const startWorkerProcess = async (n: number) => {
    const logFile = path.join(env.dir, `worker-${n}.log`);
    const child = spawnWorkerProcess({ address: env.stack.temporal.address, logFile, env: { ...process.env, ...env.workerEnv } });
    children.push(child);
    await waitForWorker(env.stack.temporal.address, { pid: child.pid, logFile });
    return child;
  };

  it('is replaced by a new worker that finishes with exactly one production signature', async () => {
    const dir = await copyDir(HELLO, path.join(env.dir, 'crash'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'crash\n');
    const first = await startWorkerProcess(1);
    const started = await startPromotion(env.client, { target: env.target, source: { directory: dir }, build: buildFacts(), initiator: 'ci' });
    await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL', pollMs: 50 });
    await env.decideAs(started.promotionId, 'alice', 'approve');

    // Kill the worker the moment the workflow enters production signing.
    let state = '';
    for (let i = 0; i < 400 && state !== 'PROD_SIGNING' && state !== 'RELEASING' && state !== 'PROMOTED'; i++) {
      state = (await getPromotionStatus(env.client, started.promotionId)).state;
      if (state !== 'PROD_SIGNING') await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(state, 'PROD_SIGNING', 'the kill landed during production signing');
    first.kill('SIGKILL');
    await exited(first);

    await startWorkerProcess(2);
    const done = await waitForPromotion(env.client, started.promotionId, { pollMs: 200 });
    assert.equal(done.state, 'PROMOTED', done.error);
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    const signatures = await verifyImageSignatures(env.store, 'apps/hello', started.digest, platformPem);
    assert.equal(signatures.valid, 1, 'exactly one production signature');
    const developerPem = await fs.readFile(path.join(env.keysDir, 'dev.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/hello', started.digest, developerPem)).valid, 1);
  });
});
