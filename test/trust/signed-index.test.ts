/**
 * The signed index, written by the store and read by a verifier over a real HTTP server: every
 * write is signed with a higher version and an expiry; stock cosign and openssl verify the
 * signature; an edited, a rolled-back, an expired, an unsigned and an unreachable index are each
 * refused with their own code; the worker signs it again before it expires.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasCode } from '../../src/errors';
import { writeKeyPair } from '../../src/keys/file-signer';
import { requireTool } from '../../src/stack/tools';
import { INDEX_KEY_FILE, INDEX_SIGNATURE_FILE, openIndexSigning, type IndexSigning } from '../../src/trust/index-signing';
import { refreshIndexes } from '../../src/trust/index-refresh';
import { loadCheckedIndex, VersionMemory } from '../../src/trust/signed-index';
import { trustSource } from '../../src/trust/source';
import { TrustStore } from '../../src/trust/store';
import { serveDirectory, type StaticServer } from '../support/static-server';
import { rejectsWith } from './support';

const PASSWORD_ENV = 'COUNTERSIGN_TEST_INDEX_PASSWORD';
const DAY = 86_400_000;

describe('the signed trust index', () => {
  let dir: string;
  let publishDir: string;
  let cdn: StaticServer;
  let signing: IndexSigning;
  let indexKeyPem: string;
  let store: TrustStore;
  const config = () => ({ key: path.join(dir, 'keys', 'index.key'), publicKey: path.join(dir, 'keys', 'index.pub'), passwordEnv: PASSWORD_ENV, expiresMs: 14 * DAY });
  const memory = () => new VersionMemory(path.join(dir, 'home', 'trust-versions.json'));
  const read = async (over: Parameters<typeof loadCheckedIndex>[1] = {}) => loadCheckedIndex(await trustSource(cdn.url), { indexKeyPem, versions: memory(), retryMs: 10, ...over });
  const publish = (id: string, now = new Date()) =>
    store.publish({ id, kind: 'cosign', fingerprint: id.padEnd(64, '0').replace(/[^0-9a-f]/g, 'a'), file: `${id}.pem`, created: now.toISOString() }, Buffer.from('pem'), { ref: '/k' }, { now, overlapMs: 0 });

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-signed-index-'));
    publishDir = path.join(dir, 'public');
    await writeKeyPair(path.join(dir, 'keys'), 'index', 'pw');
    await writeKeyPair(path.join(dir, 'keys'), 'other', 'pw');
    signing = await openIndexSigning(config(), { [PASSWORD_ENV]: 'pw' });
    indexKeyPem = await fs.readFile(path.join(dir, 'keys', 'index.pub'), 'utf8');
    store = new TrustStore({ name: 'platform', publishDir, stateFile: path.join(dir, 'private', 'state.json') }, { signing: async () => signing });
    cdn = await serveDirectory(publishDir);
  });
  after(async () => {
    await cdn.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('every write is signed, with the version one higher and an expiry; the index key is published beside it', async () => {
    const now = new Date();
    await publish('cosign-2026-01-01-aaaa', now);
    const first = JSON.parse(await fs.readFile(path.join(publishDir, 'index.json'), 'utf8'));
    assert.equal(first.version, 1);
    assert.equal(first.expires, new Date(now.getTime() + 14 * DAY).toISOString());
    await publish('cosign-2026-01-02-bbbb');
    assert.equal(JSON.parse(await fs.readFile(path.join(publishDir, 'index.json'), 'utf8')).version, 2);
    assert.equal(await fs.readFile(path.join(publishDir, INDEX_KEY_FILE), 'utf8'), indexKeyPem);
    const checked = await read();
    assert.deepEqual([checked.signed, checked.index.version, checked.index.keys.length, checked.indexKey], [true, 2, 2, signing.fingerprint]);
  });

  it('stock cosign and openssl verify index.json.sig with the pinned key', () => {
    const files = ['--key', path.join(dir, 'keys', 'index.pub'), '--signature', path.join(publishDir, INDEX_SIGNATURE_FILE), '--insecure-ignore-tlog=true', path.join(publishDir, 'index.json')];
    // npm test installs cosign first: a missing one fails here with TOOL_MISSING instead of passing unchecked.
    execFileSync(requireTool('cosign'), ['verify-blob', ...files], { stdio: 'pipe' });
    const der = path.join(dir, 'index.sig.der');
    execFileSync('sh', ['-c', `base64 -d < "$0" > "$1"`, path.join(publishDir, INDEX_SIGNATURE_FILE), der]);
    execFileSync('openssl', ['dgst', '-sha256', '-verify', path.join(dir, 'keys', 'index.pub'), '-signature', der, path.join(publishDir, 'index.json')], { stdio: 'pipe' });
  });

  it('an index edited on the CDN is refused: TRUST_INDEX_SIGNATURE_INVALID', async () => {
    const text = await fs.readFile(path.join(publishDir, 'index.json'), 'utf8');
    cdn.serve('index.json', text.replace('"status": "active"', '"status": "activ" '));
    try {
      await rejectsWith(read(), 'TRUST_INDEX_SIGNATURE_INVALID', /index\.json does not verify with the pinned index key [0-9a-f]{16}: it was edited, or signed by another key/);
    } finally {
      cdn.restore();
    }
    // Signed by another key: the same refusal.
    await rejectsWith(read({ indexKeyPem: await fs.readFile(path.join(dir, 'keys', 'other.pub'), 'utf8') }), 'TRUST_INDEX_SIGNATURE_INVALID', /does not verify with the pinned index key/);
    cdn.serve(INDEX_SIGNATURE_FILE, 'not base64 at all');
    try {
      await rejectsWith(read(), 'TRUST_INDEX_SIGNATURE_INVALID', /does not verify/);
    } finally {
      cdn.restore();
    }
  });

  it('an older signed index after a newer one was seen is refused: TRUST_INDEX_ROLLED_BACK; so is one older than --min-version', async () => {
    const oldIndex = await fs.readFile(path.join(publishDir, 'index.json'));
    const oldSig = await fs.readFile(path.join(publishDir, INDEX_SIGNATURE_FILE));
    await read(); // remembers version 2
    await publish('cosign-2026-01-03-cccc');
    assert.equal((await read()).index.version, 3);
    // The CDN (or whoever controls it) serves version 2 again, validly signed: the revocation or key it hides stays hidden otherwise.
    cdn.serve('index.json', oldIndex);
    cdn.serve(INDEX_SIGNATURE_FILE, oldSig);
    try {
      await rejectsWith(read(), 'TRUST_INDEX_ROLLED_BACK', new RegExp(`index\\.json is version 2, but version 3 was seen before \\(${memory().file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\): an older index is being served`));
      // A fresh machine has no memory; a pinned version stops it all the same.
      await rejectsWith(read({ versions: new VersionMemory(path.join(dir, 'fresh.json')), minVersion: 3 }), 'TRUST_INDEX_ROLLED_BACK', /is version 2, but version 3 is pinned \(--min-version\)/);
    } finally {
      cdn.restore();
    }
  });

  it('a signed index past its expiry is refused: TRUST_INDEX_EXPIRED', async () => {
    const later = new Date(Date.now() + 15 * DAY);
    await rejectsWith(read({ now: later }), 'TRUST_INDEX_EXPIRED', /index\.json \(version 3\) expired at .*: nobody has signed it since, so it may be frozen/);
  });

  it('the worker signs it again once half its lifetime has passed, not before; the content stays', async () => {
    const before = JSON.parse(await fs.readFile(path.join(publishDir, 'index.json'), 'utf8'));
    assert.equal(await store.refreshSignature(new Date()), undefined, 'fresh: nothing to do');
    const halfway = new Date(Date.parse(before.expires) - 7 * DAY + 1000);
    assert.equal(await store.refreshSignature(halfway), 4);
    const after = JSON.parse(await fs.readFile(path.join(publishDir, 'index.json'), 'utf8'));
    assert.deepEqual(after.keys, before.keys);
    assert.equal(after.expires, new Date(halfway.getTime() + 14 * DAY).toISOString());
    assert.equal((await read({ now: new Date(halfway.getTime() + 8 * DAY) })).index.version, 4, 'accepted past the old expiry');

    // Through the configuration, as the worker's refresher does it: an unsigned index gets signed.
    const other = path.join(dir, 'other-public');
    await fs.mkdir(other);
    await fs.writeFile(path.join(other, 'index.json'), JSON.stringify({ schemaVersion: 1, updatedAt: new Date().toISOString(), keys: [] }));
    const cfg = { trust: { x: { name: 'x', publishDir: other, stateFile: path.join(dir, 'x.json'), index: config() } } } as never;
    assert.deepEqual(await refreshIndexes(cfg, { [PASSWORD_ENV]: 'pw' }), [other]);
    assert.deepEqual(await refreshIndexes(cfg, { [PASSWORD_ENV]: 'pw' }), [], 'signed now: nothing due');
    assert.equal((await loadCheckedIndex(await trustSource(other), { indexKeyPem })).index.version, 1);
  });

  it('a configured index key that is not the configured public key signs nothing: KEY_INVALID', async () => {
    await rejectsWith(openIndexSigning({ ...config(), publicKey: path.join(dir, 'keys', 'other.pub') }, { [PASSWORD_ENV]: 'pw' }), 'KEY_INVALID', /is not the one its publicKey .*other\.pub names/);
  });

  it('an index nobody signed is read only when asked to; a key file on the CDN is read with a cap', async () => {
    const unsignedDir = path.join(dir, 'unsigned');
    await fs.mkdir(unsignedDir);
    await fs.writeFile(path.join(unsignedDir, 'index.json'), JSON.stringify({ schemaVersion: 1, updatedAt: new Date().toISOString(), keys: [] }));
    await rejectsWith(loadCheckedIndex(await trustSource(unsignedDir), {}), 'BAD_INPUT', /pin the trust index key: --index-key FILE/);
    assert.equal((await loadCheckedIndex(await trustSource(unsignedDir), { allowUnsigned: true })).signed, false);
    await rejectsWith(loadCheckedIndex(await trustSource(unsignedDir), { indexKeyPem, retryMs: 10 }), 'TRUST_INDEX_SIGNATURE_INVALID', /is not signed: there is no index\.json\.sig beside it/);

    cdn.serve('index.json', Buffer.alloc(2 * 1024 * 1024, 0x20));
    try {
      await rejectsWith(read(), 'TRUST_INDEX_CORRUPT', /index\.json is \d+ bytes; at most 1048576 are read/);
    } finally {
      cdn.restore();
    }
  });

  it('says which of unreachable and bad input it met: a closed port, a server that never answers, a 404, a missing directory', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/trust`;
    await new Promise((r) => closed.close(r));
    await rejectsWith(loadCheckedIndex(await trustSource(deadUrl), { indexKeyPem }), 'TRUST_UNREACHABLE', /\/trust\/index\.json unreachable/);

    cdn.hang('index.json');
    try {
      await rejectsWith(loadCheckedIndex(await trustSource(cdn.url, { timeoutMs: 300 }), { indexKeyPem }), 'TRUST_UNREACHABLE', /index\.json unreachable: .*(timeout|aborted)/i);
    } finally {
      cdn.restore();
    }
    await rejectsWith(loadCheckedIndex(await trustSource(`${cdn.url}/nothing-here`), { indexKeyPem }), 'TRUST_UNREACHABLE', /index\.json was not found \(HTTP 404\)/);
    await assert.rejects(trustSource(path.join(dir, 'no-such-dir')), (e) => hasCode(e, 'BAD_INPUT') && /is not a directory/.test((e as Error).message));
    await assert.rejects(trustSource('ftp://cdn.example.com/trust'), (e) => hasCode(e, 'BAD_INPUT'));
  });
});
