/**
 * olareg (github.com/olareg/olareg, built by scripts/toolchain.sh): an OCI 1.1 registry with the
 * Referrers API, on a free loopback port, storing under a temporary directory. Debian's
 * docker-registry (distribution 2.8) has no Referrers API, so this is where that path of cosign's
 * bundle format runs for real: in the interop tests, and in `npm run bench` with
 * BENCH_REGISTRY=olareg (bundles as referrers, no shared manifest to edit).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CountersignError } from '../errors';
import { freePort } from './ports';
import { probeRegistry } from './registry';
import { looksLikePortInUse, ServiceProcess, type RunningService } from './service';
import { locateTool } from './tools';

/** OLAREG_PATH, else the toolchain cache (one lookup for every tool: src/stack/tools.ts); undefined when not installed. */
export function olaregPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return locateTool('olareg', env);
}

export interface RunningOlareg extends RunningService {
  /** 127.0.0.1:PORT */
  address: string;
}

export interface OlaregOptions {
  /** Where olareg's output goes (kept in memory when omitted). */
  logFile?: string;
  /** Log a line for every request answered (olareg's trace level), as a bench counts them. */
  logRequests?: boolean;
  /** The directory its storage directory is made in (the system's temporary directory when omitted). */
  parentDir?: string;
}

export async function startOlareg(options: OlaregOptions = {}): Promise<RunningOlareg> {
  const command = olaregPath();
  if (!command) throw new CountersignError('STACK_ERROR', 'olareg is not installed: run `bash scripts/toolchain.sh olareg`');
  const dir = await fs.mkdtemp(path.join(options.parentDir ?? os.tmpdir(), 'countersign-olareg-'));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    // Garbage collection off: a test's untagged referrers must not vanish under it.
    const args = [...(options.logRequests ? ['-v', 'trace'] : []), 'serve', '--addr', '127.0.0.1', '--port', String(port), '--dir', dir, '--gc-frequency', '-1s', '--api-delete'];
    const proc = await ServiceProcess.start({ name: 'olareg', command, args, cwd: dir, logFile: options.logFile });
    try {
      await proc.waitUntilReady(async () => (await probeRegistry(address)) === 200, { timeoutMs: 15_000, intervalMs: 50, what: `GET http://${address}/v2/` });
    } catch (err) {
      await proc.stop(2_000).catch(() => undefined);
      if (attempt < 3 && proc.hasExited && looksLikePortInUse(proc.logTail(50))) continue;
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      address,
      pid: proc.pid,
      stop: async () => {
        await proc.stop();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  }
}
