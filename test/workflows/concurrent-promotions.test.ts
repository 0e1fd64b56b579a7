/**
 * Many promotions of one digest at once, on a real Temporal dev server and registry, run by two
 * worker processes (so signature manifests are appended to from two processes, not only from
 * one). Twenty targets, all publishing to the same repository, share two developer keys and two
 * platform keys between them; the same promotion triggered ten times at once runs once.
 *
 * "Exactly one" is per (digest, key): however many targets promote the digest, each key signs it
 * once. Attestations are per statement: every run's provenance and every promotion's approval
 * record is its own statement, and each must be there, once.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import { APPROVAL_PREDICATE_TYPE } from '../../src/approval/constants';
import { waitForPromotion } from '../../src/client/promotions';
import { stepsOf } from '../../src/client/history-steps';
import { waitRevoting } from '../support/revote';
import { verifyAttestations } from '../../src/cosign/attestations';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { cosignTag } from '../../src/cosign/tags';
import { writeKeyPair } from '../../src/keys/file-signer';
import type { ImageManifest } from '../../src/oci/types';
import { SLSA_PROVENANCE_V1 } from '../../src/provenance/slsa';
import { spawnWorkerProcess } from '../../src/stack/worker-process';
import { TASK_QUEUE } from '../../src/temporal-names';
import { buildFacts, copyDir, startTestEnv, TEST_PASSWORD, type TestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const TARGETS = 20;
const TRIGGERS = 10;

describe('many promotions of one digest at once, two worker processes', () => {
  let env: TestEnv;
  const children: ChildProcess[] = [];

  before(async () => {
    env = await startTestEnv();
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await env?.close();
  });

  /** Starts a worker process and waits until that process (not just any worker) polls. */
  const startWorkerProcess = async (n: number) => {
    const logFile = path.join(env.dir, `worker-${n}.log`);
    const child = spawnWorkerProcess({ address: env.stack.temporal.address, logFile, env: { ...process.env, ...env.workerEnv, COUNTERSIGN_CONFIG: await env.writeConfigFile() } });
    children.push(child);
    const connection = await Connection.connect({ address: env.stack.temporal.address });
    try {
      for (;;) {
        const res = await connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: TASK_QUEUE }, taskQueueType: 2 });
        if ((res.pollers ?? []).some((p) => p.identity?.startsWith(`${child.pid}@`))) return;
        assert.ok(child.exitCode === null, `worker ${n} exited: ${await fs.readFile(logFile, 'utf8').catch(() => '')}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await connection.close();
    }
  };

  it(`${TARGETS} targets promoting one digest at once: one signature per key, every provenance and approval record kept once`, async () => {
    for (const name of ['dev-b', 'platform-b']) await writeKeyPair(env.keysDir, name, TEST_PASSWORD);
    const keyFiles = (role: 'developer' | 'platform', b: boolean) => {
      const base = role === 'developer' ? 'dev' : 'platform';
      return { key: `keys/${base}${b ? '-b' : ''}.key`, publicKey: `keys/${base}${b ? '-b' : ''}.pub` };
    };
    const targets = Array.from({ length: TARGETS }, (_, i) =>
      env.targetWith({ keys: { developer: keyFiles('developer', i % 2 === 1), platform: keyFiles('platform', Math.floor(i / 2) % 2 === 1) } }, `many-${i}`),
    );
    await startWorkerProcess(1);
    await startWorkerProcess(2);

    const dir = await copyDir(HELLO, path.join(env.dir, 'many'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'many\n');
    const started = await Promise.all(targets.map((target) => env.promote({ target, source: { directory: dir }, build: buildFacts() })));
    const digest = started[0].digest;
    assert.ok(started.every((s) => s.digest === digest && !s.attached));
    const atGate = await Promise.all(started.map((s) => waitForPromotion(env.client, s.promotionId, { until: (st) => st.state === 'AWAITING_APPROVAL', pollMs: 200 })));
    for (const s of atGate) assert.equal(s.state, 'AWAITING_APPROVAL', `${s.promotionId}: ${s.error} ${JSON.stringify(s.timeline.map((t) => [t.step, t.status, t.error]))}`);
    await Promise.all(started.map((s) => env.decideAs(s.promotionId, 'alice', 'approve')));
    // One digest: each run's provenance lands on it, so a gate may drop alice's vote and ask again.
    const done = await Promise.all(started.map((s) => waitRevoting(env, s.promotionId, 'alice')));
    for (const d of done) assert.equal(d.state, 'PROMOTED', `${d.promotionId}: ${d.error}`);

    const pem = (name: string) => fs.readFile(path.join(env.keysDir, `${name}.pub`), 'utf8');
    for (const name of ['dev', 'dev-b', 'platform', 'platform-b']) {
      assert.equal((await verifyImageSignatures(env.store, 'apps/hello', digest, await pem(name))).valid, 1, `exactly one signature by ${name}`);
    }
    const sig = JSON.parse((await env.store.getManifest('apps/hello', cosignTag(digest, 'sig')))!.data.toString('utf8')) as ImageManifest;
    assert.equal(sig.layers.length, 4, 'four keys, four signatures, nothing else');

    // Every run's provenance (by its invocation) and every promotion's approval record, each once.
    const ids = started.map((s) => s.promotionId).sort();
    const provenances: string[] = [];
    const records: string[] = [];
    for (const name of ['dev', 'dev-b', 'platform', 'platform-b']) {
      for (const a of (await verifyAttestations(env.store, 'apps/hello', digest, await pem(name))).attestations) {
        const predicate = a.statement.predicate as { runDetails?: { metadata?: { invocationId?: string } }; promotionId?: string };
        if (a.predicateType === SLSA_PROVENANCE_V1) provenances.push(String(predicate.runDetails?.metadata?.invocationId).split('/')[0]);
        if (a.predicateType === APPROVAL_PREDICATE_TYPE) records.push(String(predicate.promotionId));
      }
    }
    assert.deepEqual(provenances.sort(), ids, 'one provenance per promotion, none lost, none twice');
    assert.deepEqual(records.sort(), ids, 'one approval record per promotion, none lost, none twice');
  });

  it(`the same promotion triggered ${TRIGGERS} times at once runs once, and every caller that joined it is told so`, async () => {
    const dir = await copyDir(HELLO, path.join(env.dir, 'triggers'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'triggers\n');
    const results = await Promise.all(Array.from({ length: TRIGGERS }, () => env.promote({ source: { directory: dir }, build: buildFacts() })));
    const id = results[0].promotionId;
    assert.ok(results.every((r) => r.promotionId === id));
    assert.equal(results.filter((r) => !r.attached).length, 1, 'exactly one caller started it');
    assert.equal(results.filter((r) => r.attached).length, TRIGGERS - 1, 'every other caller attached, and is told attached: true');

    const runs = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(wf.runId);
    assert.equal(runs.length, 1, 'one run');
    await waitForPromotion(env.client, id, { until: (s) => s.state === 'AWAITING_APPROVAL', pollMs: 200 });
    await env.decideAs(id, 'alice', 'approve');
    const done = await waitForPromotion(env.client, id, { pollMs: 200 });
    assert.equal(done.state, 'PROMOTED', done.error);
    assert.match(done.timeline.find((t) => t.step === 'prod-sign')?.detail ?? '', /, approval record attached$/);
    const history = await env.client.workflow.getHandle(id).fetchHistory();
    const authorized = stepsOf(history.events ?? []).filter((s) => s.name === 'authorize');
    assert.equal(authorized.length, 1, 'authorised once');
  });
});
