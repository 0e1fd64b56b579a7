/**
 * The root chain as a customer meets it, over a real HTTP server: roots signed by real governance
 * keys (approval statements over the root file's digest), an index signed by real index keys.
 * `followRootChain`, `countersign verify --root` and the customer script in docs/trust.md (run
 * exactly as printed) each accept a chain that rotates both the index key and the governance set,
 * and each refuse: an index signed by a key the root does not name, a root short of its
 * threshold (or signed by members the previous root does not list, or edited), a rolled-back
 * chain, an expired root.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signDecision } from '../../src/approval/sign';
import { FileSigner, writeKeyPair } from '../../src/keys/file-signer';
import { keyFingerprint } from '../../src/keys/public-key';
import { openIndexSigning, type IndexSigning } from '../../src/trust/index-signing';
import { followRootChain } from '../../src/trust/root-chain';
import { ROOT_TYPE, rootDigest, rootFileName, rootSignaturesFileName, rootText, type TrustRoot } from '../../src/trust/root-file';
import { loadCheckedIndex, VersionMemory } from '../../src/trust/signed-index';
import { trustSource } from '../../src/trust/source';
import { TrustStore } from '../../src/trust/store';
import { runCli } from '../support/cli';
import { serveDirectory, type StaticServer } from '../support/static-server';
import { rejectsWith } from './support';

const DOCS = path.resolve(__dirname, '../../docs/trust.md');
const PASSWORD_ENV = 'COUNTERSIGN_TEST_INDEX_PASSWORD';
const DAY = 86_400_000;
const TRUST = 'platform';

async function customerScript(): Promise<string> {
  const match = /<!-- customer-script -->\n```bash\n([\s\S]*?)```/.exec(await fs.readFile(DOCS, 'utf8'));
  assert.ok(match, 'docs/trust.md has the customer script');
  return match[1];
}

describe('the root: governance-signed delegation to the index key', () => {
  let dir: string;
  let publishDir: string;
  let cdn: StaticServer;
  let script: string;
  const keys = () => path.join(dir, 'keys');
  const pem = (name: string) => fs.readFile(path.join(keys(), `${name}.pub`), 'utf8');
  const signing = (name: string): Promise<IndexSigning> =>
    openIndexSigning({ key: path.join(keys(), `${name}.key`), publicKey: path.join(keys(), `${name}.pub`), passwordEnv: PASSWORD_ENV, expiresMs: 14 * DAY }, { [PASSWORD_ENV]: 'pw' });
  /** Signs the index again (one version on) with `indexKey`. */
  const signIndexWith = async (indexKey: string) => {
    const key = await signing(indexKey);
    const store = new TrustStore({ name: TRUST, publishDir, stateFile: path.join(dir, 'private', 'state.json') }, { signing: async () => key });
    await store.publish({ id: `openpgp-2026-01-01-${Math.random().toString(16).slice(2, 10)}`, kind: 'openpgp', fingerprint: 'A'.repeat(40), file: 'keyring.gpg', created: new Date().toISOString() }, Buffer.from('k'), { ref: '/k' }, { now: new Date(), overlapMs: 0 });
  };
  const makeRoot = async (version: number, governance: string[], threshold: number, indexKey: string, expires = new Date(Date.now() + 365 * DAY)): Promise<TrustRoot> => ({
    _type: ROOT_TYPE,
    trust: TRUST,
    version,
    created: new Date().toISOString(),
    expires: expires.toISOString(),
    threshold,
    governance: await Promise.all(governance.map(async (name) => ({ name, fingerprint: keyFingerprint(await pem(name)), publicKey: await pem(name) }))),
    indexKey: { fingerprint: keyFingerprint(await pem(indexKey)), publicKey: await pem(indexKey) },
  });
  /** Approval statements by `signers` over the text's digest, as `keys root` collects them. */
  const signatures = async (text: string, version: number, signers: string[]) =>
    Promise.all(
      signers.map(async (who) =>
        signDecision({ promotionId: `key-root-${TRUST}-${version}`, runId: 'r', digest: rootDigest(text), decision: 'approve', approver: who }, await FileSigner.load(path.join(keys(), `${who}.key`), 'pw')),
      ),
    );
  const publishRoot = async (root: TrustRoot, signers: string[]) => {
    const text = rootText(root);
    await fs.writeFile(path.join(publishDir, rootFileName(TRUST, root.version)), text);
    await fs.writeFile(path.join(publishDir, rootSignaturesFileName(TRUST, root.version)), `${JSON.stringify(await signatures(text, root.version, signers), null, 2)}\n`);
    return text;
  };
  const memory = (name = 'versions.json') => new VersionMemory(path.join(dir, 'home', name));
  const pinnedFile = () => path.join(dir, 'pinned-root.json');
  const follow = async (over: { versions?: VersionMemory; now?: Date } = {}) =>
    followRootChain(await trustSource(cdn.url), { pinned: await fs.readFile(pinnedFile()), versions: memory(), retryMs: 10, ...over });
  /** Root chain, then the index with the key the newest root names (what verify --root does). */
  const verifyIndex = async () => {
    const { root } = await follow();
    return loadCheckedIndex(await trustSource(cdn.url), { indexKeyPem: root.indexKey.publicKey, indexKeyOrigin: `the index key root ${root.version} names`, versions: memory(), retryMs: 10 });
  };
  const runScript = (state: string, root = pinnedFile()) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn('bash', [script, '127.0.0.1:9/apps/hello@sha256:' + 'a'.repeat(64)], { env: { PATH: process.env.PATH, HOME: dir, TRUST_URL: cdn.url, ROOT: root, STATE: path.join(dir, state) } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += String(c)));
      child.stderr.on('data', (c) => (stderr += String(c)));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  const cli = (...extra: string[]) => runCli(['verify', `127.0.0.1:9/apps/hello@sha256:${'a'.repeat(64)}`, '--trust', cdn.url, '--root', pinnedFile(), ...extra], { COUNTERSIGN_HOME: path.join(dir, 'cli-home') });
  /** The CLI got past the root and the index (signed by the key root `version` names); no cosign key in it signed anything: KEY_UNKNOWN. */
  const cliPassedTrust = async (version: number) => {
    const out = await cli();
    assert.equal(out.code, 15, out.stdout + out.stderr);
    assert.match(out.stdout, new RegExp(`\\[ok\\] index: .*index\\.json version \\d+, signed by index key [0-9a-f]{16} \\(named by root ${version} of store platform\\)`));
  };
  /** The script got past the root and the index: the index this test signs lists no cosign key to try. */
  const passedTrust = (r: { status: number | null; stderr: string }) => {
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /no active or retiring key in the index verifies/);
  };

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-root-'));
    publishDir = path.join(dir, 'public');
    await fs.mkdir(publishDir, { recursive: true });
    for (const name of ['erin', 'dave', 'frank', 'index1', 'index2']) await writeKeyPair(keys(), name, 'pw');
    script = path.join(dir, 'verify-image.sh');
    await fs.writeFile(script, await customerScript(), { mode: 0o755 });
    cdn = await serveDirectory(publishDir);
    const first = await publishRoot(await makeRoot(1, ['erin', 'dave'], 2, 'index1'), ['erin', 'dave']);
    await fs.writeFile(pinnedFile(), first);
    await signIndexWith('index1');
  });
  after(async () => {
    await cdn.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('the pinned root names the index key: the index verifies with it, through the library, the CLI and the script', async () => {
    const checked = await verifyIndex();
    assert.equal(checked.indexKey, keyFingerprint(await pem('index1')));
    passedTrust(await runScript('script-state'));
    await cliPassedTrust(1);
  });

  it('an index signed by a key the root does not name is refused (TRUST_INDEX_SIGNATURE_INVALID, exit 11)', async () => {
    await signIndexWith('index2');
    try {
      await rejectsWith(verifyIndex(), 'TRUST_INDEX_SIGNATURE_INVALID', /does not verify with the index key root 1 names/);
      const script = await runScript('script-state');
      assert.equal(script.status, 11, script.stderr);
      assert.match(script.stderr, /index\.json is not signed by the index key root 1 names/);
      const out = await cli();
      assert.equal(out.code, 11, out.stderr);
      assert.match(out.stderr, /TRUST_INDEX_SIGNATURE_INVALID: .*the index key root 1 of store platform names/);
    } finally {
      await signIndexWith('index1');
    }
  });

  it('a rotation (new index key, new governance set) signed by the threshold of the old root verifies through the chain', async () => {
    // Root 2 drops dave, adds frank and names index2; erin and dave (root 1's governance, 2 of 2) sign it.
    await publishRoot(await makeRoot(2, ['erin', 'frank'], 2, 'index2'), ['erin', 'dave']);
    await signIndexWith('index2');
    const followed = await follow();
    assert.deepEqual([followed.root.version, followed.followed, followed.root.indexKey.fingerprint], [2, [2], keyFingerprint(await pem('index2'))]);
    assert.equal((await verifyIndex()).indexKey, keyFingerprint(await pem('index2')));
    passedTrust(await runScript('script-state'));
    assert.match(await fs.readFile(path.join(dir, 'script-state'), 'utf8'), /^2 \d+\n$/, 'the script remembers root 2');
    await cliPassedTrust(2);
  });

  it('a root signed by fewer than the threshold of the root before it is refused (TRUST_ROOT_SIGNATURE_INVALID, exit 11)', async () => {
    const cases: Array<[string, string[]]> = [
      ['one of two', ['erin']],
      // dave was dropped by root 2: his signature no longer counts for what follows it.
      ['a member the previous root dropped', ['erin', 'dave']],
      ['nobody', []],
    ];
    for (const [what, signers] of cases) {
      await publishRoot(await makeRoot(3, ['erin'], 1, 'index1'), signers);
      await rejectsWith(follow(), 'TRUST_ROOT_SIGNATURE_INVALID', /root-platform-3\.json needs signatures by 2 of root 2's governance \(erin, frank\)/);
      const script = await runScript('script-state');
      assert.equal(script.status, 11, `${what}: ${script.stderr}`);
      assert.match(script.stderr, /root-platform-3\.json is signed by \d of root 2's governance; it needs 2/);
      assert.equal((await cli()).code, 11, what);
    }
    // Properly signed, then edited on the CDN: the signatures are over other bytes.
    const text = await publishRoot(await makeRoot(3, ['erin'], 1, 'index1'), ['erin', 'frank']);
    cdn.serve(rootFileName(TRUST, 3), text.replace('"threshold": 1', '"threshold": 1 '));
    try {
      await rejectsWith(follow(), 'TRUST_ROOT_SIGNATURE_INVALID', /has none/);
      assert.equal((await runScript('script-state')).status, 11);
    } finally {
      cdn.restore();
      await fs.rm(path.join(publishDir, rootFileName(TRUST, 3)));
      await fs.rm(path.join(publishDir, rootSignaturesFileName(TRUST, 3)));
    }
  });

  it('a rolled-back chain (newer roots removed from the CDN) is refused (TRUST_ROOT_ROLLED_BACK, exit 12)', async () => {
    await follow(); // remembers root 2
    await cli();
    const hidden = path.join(dir, 'hidden.json');
    await fs.rename(path.join(publishDir, rootFileName(TRUST, 2)), hidden);
    // What the CDN would serve with root 2 gone: the index as index1 signed it, validly.
    await signIndexWith('index1');
    try {
      await rejectsWith(follow(), 'TRUST_ROOT_ROLLED_BACK', /is version 1, but version 2 was seen before/);
      const script = await runScript('script-state');
      assert.equal(script.status, 12, script.stderr);
      assert.match(script.stderr, /root version 1 is older than 2: rolled back/);
      assert.equal((await cli()).code, 12);
      // A verifier that never saw root 2 is not fooled into refusing: root 1 and its index key still hold for it.
      assert.equal((await follow({ versions: memory('fresh.json') })).root.version, 1);
    } finally {
      await fs.rename(hidden, path.join(publishDir, rootFileName(TRUST, 2)));
      await signIndexWith('index2');
    }
  });

  it('an expired newest root is refused (TRUST_ROOT_EXPIRED, exit 13)', async () => {
    await rejectsWith(follow({ now: new Date(Date.now() + 400 * DAY) }), 'TRUST_ROOT_EXPIRED', /root-platform-2\.json expired at .*: governance has signed no newer root/);
    // A chain whose newest root lapsed yesterday, for the script and the CLI, which read the clock.
    await publishRoot(await makeRoot(3, ['erin', 'frank'], 2, 'index2', new Date(Date.now() - DAY)), ['erin', 'frank']);
    try {
      const script = await runScript('script-state');
      assert.equal(script.status, 13, script.stderr);
      assert.match(script.stderr, /root 3 expired/);
      const out = await cli();
      assert.equal(out.code, 13, out.stderr);
      assert.match(out.stderr, /TRUST_ROOT_EXPIRED/);
    } finally {
      await fs.rm(path.join(publishDir, rootFileName(TRUST, 3)));
      await fs.rm(path.join(publishDir, rootSignaturesFileName(TRUST, 3)));
    }
  });

  it('a pinned file that is not a root is bad input (exit 2); --root with --index-key is refused', async () => {
    await fs.writeFile(path.join(dir, 'not-a-root.json'), '{"_type":"something else"}');
    const out = await runCli(['verify', `127.0.0.1:9/apps/hello@sha256:${'a'.repeat(64)}`, '--trust', cdn.url, '--root', path.join(dir, 'not-a-root.json')], { COUNTERSIGN_HOME: path.join(dir, 'cli-home') });
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /BAD_INPUT: the pinned root is not a countersign root/);
    const both = await cli('--index-key', path.join(keys(), 'index1.pub'));
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give one of --root, --index-key and --unsigned-index/);
  });
});
