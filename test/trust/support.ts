/**
 * A trust store on top of the workflow test environment (test/support/env.ts): added to the
 * worker's configuration (the authority), and written as the caller's copy for the CLI.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseConfig, type Config } from '../../src/config';
import { hasCode, type ErrorCode } from '../../src/errors';
import { signAndDecide } from '../../src/client/promotions';
import { FileSigner } from '../../src/keys/file-signer';
import { keyWorkflowStatus, rotationIdFor, signCeremonyRequest, startRotation, trustConfig, waitForCeremonyAuthorization } from '../../src/client/trust';
import type { CeremonyStatus } from '../../workflows/key-ceremony-messages';
import { APPROVERS, BUILD_COMMAND, BUILDER_ID, DEV_PASSWORD_ENV, PLATFORM_PASSWORD_ENV, SOURCE_REPO, TEST_PASSWORD, type TestEnv } from '../support/env';

export function trustTestConfig(env: TestEnv, trust: Record<string, unknown>, name = 'platform'): Config {
  const approvers = Object.fromEntries(APPROVERS.map((n) => [n, { publicKey: `keys/${n}.pub`, identities: [`${n}@example.com`] }]));
  const raw = {
    approvers,
    trust: {
      [name]: {
        kind: 'cosign',
        publishDir: `trust-${name}/public`,
        stateFile: `trust-${name}/private/state.json`,
        passwordEnv: PLATFORM_PASSWORD_ENV,
        governance: ['erin', 'alice'],
        custodians: { members: ['alice', 'bob', 'carol'], required: 2, deadline: '1h' },
        overlap: '2s',
        ...trust,
      },
    },
    targets: {
      prod: {
        repository: `${env.stack.registry.address}/apps/hello`,
        policy: { sourceRepo: SOURCE_REPO, builderIds: [BUILDER_ID], buildCommand: BUILD_COMMAND, requireCommit: true },
        approval: { approvers: ['alice', 'bob'], required: 1, deadline: '1h' },
        keys: {
          developer: { key: 'keys/dev.key', publicKey: 'keys/dev.pub', passwordEnv: DEV_PASSWORD_ENV },
          platform: trust.kind === 'openpgp' ? { key: 'keys/platform.key', publicKey: 'keys/platform.pub', passwordEnv: PLATFORM_PASSWORD_ENV } : { trust: name },
        },
      },
    },
  };
  // Also on disk, for CLI commands (--config); paths are relative to it either way.
  fs.writeFileSync(path.join(env.dir, `countersign-${name}.yaml`), YAML.stringify(raw));
  const parsed = parseConfig(raw, path.join(env.dir, 'countersign.yaml'));
  env.config.trust[name] = parsed.trust[name];
  return parsed;
}

/** Signs a custodian's statement with their test key. */
export async function join(env: TestEnv, ceremonyId: string, custodian: string) {
  const signer = await FileSigner.load(path.join(env.keysDir, `${custodian}.key`), TEST_PASSWORD);
  return signAndDecide(env.client, ceremonyId, { approver: custodian, decision: 'approve', signer });
}

export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined;
    try {
      value = await fn();
      if (ok(value)) return value;
    } catch (err) {
      if (Date.now() > end) throw err;
    }
    if (Date.now() > end) throw new Error(`timed out; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The initiator's test key, which signs ceremony requests as `countersign keys ceremony --key` does. */
export function requestSigner(env: TestEnv, who: string): Promise<FileSigner> {
  return FileSigner.load(path.join(env.keysDir, `${who}.key`), TEST_PASSWORD);
}

/** Starts a rotation (and so a ceremony) by hand, with the initiator's signed request, as `keys ceremony` does. */
/** Each file's rotations start within this much of now (its own random offset), a second apart. */
const processOffsetMs = Math.floor(Math.random() * 1e6);
let rotationsStarted = 0;

/**
 * A start time for a rotation: rotation (and ceremony) ids carry it to the second, so two of one
 * trust must never share one. Each call is at least a second past the one before in this process
 * (a random offset alone let two rotations of one test collide, one time in a thousand), and the
 * process's random offset keeps ids apart from those of other test files.
 */
export function rotationStartTime(): Date {
  return new Date(Date.now() + processOffsetMs + ++rotationsStarted * 1000);
}

export async function startCeremony(env: TestEnv, config: Config, trust: string, initiator: string, opts: { deadlineMs?: number; retirePollMs?: number } = {}) {
  const at = rotationStartTime();
  const { request, planDigest } = await signCeremonyRequest(config, trustConfig(config, trust), initiator, {
    signer: await requestSigner(env, initiator),
    scope: `rotation:${rotationIdFor(trust, at)}`,
    deadlineMs: opts.deadlineMs,
  });
  return { request, planDigest, ...(await startRotation(env.client, { trust, request, retirePollMs: opts.retirePollMs ?? 300 }, at)) };
}

/** Runs a whole ceremony (as a rotation) with two custodians; returns the rotation's final status. */
export async function runCeremony(env: TestEnv, config: Config, trust = 'platform', initiator = 'erin') {
  const started = await startCeremony(env, config, trust, initiator);
  const { rotationId, ceremonyId } = started;
  // As keys ceremony waits: REFUSED, or custodians asked.
  const answer = await waitForCeremonyAuthorization(env.client, started);
  if (answer.state === 'REFUSED') return { rotationId, ceremonyId, ceremony: answer };
  await join(env, ceremonyId, 'bob');
  await join(env, ceremonyId, 'carol');
  const done = await until(() => keyWorkflowStatus(env.client, ceremonyId), (s) => s.type === 'ceremony' && !['AUTHORIZING', 'AWAITING_CUSTODIANS', 'CREATING', 'PUBLISHING'].includes(s.status.state), 60_000);
  return { rotationId, ceremonyId, ceremony: done.status as CeremonyStatus };
}

/** parseConfig wants a target; this one signs with the store's key. */
export function minimalTarget() {
  return {
    prod: {
      repository: '127.0.0.1:5000/apps/hello',
      policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'] },
      approval: { approvers: ['alice'] },
      keys: { developer: { publicKey: 'keys/dev.pub' }, platform: { trust: 'platform' } },
    },
  };
}

/** Asserts the promise fails with a CountersignError of `code` whose message matches. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(promise, (e: Error) => {
    assert.ok(hasCode(e, code), `expected ${code}, got ${e.message}`);
    assert.match(e.message, message);
    return true;
  });
}
