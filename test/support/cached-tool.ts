import fs from 'node:fs';
import path from 'node:path';
import { toolCacheDir } from '../../src/stack/tools';

/**
 * A Go tool scripts/toolchain.sh builds into `<cache>/tools/<name>-<version>/<name>` (local-kms,
 * olareg): the variable `envVar` when set, else the cache; undefined when neither is an executable.
 */
export function cachedToolPath(name: string, version: string, envVar: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env[envVar], path.join(toolCacheDir(env), 'tools', `${name}-${version}`, name)];
  return candidates.find((c): c is string => {
    if (!c) return false;
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
