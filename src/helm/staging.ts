/**
 * The worker's private staging area for chart releases: where a run keeps its archive (and, once
 * approved, its .prov and bundle) between steps. The place is the worker's own (its environment),
 * one directory per run, mode 0700, files 0600; nothing in a workflow input names it, and a run
 * removes its directory however it ends.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CountersignError } from '../errors';

export const STAGING_DIR_ENV = 'COUNTERSIGN_STAGING_DIR';

/** $COUNTERSIGN_STAGING_DIR, else $COUNTERSIGN_HOME/staging, else ~/.countersign/staging (the worker's environment). */
export function stagingRoot(env: NodeJS.ProcessEnv): string {
  if (env[STAGING_DIR_ENV]) return path.resolve(env[STAGING_DIR_ENV]!);
  return path.resolve(env.COUNTERSIGN_HOME || path.join(os.homedir(), '.countersign'), 'staging');
}

/** `<root>/<runId>`; a run id is a UUID, so it cannot climb out of the root. */
export function runStagingDir(root: string, runId: string): string {
  if (!/^[0-9A-Za-z][0-9A-Za-z-]{7,63}$/.test(runId)) throw new CountersignError('BAD_INPUT', `"${runId}" is not a run id`);
  return path.join(root, runId);
}

/** Creates `dir` (and the staging root above it) private to the worker: mode 0700 whatever was there. */
export async function ensurePrivateDir(root: string, dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone: tighten both.
  for (const d of [root, dir]) {
    const st = await fsp.lstat(d);
    if (!st.isDirectory()) throw new CountersignError('BAD_INPUT', `staging ${d} is not a directory`);
    if ((st.mode & 0o777) !== 0o700) await fsp.chmod(d, 0o700);
  }
}

/** Writes `file` with mode 0600, replacing what was there (a retry), never through an existing file's mode. */
export async function writePrivate(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await fsp.writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** Removes a run's staging directory; returns the names of the files that were in it. */
export async function removeStaged(dir: string): Promise<string[]> {
  const names = await fsp.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  await fsp.rm(dir, { recursive: true, force: true });
  return names.sort();
}
