import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasCode } from '../../src/errors';
import { belongsToStore, canTransition, emptyIndex, findKey, readIndex, transition, validateIndex, writeIndex, type TrustIndex } from '../../src/trust/index-file';
import { TrustStore } from '../../src/trust/store';
import { judgeSignature } from '../../src/trust/validity';

const FP1 = 'a'.repeat(64);
const FP2 = 'b'.repeat(64);
const T0 = new Date('2026-01-01T00:00:00Z');

function key(id: string, fingerprint: string, status: 'active' | 'retiring' = 'active') {
  return { id, kind: 'cosign' as const, fingerprint, file: `${id}.pem`, created: T0.toISOString(), validFrom: T0.toISOString(), validUntil: null, status, reason: 'test', statusChangedAt: T0.toISOString() };
}

describe('trust index', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-trust-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('round-trips through an atomic write and leaves no temporary files', async () => {
    const index: TrustIndex = { ...emptyIndex(T0), keys: [key('k1', FP1)] };
    await writeIndex(dir, index);
    assert.deepEqual(await readIndex(dir), index);
    assert.deepEqual((await fs.readdir(dir)).filter((f) => f.includes('.tmp-')), []);
  });

  it('reads an absent index as empty', async () => {
    assert.deepEqual((await readIndex(path.join(dir, 'nothing'))).keys, []);
  });

  it('refuses a corrupt or invalid index with TRUST_INDEX_CORRUPT and every problem', async () => {
    const bad = path.join(dir, 'bad');
    await fs.mkdir(bad);
    await fs.writeFile(path.join(bad, 'index.json'), '{"schemaVersion": 1, "keys": [');
    await assert.rejects(readIndex(bad), (e) => hasCode(e, 'TRUST_INDEX_CORRUPT'));
    await assert.rejects(
      async () => validateIndex({ schemaVersion: 2, keys: [{ ...key('x', 'zz'), status: 'lost', file: '../etc/passwd' }] }, 'test'),
      (e: Error) => hasCode(e, 'TRUST_INDEX_CORRUPT') && /schemaVersion/.test(e.message) && /status/.test(e.message) && /fingerprint/.test(e.message) && /file/.test(e.message),
    );
  });

  it('allows only the lifecycle transitions', () => {
    assert.ok(canTransition('active', 'retiring'));
    assert.ok(canTransition('retiring', 'retired'));
    assert.ok(canTransition('retired', 'revoked'));
    assert.ok(!canTransition('active', 'retired'));
    assert.ok(!canTransition('revoked', 'active'));
    const index = { ...emptyIndex(T0), keys: [key('k1', FP1)] };
    assert.throws(() => transition(index, 'k1', 'retired', 'x', T0), (e) => hasCode(e, 'BAD_INPUT'));
    const revoked = transition(index, 'k1', 'revoked', 'leaked', new Date('2026-02-01T00:00:00Z'));
    assert.equal(revoked.keys[0].status, 'revoked');
    assert.equal(revoked.keys[0].validUntil, '2026-02-01T00:00:00.000Z');
  });

  it('finds keys by id, fingerprint or a unique fingerprint prefix', () => {
    const index = { ...emptyIndex(T0), keys: [key('k1', FP1), key('k2', FP2)] };
    assert.equal(findKey(index, 'k2')?.fingerprint, FP2);
    assert.equal(findKey(index, FP1)?.id, 'k1');
    assert.equal(findKey(index, 'bbbbbbbb')?.id, 'k2');
    assert.equal(findKey(index, 'cccccccc'), undefined);
  });

  it('publishes: new key active, the previous one retiring, private refs outside the published directory', async () => {
    const publishDir = path.join(dir, 'cdn');
    const stateFile = path.join(dir, 'private', 'state.json');
    const store = new TrustStore({ publishDir, stateFile });
    await store.publish(key('k1', FP1), Buffer.from('pem1'), { ref: '/keys/k1.key', passwordEnv: 'PW' }, { now: T0, overlapMs: 60_000 });
    const second = await store.publish(key('k2', FP2), Buffer.from('pem2'), { ref: 'awskms:///alias/x' }, { now: new Date('2026-02-01T00:00:00Z'), overlapMs: 60_000 });
    assert.deepEqual(second.retiring.map((k) => [k.id, k.status, k.retireAfter]), [['k1', 'retiring', '2026-02-01T00:01:00.000Z']]);
    assert.equal((await store.active('cosign')).id, 'k2');
    const published = await fs.readdir(publishDir);
    assert.deepEqual(published.sort(), ['index.json', 'k1.pem', 'k2.pem']);
    assert.ok(!(await fs.readFile(path.join(publishDir, 'index.json'), 'utf8')).includes('/keys/k1.key'), 'no private reference is published');
    assert.equal((await store.privateRef('k1')).ref, '/keys/k1.key');
    assert.equal((await fs.stat(stateFile)).mode & 0o777, 0o600);
  });

  it('stores sharing a directory each see their own keys: a ceremony in one never retires the other\'s key', async () => {
    const publishDir = path.join(dir, 'shared');
    const a = new TrustStore({ name: 'a', publishDir, stateFile: path.join(dir, 'private', 'a.json') });
    const b = new TrustStore({ name: 'b', publishDir, stateFile: path.join(dir, 'private', 'b.json') });
    const opts = { now: T0, overlapMs: 0 };
    const { key: ka } = await a.publish({ ...key('a1', FP1), ceremony: 'key-ceremony-a-2026-01-01T00:00:00Z' }, Buffer.from('a'), { ref: '/a' }, opts);
    const { key: kb, retiring } = await b.publish({ ...key('b1', FP2), ceremony: 'key-ceremony-b-2026-01-01T00:00:00Z' }, Buffer.from('b'), { ref: '/b' }, opts);
    assert.deepEqual([ka.trust, kb.trust, retiring], ['a', 'b', []]);
    assert.equal((await a.active('cosign')).id, 'a1');
    assert.equal((await b.active('cosign')).id, 'b1');
    await assert.rejects(a.setStatus('b1', 'revoked', 'wrong store'), (e) => hasCode(e, 'KEY_UNKNOWN'));
    assert.equal((await b.active('cosign')).status, 'active');
  });

  it('tells older entries (no store recorded) by the ceremony that made them', () => {
    const old = { ...key('k', FP1), ceremony: 'key-ceremony-helm-2026-01-01T00:00:00Z' };
    assert.equal(belongsToStore(old, 'helm'), true);
    assert.equal(belongsToStore(old, 'platform'), false);
    assert.equal(belongsToStore({ ...old, ceremony: 'key-ceremony-helm-2-2026-01-01T00:00:00Z' }, 'helm'), false, 'helm-2 is another store');
    assert.equal(belongsToStore({ ...old, trust: 'platform' }, 'platform'), true, 'a recorded store wins');
  });

  it('judges signatures by status and validity window', () => {
    const k = { ...key('k1', FP1), validUntil: '2026-03-01T00:00:00.000Z', status: 'retired' as const };
    assert.equal(judgeSignature(k, '2026-02-01T00:00:00Z').code, 'OK');
    assert.equal(judgeSignature(k, '2026-04-01T00:00:00Z').code, 'KEY_NOT_VALID_AT_SIGNING_TIME');
    assert.equal(judgeSignature(k, '2025-12-01T00:00:00Z').code, 'KEY_NOT_VALID_AT_SIGNING_TIME');
    assert.equal(judgeSignature(k, undefined).code, 'KEY_NOT_VALID_AT_SIGNING_TIME');
    assert.equal(judgeSignature({ ...k, status: 'revoked' }, '2026-02-01T00:00:00Z').code, 'KEY_REVOKED');
    assert.equal(judgeSignature(undefined, undefined).code, 'KEY_UNKNOWN');
  });
});
