/**
 * The promotion activities in an activity context (@temporalio/testing's MockActivityEnvironment,
 * the SDK's harness, not a fake of any component): each error code becomes an ApplicationFailure
 * whose type is the code and whose retryability Temporal obeys, and a step's log line never
 * carries a secret.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { asActivity } from '../../activities/failure';
import { createPromotionActivities } from '../../activities/promotion';
import { CountersignError } from '../../src/errors';
import { writeKeyPair } from '../../src/keys/file-signer';
import { keyFingerprint } from '../../src/keys/public-key';
import { createLogger } from '../../src/log';
import { RegistryStore } from '../../src/oci/registry';
import { freePort } from '../../src/stack/ports';
import { memoryKeyring, sealedRun, testPlan } from '../support/sealed-plan';

const PASSWORD = 'activity-test-password';

function failure(err: unknown): ApplicationFailure {
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

describe('promotion activities', () => {
  let dir: string;
  let fingerprint: string;
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (c) => lines.push(String(c)));

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-activities-'));
    await writeKeyPair(dir, 'platform', PASSWORD);
    fingerprint = keyFingerprint(await fs.readFile(path.join(dir, 'platform.pub'), 'utf8'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  const activities = (registry = '127.0.0.1:1') => {
    const store = new RegistryStore(registry, { timeoutMs: 2_000 });
    return createPromotionActivities({ storeFor: () => store, env: { PLATFORM_PW: PASSWORD }, log: createLogger('activity-test', sink), seal: () => keyring });
  };
  const keyring = memoryKeyring();
  const target = (repository = '127.0.0.1:1/apps/hello') => ({ repository, digest: `sha256:${'a'.repeat(64)}` });
  const platformKey = (ref: string) => {
    const key = { ref, passwordEnv: 'PLATFORM_PW', publicKeyPem: '', fingerprint };
    return sealedRun(keyring, testPlan({ ...target(), keys: { developer: { passwordEnv: 'UNUSED', publicKeyPem: '', fingerprint: 'other' }, platform: key } }));
  };

  it('checkKeys opens a pinned key and logs the step without the passphrase', async () => {
    const result = (await new MockActivityEnvironment({ activityType: 'checkKeys' }).run(activities().checkKeys, platformKey(path.join(dir, 'platform.key')))) as { checked: string[] };
    assert.deepEqual(result.checked, [`platform ${fingerprint.slice(0, 16)}`]);
    const logged = lines.join('');
    assert.match(logged, /"step":"checkKeys"/);
    assert.ok(!logged.includes(PASSWORD), 'the passphrase is never logged');
  });

  it('a missing key file fails at once: KEY_MISSING, not retried', async () => {
    const missing = path.join(dir, 'nope.key');
    const err = failure(await new MockActivityEnvironment({ activityType: 'checkKeys' }).run(activities().checkKeys, platformKey(missing)).catch((e) => e));
    assert.equal(err.type, 'KEY_MISSING');
    assert.equal(err.nonRetryable, true);
    assert.ok(err.message.includes(missing), err.message);
  });

  it('a wrong passphrase fails at once and says which variable held it, never its value', async () => {
    const wrong = createPromotionActivities({ storeFor: () => new RegistryStore('127.0.0.1:1'), env: { PLATFORM_PW: 'not-it' }, seal: () => keyring });
    const err = failure(await new MockActivityEnvironment().run(wrong.checkKeys, platformKey(path.join(dir, 'platform.key'))).catch((e) => e));
    assert.equal(err.type, 'KEY_WRONG_PASSPHRASE');
    assert.equal(err.nonRetryable, true, `${err.type}: ${err.message}`);
    assert.match(err.message, /^KEY_WRONG_PASSPHRASE: [^:]+platform\.key: cannot decrypt the private key: wrong passphrase .*; the passphrase was read from \$PLATFORM_PW$/);
    assert.ok(!err.message.includes('not-it'));
  });

  it('an unreachable registry is retryable: REGISTRY_UNREACHABLE', async () => {
    const port = await freePort(); // nothing listens here
    const run = sealedRun(keyring, testPlan(target(`127.0.0.1:${port}/apps/hello`)));
    const err = failure(await new MockActivityEnvironment({ activityType: 'resolveImage' }).run(activities(`127.0.0.1:${port}`).resolveImage, run).catch((e) => e));
    assert.equal(err.type, 'REGISTRY_UNREACHABLE');
    assert.equal(err.nonRetryable, false);
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  });

  it('an error that is not ours passes through unchanged, so the SDK retries it as a bug', async () => {
    const bug = new TypeError('undefined is not a function');
    const thrown = await new MockActivityEnvironment().run(() => asActivity(undefined, async () => { throw bug; })).catch((e) => e);
    assert.equal(thrown, bug);
    const ours = await new MockActivityEnvironment().run(() => asActivity(undefined, async () => { throw new CountersignError('POLICY_MISMATCH', 'commit expected abc1234, attested 9f00e1c', { details: { field: 'commit' } }); })).catch((e) => e);
    assert.equal(failure(ours).type, 'POLICY_MISMATCH');
    assert.equal(failure(ours).nonRetryable, true);
    assert.deepEqual(failure(ours).details, [{ field: 'commit' }]);
  });
});
