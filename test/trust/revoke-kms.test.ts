/**
 * Revoking a KMS key with `revocation: { disableKmsKey: true }`, against a real KMS API (moto):
 * the key made by the ceremony's code is disabled in KMS as well as revoked in the index; a retry
 * finds it disabled; without the setting KMS is not touched; a KMS that is down leaves the
 * revocation standing and says the key is not disabled.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { parseKmsRef } from '../../src/keys/kms-ref';
import { createKey } from '../../src/trust/create-key';
import { readIndex } from '../../src/trust/index-file';
import { publishKey } from '../../src/trust/publish';
import { revokeStoreKey } from '../../src/trust/revoke';
import type { KmsTestServer } from '../support/kms-server';
import { startMoto } from '../support/moto';

describe('revocation disables the KMS key when the store asks', () => {
  let moto: KmsTestServer;
  let dir: string;
  const location = () => ({ name: 'platform', publishDir: path.join(dir, 'public'), stateFile: path.join(dir, 'private', 'state.json') });
  const record = (id: string) => ({ signers: ['erin'], at: new Date().toISOString(), reason: 'test: leaked', workflowId: `key-revocation-platform-${id}` });
  /** A key made and published the way a ceremony makes it, in moto. */
  const ceremonyKey = async (name: string) => {
    const created = await createKey({ kind: 'cosign', backend: { type: 'kms', endpoint: moto.address, aliasPrefix: 'countersign-revoke' }, name }, moto.env);
    const { key } = await publishKey(location(), created, { ceremony: name, overlapMs: 0 });
    return { key, ref: created.ref };
  };
  const state = async (ref: string) => (await moto.client.send(new DescribeKeyCommand({ KeyId: parseKmsRef(ref).keyId }))).KeyMetadata?.KeyState;

  before(async () => {
    moto = await startMoto();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-revoke-kms-'));
  });
  after(async () => {
    await moto?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('disables the key behind the alias, keeps the revocation idempotent, and leaves KMS alone when not asked', async () => {
    const { key, ref } = await ceremonyKey('key-ceremony-platform-2026-01-01T00-00-00Z');
    assert.equal(await state(ref), 'Enabled');
    const revoked = await revokeStoreKey(location(), key.id, key.fingerprint, record(key.id), { disableKmsKey: true, env: moto.env });
    assert.deepEqual(revoked.kms, { ref, disabled: true });
    assert.equal(revoked.key.status, 'revoked');
    assert.equal(await state(ref), 'Disabled');
    assert.deepEqual((await revokeStoreKey(location(), key.id, key.fingerprint, record(key.id), { disableKmsKey: true, env: moto.env })).kms, { ref, disabled: true }, 'a retry finds it disabled');

    const other = await ceremonyKey('key-ceremony-platform-2026-02-01T00-00-00Z');
    const plain = await revokeStoreKey(location(), other.key.id, other.key.fingerprint, record(other.key.id), { env: moto.env });
    assert.equal(plain.kms, undefined);
    assert.equal(await state(other.ref), 'Enabled', 'without disableKmsKey the key stays as it is in KMS');
  });

  it('a KMS that is down leaves the revocation standing and says the key is not disabled', async () => {
    const { key, ref } = await ceremonyKey('key-ceremony-platform-2026-03-01T00-00-00Z');
    await moto.stop();
    try {
      const revoked = await revokeStoreKey(location(), key.id, key.fingerprint, record(key.id), { disableKmsKey: true, env: moto.env });
      assert.equal(revoked.kms?.disabled, false);
      assert.equal(revoked.kms?.ref, ref);
      assert.match(revoked.kms?.error ?? '', /awskms:\/\/.*(ECONNREFUSED|connect|unreachable|timed out)/i);
      assert.equal((await readIndex(location().publishDir)).keys.find((k) => k.id === key.id)?.status, 'revoked');
    } finally {
      await moto.restart();
    }
  });
});
