/**
 * The worker's check of a revocation request (src/trust/authorize-revocation.ts) and the
 * revocation it writes (src/trust/revoke.ts): signed by a governance member of the store the
 * request names, for one of that store's keys (two stores share the directory here), fresh,
 * used once; the index records who, when and why.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { parseConfig, type Config } from '../../src/config';
import type { ErrorCode } from '../../src/errors';
import { FileSigner, writeKeyPair } from '../../src/keys/file-signer';
import { REVOCATION_REQUEST_TYPE, type RevocationRequest } from '../../src/requests/revocation-request';
import { signStatement } from '../../src/requests/sign';
import type { SignedStatement } from '../../src/requests/statement';
import { authorizeRevocation, type RevocationAuthorizeInput } from '../../src/trust/authorize-revocation';
import type { EarlierRun } from '../../src/trust/governance';
import { readIndex, type TrustKey } from '../../src/trust/index-file';
import { revokeStoreKey } from '../../src/trust/revoke';
import { TrustStore } from '../../src/trust/store';
import { minimalTarget, rejectsWith } from './support';

const NOW = new Date('2026-11-22T12:00:00Z');
const NONCE = 'b2'.repeat(16);
const FP_PLATFORM = 'a'.repeat(64);
const FP_HELM = 'B'.repeat(40);
const FP_LEGACY = 'C'.repeat(40);

describe('revocation request (the worker checks it before any key is touched)', () => {
  let dir: string;
  let config: Config;
  const signers: Record<string, FileSigner> = {};
  let earlier: EarlierRun[] = [];
  const deps = () => ({ config: () => config, priorRuns: async () => earlier, now: () => NOW });
  const ids = { platform: 'cosign-2026-11-01-aaaaaaaaaaaaaaaa', helm: 'openpgp-2026-11-01-bbbbbbbbbbbbbbbb', legacy: 'openpgp-2026-10-01-cccccccccccccccc' };

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-revocation-request-'));
    await writeKeyPair(path.join(dir, 'keys'), 'dev', 'pw');
    for (const who of ['erin', 'alice', 'dave', 'mallory']) {
      await writeKeyPair(path.join(dir, 'keys'), who, 'pw');
      signers[who] = await FileSigner.load(path.join(dir, 'keys', `${who}.key`), 'pw');
    }
    const approvers = Object.fromEntries(['erin', 'alice', 'dave'].map((n) => [n, { publicKey: `keys/${n}.pub` }]));
    const common = { publishDir: 'trust/public', custodians: { members: ['alice', 'dave', 'erin'], required: 2 } };
    const trust = {
      platform: { ...common, stateFile: 'trust/private/platform.json', governance: ['erin', 'alice'], revocation: { required: 2 } },
      helm: { ...common, kind: 'openpgp', userId: { name: 'Charts' }, stateFile: 'trust/private/helm.json', governance: ['erin', 'dave'] },
    };
    config = parseConfig({ approvers, trust, targets: minimalTarget() }, path.join(dir, 'countersign.yaml'));
    // Both stores publish to one directory: the platform's cosign key, the helm store's OpenPGP key,
    // and an older helm key published before entries named their store (known by its ceremony).
    const publish = (store: 'platform' | 'helm', key: Pick<TrustKey, 'id' | 'kind' | 'fingerprint' | 'file' | 'ceremony'>) =>
      new TrustStore({ name: store, publishDir: config.trust[store].publishDir, stateFile: config.trust[store].stateFile }).publish(
        { ...key, created: '2026-11-01T00:00:00.000Z' },
        Buffer.from('public'),
        { ref: '/nowhere' },
        { now: new Date('2026-11-01T00:00:00Z'), overlapMs: 0 },
      );
    await publish('platform', { id: ids.platform, kind: 'cosign', fingerprint: FP_PLATFORM, file: 'pubkey-2026-11-01.pem', ceremony: 'key-ceremony-platform-2026-11-01T00:00:00Z' });
    await publish('helm', { id: ids.helm, kind: 'openpgp', fingerprint: FP_HELM, file: `keyring-2026-11-01-${FP_HELM}.gpg`, ceremony: 'key-ceremony-helm-2026-11-01T00:00:00Z' });
    const indexFile = path.join(config.trust.helm.publishDir, 'index.json');
    const index = JSON.parse(await fs.readFile(indexFile, 'utf8')) as { keys: TrustKey[] };
    index.keys.push({ ...index.keys[1], id: ids.legacy, fingerprint: FP_LEGACY, file: `keyring-2026-10-01-${FP_LEGACY}.gpg`, ceremony: 'key-ceremony-helm-2026-10-01T00:00:00Z', trust: undefined });
    await fs.writeFile(indexFile, JSON.stringify(index));
  });

  const request = (over: Partial<RevocationRequest> = {}): RevocationRequest => ({
    _type: REVOCATION_REQUEST_TYPE,
    trust: 'platform',
    keyId: ids.platform,
    fingerprint: FP_PLATFORM,
    reason: 'key material leaked',
    requester: 'erin',
    time: '2026-11-22T11:55:00.000Z',
    nonce: NONCE,
    ...over,
  });
  const sign = (r: object, who = 'erin') => signStatement(r, signers[who]);
  const input = (signed: SignedStatement | undefined, r: Partial<RevocationRequest> = {}): RevocationAuthorizeInput => ({
    request: signed as SignedStatement,
    workflowId: `key-revocation-${r.trust ?? 'platform'}-${r.keyId ?? ids.platform}`,
    runId: 'run-1',
  });
  const make = async (over: Partial<RevocationRequest> = {}, who = 'erin') => input(await sign(request(over), who), over);

  it("accepts a governance member's request for one of the store's keys; the store's revocation.required asks for one co-signer", async () => {
    const plan = await authorizeRevocation(deps(), await make());
    assert.deepEqual([plan.trust, plan.keyId, plan.fingerprint, plan.requester, plan.reason, plan.required, plan.alreadyRevoked], ['platform', ids.platform, FP_PLATFORM, 'erin', 'key material leaked', 2, false]);
    assert.deepEqual(plan.cosigners.groups, [{ name: 'governance', members: ['alice'], required: 1 }]);
    assert.equal(plan.cosigners.vetoOnReject, false);
    assert.match(plan.requestDigest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(plan.location, { name: 'platform', publishDir: config.trust.platform.publishDir, stateFile: config.trust.platform.stateFile });
    const helm = await authorizeRevocation(deps(), await make({ trust: 'helm', keyId: ids.helm, fingerprint: FP_HELM, requester: 'dave' }, 'dave'));
    assert.equal(helm.required, 1, 'one signature by default');
  });

  const refusals: Array<[string, () => Promise<RevocationAuthorizeInput>, ErrorCode, RegExp]> = [
    ['with no signed request', async () => input(undefined), 'REQUEST_UNSIGNED', /carries no signed request/],
    ['signed by someone outside the store\'s governance (with their own key)', () => make({ requester: 'dave' }, 'dave'), 'REQUEST_OUT_OF_SCOPE', /dave is not a governance member of trust store platform \(erin, alice\)/],
    ['naming a governance member but signed with another key', () => make({}, 'dave'), 'REQUEST_BAD_SIGNATURE', /does not verify with erin's roster key in the worker's configuration/],
    ['signed by someone the worker does not know', () => make({ requester: 'mallory' }, 'mallory'), 'REQUEST_UNKNOWN_SIGNER', /mallory is not in the roster/],
    ["naming another store's key (--trust platform for the helm store's key)", () => make({ keyId: ids.helm, fingerprint: FP_HELM }), 'KEY_UNKNOWN', new RegExp(`key ${ids.helm} is not in trust store platform \\(it is another store's key\\)`)],
    ["naming another store's older key (no store recorded, its ceremony names it)", () => make({ keyId: ids.legacy, fingerprint: FP_LEGACY }), 'KEY_UNKNOWN', new RegExp(`key ${ids.legacy} is not in trust store platform`)],
    ['naming a key that is not in the index', () => make({ keyId: 'cosign-2026-01-01-0000000000000000' }), 'KEY_UNKNOWN', /is not in trust store platform \(.*index.json has no such key\)/],
    ['naming the key with another fingerprint', () => make({ fingerprint: 'd'.repeat(64) }), 'KEY_UNKNOWN', /has fingerprint a{64}, not the request's d{64}/],
    ['for a store the worker does not have', () => make({ trust: 'nope' }), 'TRUST_UNKNOWN', /no trust store "nope"/],
    ['signed more than an hour ago', () => make({ time: '2026-11-22T10:00:00.000Z' }), 'REQUEST_EXPIRED', /signed at 2026-11-22T10:00:00.000Z; it is good for 60 minutes/],
    ['dated in the future', () => make({ time: '2026-11-22T13:00:00.000Z' }), 'REQUEST_INVALID', /dated in the future/],
    ['without a reason', () => make({ reason: '  ' }), 'REQUEST_INVALID', /reason must say why/],
    ['started under another workflow id', async () => ({ ...(await make()), workflowId: 'key-revocation-platform-other' }), 'REQUEST_INVALID', new RegExp(`is for key-revocation-platform-${ids.platform}, but this run is key-revocation-platform-other`)],
  ];
  for (const [name, build, code, expected] of refusals) {
    it(`refuses a request ${name}`, async () => {
      await rejectsWith(authorizeRevocation(deps(), await build()), code, expected);
    });
  }

  it('refuses a request that already started an earlier run', async () => {
    earlier = [{ runId: 'run-0', status: 'COMPLETED', requestNonce: NONCE }];
    try {
      await rejectsWith(authorizeRevocation(deps(), await make()), 'REQUEST_REPLAYED', /already started run run-0 of key-revocation-platform-/);
    } finally {
      earlier = [];
    }
  });

  it("attack: an earlier REFUSED run claiming the request's nonce (a copy under a signature that did not verify) does not spend the request", async () => {
    earlier = [{ runId: 'run-0', status: 'COMPLETED', state: 'REFUSED', requestNonce: NONCE }];
    try {
      const plan = await authorizeRevocation(deps(), await make());
      assert.equal(plan.keyId, ids.platform);
      // Once a run got past authorize with it, the request is spent.
      earlier = [...earlier, { runId: 'run-1', status: 'COMPLETED', state: 'REVOKED', requestNonce: NONCE }];
      await rejectsWith(authorizeRevocation(deps(), await make()), 'REQUEST_REPLAYED', /already started run run-1 of key-revocation-platform-/);
    } finally {
      earlier = [];
    }
  });

  it('revokes only the store\'s own key, and the index records every signer, when and why', async () => {
    const platform = { name: 'platform', publishDir: config.trust.platform.publishDir, stateFile: config.trust.platform.stateFile };
    const record = { signers: ['erin', 'alice'], at: '2026-11-22T12:01:00.000Z', reason: 'key material leaked', workflowId: `key-revocation-platform-${ids.platform}` };
    await rejectsWith(revokeStoreKey(platform, ids.helm, FP_HELM, record), 'KEY_UNKNOWN', /is not in trust store platform/);
    await rejectsWith(new TrustStore(platform).setStatus(ids.helm, 'revoked', 'x'), 'KEY_UNKNOWN', /key openpgp-.* is not in trust store platform: it belongs to another store/);
    const { key: revoked } = await revokeStoreKey(platform, ids.platform, FP_PLATFORM, record);
    assert.deepEqual([revoked.status, revoked.reason, revoked.revocation], ['revoked', 'key material leaked', record]);
    const index = await readIndex(platform.publishDir);
    assert.deepEqual(index.keys.find((k) => k.id === ids.platform)?.revocation, record);
    assert.deepEqual(index.keys.filter((k) => k.id !== ids.platform).map((k) => k.status), ['active', 'active'], "the helm store's keys are untouched");
    const again = await authorizeRevocation(deps(), await make());
    assert.equal(again.alreadyRevoked, true);
  });
});
