/**
 * Runs listTar on the archive in workerData inside a worker thread with a small heap, so a test
 * can tell "refused" from "ran until the heap was gone" without taking its own process down.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CountersignError } from '../../src/errors';
import { listTar } from '../../src/oci/tar';

try {
  const entries = listTar(Buffer.from(workerData as Uint8Array));
  parentPort!.postMessage({ entries: entries.length });
} catch (err) {
  parentPort!.postMessage({ code: err instanceof CountersignError ? err.code : (err as Error).name, message: (err as Error).message });
}
