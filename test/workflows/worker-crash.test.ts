import { VSA_PREDICATE_TYPE } from '../../src/provenance/vsa';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { APPROVAL_PREDICATE_TYPE } from '../../src/approval/constants';
import { getPromotionStatus, waitForPromotion } from '../../src/client/promotions';
import { verifyAttestations } from '../../src/cosign/attestations';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { buildImageFromDirectory } from '../../src/oci/build';
import { SLSA_PROVENANCE_V1 } from '../../src/provenance/slsa';
import { SPDX_PREDICATE_TYPE } from '../../src/sbom/spdx';
import { spawnWorkerProcess, waitForWorker } from '../../src/stack/worker-process';
import { buildFacts, copyDir, startTestEnv, type TestEnv } from '../support/env';
import { startHoldingProxy, type HoldingProxy } from '../support/holding-proxy';
import { BOUNDARIES, boundaryUrls } from '../../bench/faults/boundaries';

const HELLO = path.resolve(__dirname, '../../examples/hello');

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

describe('a worker process killed mid-promotion', () => {
  let env: TestEnv;
  const children: ChildProcess[] = [];
  const proxies: HoldingProxy[] = [];

  before(async () => {
    env = await startTestEnv();
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const p of proxies) await p.close();
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

  it('at every step boundary (kill -9), is replaced by a new worker that finishes each promotion with exactly one signature per key', { timeout: 5 * 60_000 }, async () => {
    // Each boundary is its own promotion (its own digest), reaching the registry through its own proxy.
    const runs = await Promise.all(
      BOUNDARIES.map(async (boundary) => {
        const proxy = await startHoldingProxy(env.stack.registry.address);
        proxies.push(proxy);
        const dir = await copyDir(HELLO, path.join(env.dir, `crash-${boundary.name}`));
        await fs.writeFile(path.join(dir, 'VERSION'), `crash ${boundary.name}\n`);
        const digest = (await buildImageFromDirectory(dir)).digest;
        const releaseTag = `prod-${boundary.name}`;
        const target = env.targetWith({ repository: `${proxy.address}/apps/hello`, releaseTag }, `crash-${boundary.name}`);
        const urls = boundaryUrls('apps/hello', digest, releaseTag);
        return { boundary, proxy, dir, digest, releaseTag, target, held: boundary.hold ? proxy.holdNext(boundary.hold(urls)) : undefined };
      }),
    );
    const first = await startWorkerProcess(1);
    const started = await Promise.all(runs.map((r) => env.promote({ target: r.target, source: { directory: r.dir }, build: buildFacts() })));
    await Promise.all(
      runs.map(async (r, i) => {
        if (r.boundary.approveFirst || !r.held) {
          await waitForPromotion(env.client, started[i].promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL', pollMs: 100 });
        }
        if (r.boundary.approveFirst) await env.decideAs(started[i].promotionId, 'alice', 'approve');
        await r.held;
      }),
    );
    // Asked all at once: a run held inside a local step answers its status query only at its
    // workflow task's next heartbeat (up to 8 s), and asked one after another the last held
    // request (release's) outlived the registry client's 30 s timeout and was sent again.
    const states = await Promise.all(started.map((s) => getPromotionStatus(env.client, s.promotionId)));
    for (const [i, r] of runs.entries()) assert.equal(states[i].state, r.boundary.state, `${r.boundary.name}: held where intended`);
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    const developerPem = await fs.readFile(path.join(env.keysDir, 'dev.pub'), 'utf8');
    const recordRun = runs.findIndex((r) => r.boundary.name === 'prod-sign-record');
    assert.equal((await verifyImageSignatures(env.store, 'apps/hello', started[recordRun].digest, platformPem)).valid, 1, 'the signature was written before the kill');

    first.kill('SIGKILL');
    await exited(first);
    for (const r of runs) r.proxy.dropHeld();
    await startWorkerProcess(2);
    const done = await Promise.all(
      runs.map(async (r, i) => {
        // The runs stopped before the gate reach it now, and are approved there.
        if (!r.boundary.approveFirst) {
          const waiting = await waitForPromotion(env.client, started[i].promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL', pollMs: 200 });
          assert.equal(waiting.state, 'AWAITING_APPROVAL', `${r.boundary.name}: ${waiting.error}`);
          await env.decideAs(started[i].promotionId, 'alice', 'approve');
        }
        return waitForPromotion(env.client, started[i].promotionId, { pollMs: 200 });
      }),
    );
    for (const [i, r] of runs.entries()) {
      const what = `${r.boundary.name}:`;
      assert.equal(done[i].state, 'PROMOTED', `${what} ${done[i].error}`);
      assert.equal((await verifyImageSignatures(env.store, 'apps/hello', r.digest, platformPem)).valid, 1, `${what} exactly one production signature`);
      assert.equal((await verifyImageSignatures(env.store, 'apps/hello', r.digest, developerPem)).valid, 1, `${what} exactly one developer signature`);
      const types = (pem: string) => verifyAttestations(env.store, 'apps/hello', r.digest, pem).then((a) => a.attestations.map((x) => x.predicateType).sort());
      assert.deepEqual(await types(developerPem), [SLSA_PROVENANCE_V1, SPDX_PREDICATE_TYPE].sort(), `${what} one provenance, one SBOM`);
      assert.deepEqual(await types(platformPem), [APPROVAL_PREDICATE_TYPE, VSA_PREDICATE_TYPE].sort(), `${what} one approval record, one verification summary`);
      assert.equal((await env.store.getManifest('apps/hello', r.releaseTag))?.digest, r.digest, `${what} released`);
    }
    // The retry after the kill found the signature the dead worker wrote, and attached the record it had not;
    // where the dead worker had written both, the timeline says so for both.
    const prodSignDetail = (name: string) => done[runs.findIndex((r) => r.boundary.name === name)].timeline.find((t) => t.step === 'prod-sign')?.detail ?? '';
    assert.match(prodSignDetail('prod-sign-record'), /\(signature already present\), approval record attached$/);
    assert.match(prodSignDetail('prod-sign-end'), /\(signature already present\), approval record \(already present\)$/);
    assert.match(prodSignDetail('prod-sign'), /^platform key [0-9a-f]{16}, approval record attached$/);
  });
});
