/** Shared fixtures for the Helm tests: the committed vectors and small charts made on the fly. */
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { CountersignError, type ErrorCode } from '../../src/errors';
import { startChartRelease, type ChartReleaseRequest, type StartedChartRelease } from '../../src/client/chart-releases';
import { INITIATOR, PLATFORM_PASSWORD_ENV, type TestEnv } from '../support/env';

export const VECTORS = path.resolve(__dirname, '../vectors/helm');
export const DEMO_DIR = path.join(VECTORS, 'demo');
export const DEMO_FILE = 'demo-1.2.3.tgz';
/** Passphrase of the TEST-ONLY key in test/vectors/helm/test-key.asc (see its README). */
export const TEST_KEY_PASSPHRASE = 'countersign-helm-test-only';

export async function vector(name: string): Promise<Buffer> {
  return fs.readFile(path.join(VECTORS, name));
}

/** Temp dirs made here, removed when the test process exits (each run used to leave about 70 behind). */
const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export async function tempDir(prefix = 'countersign-helm-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Writes a minimal valid chart (Chart.yaml overridable line by line) into a new temp dir (under `parent` when given). */
export async function writeChart(files: Record<string, string> = {}, parent?: string): Promise<string> {
  const dir = parent ? await fs.mkdtemp(path.join(parent, 'chart-')) : await tempDir();
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
 * A chart target (the worker's `charts:` entry) that signs with the test OpenPGP key and its
 * keyring, bundles and cosign-signs with the test platform key, and publishes to a repository
 * directory and the test registry; charts may come from the Helm vectors and the test directory.
 */
export function demoChartTarget(env: TestEnv, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sources: [VECTORS, env.dir],
    signing: { key: path.join(VECTORS, 'test-key.asc'), keyring: path.join(VECTORS, 'keyring.gpg'), passphraseEnv: PGP_PASSWORD_ENV },
    cosign: { key: path.join(env.keysDir, 'platform.key'), publicKey: path.join(env.keysDir, 'platform.pub'), passwordEnv: PLATFORM_PASSWORD_ENV },
    publish: { repositoryDir: path.join(env.dir, 'repo'), oci: `${env.stack.registry.address}/charts` },
    ...overrides,
  };
}

/** Starts a release of `chartDir` (default the demo chart) to chart target `target`, signed by `initiator` (default ci). */
export async function releaseChart(
  env: TestEnv,
  target: string,
  request: Partial<Omit<ChartReleaseRequest, 'target' | 'signer'>> = {},
): Promise<StartedChartRelease> {
  const initiator = request.initiator ?? INITIATOR;
  return startChartRelease(env.client, { chartDir: DEMO_DIR, ...request, target, initiator, signer: await env.signer(initiator) });
}

/** Every file under `dir` (paths relative to it, sorted), or [] when it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name))).sort();
}
