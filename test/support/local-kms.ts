/**
 * local-kms (github.com/nsmithuk/local-kms, built by scripts/toolchain.sh) on a free port, with its
 * database in a temporary directory so a restart keeps the keys. It honours MessageType DIGEST,
 * so signatures made through it verify with stock cosign. It has no bind-address option and
 * listens on every interface; it holds only throwaway test keys and lives as long as a test file.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { locateTool } from '../../src/stack/tools';
import { stablePort } from './stable-port';
import { serveKms, TEST_AWS_ENV, type KmsTestServer } from './kms-server';

/** LOCAL_KMS_PATH, else the toolchain cache (one lookup for every tool: src/stack/tools.ts); undefined when not installed. */
export function localKmsPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return locateTool('local-kms', env);
}

export async function startLocalKms(): Promise<KmsTestServer> {
  const command = localKmsPath();
  if (!command) throw new Error('local-kms is not installed: run `bash scripts/toolchain.sh local-kms`');
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-local-kms-'));
  // restart() binds the same port again after an outage: one from below the ephemeral range (stable-port.ts).
  const port = await stablePort();
  const env = {
    PATH: process.env.PATH,
    PORT: String(port),
    KMS_REGION: TEST_AWS_ENV.AWS_REGION,
    KMS_ACCOUNT_ID: '111122223333',
    KMS_DATA_PATH: dataDir,
    KMS_SEED_PATH: path.join(dataDir, 'no-seed.yaml'),
  };
  return serveKms({ name: 'local-kms', port, command, args: [], env, cleanup: () => fs.rm(dataDir, { recursive: true, force: true }) });
}
