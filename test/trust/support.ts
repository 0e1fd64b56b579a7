/** A config with a trust store on top of the workflow test environment (test/support/env.ts). */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseConfig, type Config } from '../../src/config';
import { signAndDecide } from '../../src/client/promotions';
import { FileSigner } from '../../src/keys/file-signer';
import { ceremonyInput, rotationIdFor, startRotation, trustConfig } from '../../src/trust/client';
import { keyWorkflowStatus } from '../../src/trust/client';
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
  return parseConfig(raw, path.join(env.dir, 'countersign.yaml'));
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

/** Starts a rotation (and so a ceremony) by hand, with the initiator's signed request. */
export async function startCeremony(env: TestEnv, config: Config, trust: string, initiator: string, opts: { deadlineMs?: number; retirePollMs?: number } = {}) {
  // Rotation ids carry the start time to the second; an offset keeps parallel tests apart.
  const at = new Date(Date.now() + Math.floor(Math.random() * 1e6));
  const input = await ceremonyInput(config, trustConfig(config, trust), initiator, {
    signer: await requestSigner(env, initiator),
    scope: `rotation:${rotationIdFor(trust, at)}`,
    deadlineMs: opts.deadlineMs,
  });
  return { input, ...(await startRotation(env.client, { ceremony: input, retirePollMs: opts.retirePollMs ?? 300 }, at)) };
}

/** Runs a whole ceremony (as a rotation) with two custodians; returns the rotation's final status. */
export async function runCeremony(env: TestEnv, config: Config, trust = 'platform', initiator = 'erin') {
  const { rotationId, ceremonyId } = await startCeremony(env, config, trust, initiator);
  await until(() => keyWorkflowStatus(env.client, ceremonyId), (s) => s.type === 'ceremony' && s.status.approval.state === 'OPEN');
  await join(env, ceremonyId, 'bob');
  await join(env, ceremonyId, 'carol');
  const done = await until(() => keyWorkflowStatus(env.client, ceremonyId), (s) => s.type === 'ceremony' && s.status.state !== 'AWAITING_CUSTODIANS' && s.status.state !== 'CREATING' && s.status.state !== 'PUBLISHING', 60_000);
  return { rotationId, ceremonyId, ceremony: done.status as import('../../workflows/key-ceremony-messages').CeremonyStatus };
}
