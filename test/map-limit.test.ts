/** The concurrency helpers: mapLimit's bound on calls in flight, settleAll's wait for every call before it answers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapLimit, settleAll } from '../src/map-limit';

const tick = () => new Promise((r) => setImmediate(r));

test('mapLimit keeps at most `limit` calls in flight and gives results in input order', async () => {
  let inFlight = 0;
  let most = 0;
  const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
    most = Math.max(most, ++inFlight);
    for (let i = 0; i < n; i++) await tick();
    inFlight--;
    return n * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30]);
  assert.equal(most, 2);
  await assert.rejects(mapLimit([1], 0, async (n) => n), RangeError);
});

test('settleAll starts every call at once and answers only once all have settled, with the first error in input order', async () => {
  const started: number[] = [];
  const settled: number[] = [];
  const out = await settleAll([3, 1, 2], async (n) => {
    started.push(n);
    for (let i = 0; i < n; i++) await tick();
    settled.push(n);
    return n;
  });
  assert.deepEqual(out, [3, 1, 2]);
  assert.deepEqual(started, [3, 1, 2], 'all started before any finished');

  settled.splice(0);
  const failing = settleAll([4, 1, 2], async (n) => {
    for (let i = 0; i < n; i++) await tick();
    settled.push(n);
    if (n !== 4) throw new Error(`failed ${n}`);
    return n;
  });
  // The 1 fails first in time, the 2 too; the error is the first in input order, and the slow 4 has finished by then.
  await assert.rejects(failing, /failed 1/);
  assert.deepEqual([...settled].sort(), [1, 2, 4]);
});
