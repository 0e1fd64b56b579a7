/**
 * Parked promotions evicted from the worker's workflow cache (the bounded default keeps memory
 * flat with many parked: docs/benchmarks.md) are replayed from history when their decision
 * arrives, and decide as if they had stayed in memory. Real dev server, registry and worker; a
 * cache of two forces the evictions.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Worker } from '@temporalio/worker';
import { waitForGate, waitForPromotion } from '../../src/client/promotions';
import { createWorker } from '../../workers/worker';
import { buildFacts, copyDir, useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');
/** The SDK's smallest cache that is on (0 turns it off, 1 is raised to 2). */
const CACHE = 2;

describe('parked promotions evicted from the workflow cache', () => {
  const env = useTestEnv({ worker: false });
  let worker: Worker | undefined;
  let stop: (() => Promise<void>) | undefined;
  after(async () => {
    await stop?.();
  });

  it(`with a cache of ${CACHE}, the promotion parked longest (evicted) is PROMOTED on approval another REJECTED on rejection, the last PROMOTED`, async () => {
    const created = await createWorker({ address: env.stack.temporal.address, env: env.workerEnv, config: () => env.config, maxCachedWorkflows: CACHE });
    worker = created.worker;
    const running = worker.run();
    stop = async () => {
      if (worker!.getState() === 'RUNNING') worker!.shutdown();
      await running.catch(() => undefined);
      await created.close();
    };
    assert.equal(worker.options.maxCachedWorkflows, CACHE);

    const park = async (name: string) => {
      const dir = await copyDir(HELLO, path.join(env.dir, name));
      await fs.writeFile(path.join(dir, 'VERSION'), `${name}\n`);
      const started = await env.promote({ source: { directory: dir }, build: buildFacts() });
      const status = await waitForGate(env.client, started.promotionId);
      assert.equal(status.state, 'AWAITING_APPROVAL', `${name}: ${status.error}`);
      return started.promotionId;
    };
    // Parked one after another: each later one (and the waits on it) is used after the first, so
    // the least recently used, the first, is out of a cache that holds two.
    const first = await park('first');
    const second = await park('second');
    const third = await park('third');
    assert.ok(worker.getStatus().numCachedWorkflows <= CACHE, `at most ${CACHE} of 3 parked promotions are in memory`);

    await env.decideAs(first, 'alice', 'approve', 'approved after eviction');
    const promoted = await waitForPromotion(env.client, first);
    assert.equal(promoted.state, 'PROMOTED', promoted.error);
    assert.deepEqual(
      promoted.timeline.map((t) => [t.step, t.status]).slice(-3),
      [
        ['approval', 'succeeded'],
        ['prod-sign', 'succeeded'],
        ['release', 'succeeded'],
      ],
    );
    assert.deepEqual(
      promoted.approval.votes.map((v) => [v.approver, v.decision]),
      [['alice', 'approve']],
    );

    // Replaying the first pushed the least recently used of the others out in turn.
    await env.decideAs(second, 'bob', 'reject', 'rejected after eviction');
    const rejected = await waitForPromotion(env.client, second);
    assert.equal(rejected.state, 'REJECTED');
    assert.match(rejected.error ?? '', /rejected after eviction/);

    // Whichever of the three the cache really let go (at least one, however it orders them), each decided.
    await env.decideAs(third, 'bob', 'approve');
    assert.equal((await waitForPromotion(env.client, third)).state, 'PROMOTED');
    assert.ok(worker.getStatus().numCachedWorkflows <= CACHE);
  });
});
