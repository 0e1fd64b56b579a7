/**
 * Loaded into the bench's worker with `node --require` (bench/gate.ts). Worker threads inherit the
 * flag, so it runs in the main thread and in the SDK's workflow thread too; each has its own V8
 * heap, which `process.memoryUsage()` in the main thread does not show.
 *
 * The bench asks through `<dir>/request` ({ seq, gc, snapshot }); each thread answers in
 * `<dir>/<label>.json` with its heap statistics, after a full GC when asked (the worker runs with
 * --expose-gc) and after writing a heap snapshot when `snapshot` names one. Plain CommonJS so it
 * loads before tsx.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const { isMainThread, threadId } = require('node:worker_threads');

const dir = process.env.BENCH_MEMORY_DIR;
if (dir) {
  let handled = 0;
  // The SDK's workflow thread is the one that loaded its entry point; named so the bench can find it.
  const label = () =>
    isMainThread ? 'main' : Object.keys(require.cache).some((k) => k.includes('workflow-worker-thread')) ? 'workflow' : `thread-${threadId}`;
  const timer = setInterval(() => {
    let request;
    try {
      request = JSON.parse(fs.readFileSync(path.join(dir, 'request'), 'utf8'));
    } catch {
      return;
    }
    if (!(request.seq > handled)) return;
    handled = request.seq;
    if (request.gc && typeof globalThis.gc === 'function') globalThis.gc();
    const name = label();
    const snapshot = request.snapshot ? v8.writeHeapSnapshot(path.join(dir, `${request.snapshot}-${name}.heapsnapshot`)) : undefined;
    const heap = v8.getHeapStatistics();
    const answer = { seq: request.seq, label: name, heap, memory: process.memoryUsage(), snapshot };
    fs.writeFileSync(path.join(dir, `${name}.json.tmp`), JSON.stringify(answer));
    fs.renameSync(path.join(dir, `${name}.json.tmp`), path.join(dir, `${name}.json`));
  }, 250);
  timer.unref();
}
