/** Shared fixtures for the Helm tests: the committed vectors and small charts made on the fly. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { CountersignError, type ErrorCode } from '../../src/errors';
import type { ChartReleaseRequest } from '../../src/helm/release-client';
import type { ApprovalPolicy } from '../../workflows/approval-messages';
import { PLATFORM_PASSWORD_ENV, type TestEnv } from '../support/env';

export const VECTORS = path.resolve(__dirname, '../vectors/helm');
export const DEMO_DIR = path.join(VECTORS, 'demo');
export const DEMO_FILE = 'demo-1.2.3.tgz';
/** Passphrase of the TEST-ONLY key in test/vectors/helm/test-key.asc (see its README). */
export const TEST_KEY_PASSPHRASE = 'countersign-helm-test-only';

export async function vector(name: string): Promise<Buffer> {
  return fs.readFile(path.join(VECTORS, name));
}

export async function tempDir(prefix = 'countersign-helm-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Writes a minimal valid chart (Chart.yaml overridable line by line) into a new temp dir. */
export async function writeChart(files: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir();
  const all: Record<string, string> = {
    'Chart.yaml': 'apiVersion: v2\nname: mini\nversion: 0.1.0\n',
    'values.yaml': 'a: 1\n',
    'templates/cm.yaml': 'kind: ConfigMap\n',
    ...files,
  };
  for (const [rel, text] of Object.entries(all)) {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), text);
  }
  return dir;
}

/** Asserts that `fn` rejects with a CountersignError of `code` (and, optionally, a message part). */
export async function rejectsWithCode(fn: () => Promise<unknown>, code: ErrorCode, part?: string | RegExp): Promise<CountersignError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CountersignError, `expected a CountersignError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (part !== undefined) assert.match(caught.message, typeof part === 'string' ? new RegExp(part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : part);
  return caught;
}

/** Where a test worker reads the test OpenPGP key's passphrase (set it in `env.workerEnv`). */
export const PGP_PASSWORD_ENV = 'COUNTERSIGN_TEST_PGP_PASSWORD';

/**
 * A release of the demo chart signed with the test OpenPGP key, published to a repository
 * directory and the test registry, the OCI manifest cosign-signed with the test platform key.
 */
export function demoReleaseRequest(env: TestEnv, approval: ApprovalPolicy, overrides: Partial<ChartReleaseRequest> = {}): ChartReleaseRequest {
  return {
    chartDir: DEMO_DIR,
    stagingDir: path.join(env.dir, 'staging'),
    pgpKey: { ref: path.join(VECTORS, 'test-key.asc'), passwordEnv: PGP_PASSWORD_ENV },
    keyringPath: path.join(VECTORS, 'keyring.gpg'),
    publish: {
      repositoryDir: path.join(env.dir, 'repo'),
      oci: `${env.stack.registry.address}/charts`,
      cosign: { ref: path.join(env.keysDir, 'platform.key'), passwordEnv: PLATFORM_PASSWORD_ENV, publicKeyPath: path.join(env.keysDir, 'platform.pub') },
      created: '2026-01-01T00:00:00Z',
    },
    approval,
    initiator: 'ci',
    ...overrides,
  };
}
