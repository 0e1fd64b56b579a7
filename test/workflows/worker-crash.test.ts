import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { getPromotionStatus, waitForPromotion } from '../../src/client/promotions';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { spawnWorkerProcess, waitForWorker } from '../../src/stack/worker-process';
import { buildFacts, copyDir, startTestEnv, type TestEnv } from '../support/env';
import { startHoldingProxy } from '../support/holding-proxy';

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
    // A worker process reads its configuration from a file, as in production.
    const child = spawnWorkerProcess({ address: env.stack.temporal.address, logFile, env: { ...process.env, ...env.workerEnv, COUNTERSIGN_CONFIG: await env.writeConfigFile() } });
    children.push(child);
    await waitForWorker(env.stack.temporal.address, { pid: child.pid, logFile });
    return child;
  };

  it('is replaced by a new worker that finishes with exactly one production signature', async () => {
    const dir = await copyDir(HELLO, path.join(env.dir, 'crash'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'crash\n');
    // The promotion reaches the registry through a proxy, so the kill can land at an exact point.
    const proxy = await startHoldingProxy(env.stack.registry.address);
    after(() => proxy.close());
    const target = env.targetWith({ repository: `${proxy.address}/apps/hello` });
    const first = await startWorkerProcess(1);
    const started = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
    await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL', pollMs: 50 });

    // Production signing writes the signature, then the approval record (an .att manifest). Hold
    // that second write: the worker dies after the signature is in the registry, before the
    // activity completes, so the new worker's retry must find the signature and not sign again.
    const attHeld = proxy.holdNext((method, url) => method === 'PUT' && /\/manifests\/sha256-[0-9a-f]{64}\.att$/.test(url));
    await env.decideAs(started.promotionId, 'alice', 'approve');
    await attHeld;
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/hello', started.digest, platformPem)).valid, 1, 'the signature was written before the kill');
    assert.equal((await getPromotionStatus(env.client, started.promotionId)).state, 'PROD_SIGNING');
    first.kill('SIGKILL');
    await exited(first);
    proxy.dropHeld();

    await startWorkerProcess(2);
    const done = await waitForPromotion(env.client, started.promotionId, { pollMs: 200 });
    assert.equal(done.state, 'PROMOTED', done.error);
    assert.match(done.timeline.find((t) => t.step === 'prod-sign')?.detail ?? '', /\(signature already present\), approval record attached/, 'the retry found the signature');
    const signatures = await verifyImageSignatures(env.store, 'apps/hello', started.digest, platformPem);
    assert.equal(signatures.valid, 1, 'exactly one production signature');
    const developerPem = await fs.readFile(path.join(env.keysDir, 'dev.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/hello', started.digest, developerPem)).valid, 1);
  });
});
