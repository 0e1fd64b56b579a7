/**
 * Publishing a ceremony's key: the index entry records who asked and who joined; the same run
 * retrying its step is still its publication; another run of the same ceremony id makes and
 * publishes nothing and says what the key is now.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKey, type CreatedKey } from '../../src/trust/create-key';
import { readIndex } from '../../src/trust/index-file';
import { publishKey } from '../../src/trust/publish';
import { TrustStore } from '../../src/trust/store';

const PASSWORD_ENV = 'COUNTERSIGN_TEST_PUBLISH_PASSWORD';

describe('publishing a ceremony key', () => {
  let dir: string;
  let created: CreatedKey;
  const location = () => ({ name: 'platform', publishDir: path.join(dir, 'public'), stateFile: path.join(dir, 'private', 'state.json') });
  const ceremony = 'key-ceremony-platform-2026-11-21T23:10:00Z';
  const issuance = (runId: string) => ({ requester: 'erin', custodians: ['bob', 'carol'], workflowId: ceremony, runId });

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-publish-'));
    created = await createKey({ kind: 'cosign', backend: { type: 'file', keyDir: path.join(dir, 'private', 'keys'), passwordEnv: PASSWORD_ENV }, name: ceremony }, { [PASSWORD_ENV]: 'pw' });
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('records the requester, the custodians and the run in the index entry', async () => {
    const first = await publishKey(location(), created, { ceremony, overlapMs: 1000, issuance: issuance('run-1') });
    assert.equal(first.earlier, undefined);
    const entry = (await readIndex(location().publishDir)).keys[0];
    assert.deepEqual({ ...entry.issuance, at: undefined }, { ...issuance('run-1'), at: undefined });
    assert.ok(Date.parse(entry.issuance!.at) > 0);
  });

  it('the same run retrying the step gets its own publication back', async () => {
    const retried = await publishKey(location(), created, { ceremony, overlapMs: 1000, issuance: issuance('run-1') });
    assert.equal(retried.earlier, undefined);
    assert.equal(retried.key.status, 'active');
  });

  it('another run of the same ceremony id makes nothing, and says what the key is now', async () => {
    const store = new TrustStore(location());
    const key = (await store.index()).keys[0];
    const replayed = await publishKey(location(), created, { ceremony, overlapMs: 1000, issuance: issuance('run-2') });
    assert.equal(replayed.earlier, `key ${key.id} was already published by run run-1 of ${ceremony} at ${key.validFrom} and is active now: nothing was made or published`);
    assert.deepEqual(replayed.retiring, [], 'nothing retires on its account');

    await store.setStatus(key.id, 'retiring', 'superseded');
    await store.setStatus(key.id, 'retired', 'superseded');
    const later = await publishKey(location(), created, { ceremony, overlapMs: 1000, issuance: issuance('run-3') });
    assert.match(later.earlier ?? '', /and is retired now: nothing was made or published$/);
    const index = await readIndex(location().publishDir);
    assert.equal(index.keys.length, 1);
    assert.equal(index.keys[0].issuance?.runId, 'run-1', 'the record of who made it stays');
  });
});
