/**
 * The worker's check of a campaign request (src/trust/authorize-campaign.ts): signed by a
 * governance member of the store, fresh, used once, for this workflow id, for one of the store's
 * keys that is revoked, with an active key to re-sign with. The plan comes from the worker's
 * configuration: the action per target, the rate, the approvers; a request naming an action is refused.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { parseConfig, type Config } from '../../src/config';
import type { ErrorCode } from '../../src/errors';
import { FileSigner, writeKeyPair } from '../../src/keys/file-signer';
import { keyFingerprint } from '../../src/keys/public-key';
import { CAMPAIGN_REQUEST_TYPE, campaignWorkflowId } from '../../src/requests/campaign-request';
import { signStatement } from '../../src/requests/sign';
import { authorizeCampaign } from '../../src/trust/authorize-campaign';
import type { EarlierRun } from '../../src/trust/governance';
import { TrustStore } from '../../src/trust/store';
import { minimalTarget, rejectsWith } from './support';

const NOW = new Date('2026-11-22T12:00:00Z');
const NONCE = 'c3'.repeat(16);

describe('campaign request (the worker checks it before anything is found or changed)', () => {
  let dir: string;
  let config: Config;
  const signers: Record<string, FileSigner> = {};
  let earlier: EarlierRun[] = [];
  const deps = () => ({ config: () => config, priorRuns: async () => earlier, now: () => NOW });
  const keys: Record<'old' | 'new', { id: string; fingerprint: string; pem: string }> = {} as never;
  let store: TrustStore;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-campaign-request-'));
    await writeKeyPair(path.join(dir, 'keys'), 'dev', 'pw');
    for (const who of ['erin', 'alice', 'dave', 'mallory', 'old', 'new']) {
      await writeKeyPair(path.join(dir, 'keys'), who, 'pw');
      signers[who] = await FileSigner.load(path.join(dir, 'keys', `${who}.key`), 'pw');
    }
    const approvers = Object.fromEntries(['erin', 'alice', 'dave'].map((n) => [n, { publicKey: `keys/${n}.pub` }]));
    const trust = {
      platform: {
        publishDir: 'trust/public',
        stateFile: 'trust/private/platform.json',
        governance: ['erin', 'alice'],
        custodians: { members: ['alice', 'dave', 'erin'], required: 2 },
        campaign: { targets: { prod: 'resign' }, perMinute: 12 },
      },
    };
    config = parseConfig({ approvers, trust, targets: minimalTarget() }, path.join(dir, 'countersign.yaml'));
    store = new TrustStore({ name: 'platform', publishDir: config.trust.platform.publishDir, stateFile: config.trust.platform.stateFile });
    for (const [n, day] of [['old', '01'], ['new', '20']] as const) {
      const pem = await fs.readFile(path.join(dir, 'keys', `${n}.pub`), 'utf8');
      const fingerprint = keyFingerprint(pem);
      const id = `cosign-2026-11-${day}-${fingerprint.slice(0, 16)}`;
      await store.publish({ id, kind: 'cosign', fingerprint, file: `pubkey-2026-11-${day}.pem`, created: `2026-11-${day}T00:00:00.000Z` }, Buffer.from(pem), { ref: path.join(dir, 'keys', `${n}.key`), passwordEnv: 'PW' }, { now: new Date(`2026-11-${day}T00:00:00Z`), overlapMs: 0 });
      keys[n] = { id, fingerprint, pem };
    }
  });

  const request = (over: Record<string, unknown> = {}) => ({
    _type: CAMPAIGN_REQUEST_TYPE,
    trust: 'platform',
    keyId: keys.old.id,
    fingerprint: keys.old.fingerprint,
    reason: 'key material leaked',
    requester: 'erin',
    time: '2026-11-22T11:55:00.000Z',
    nonce: NONCE,
    ...over,
  });
  const input = async (over: Record<string, unknown> = {}, signer = signers.erin, workflowId = campaignWorkflowId('platform', keys.old.id)) => ({
    request: await signStatement(request(over), signer),
    workflowId,
    runId: 'run-1',
  });
  const refused = async (code: ErrorCode, message: RegExp, over: Record<string, unknown> = {}, signer = signers.erin, workflowId?: string) =>
    rejectsWith(authorizeCampaign(deps(), await input(over, signer, workflowId)), code, message);

  it('refuses a campaign over a key that still signs: revoke it first', async () => {
    await refused('REQUEST_INVALID', /key cosign-2026-11-01-\w+ of trust store platform is retiring, not revoked: revoke it first/);
  });

  it('with the key revoked, resolves the plan from the worker configuration: the active key, each target and its action, the rate, the approvers', async () => {
    // Revoked as the revocation step does: the index keeps its public key, the file becomes a tombstone.
    const der = (await fs.readFile(path.join(dir, 'keys', 'old.pub'), 'utf8')).replace(/-----[A-Z ]+-----|\s/g, '');
    await store.setStatus(keys.old.id, 'revoked', 'leaked', { revocation: { signers: ['erin'], at: NOW.toISOString(), reason: 'leaked', workflowId: 'key-revocation-platform-x', publicKey: der } });
    await fs.writeFile(path.join(config.trust.platform.publishDir, 'pubkey-2026-11-01.pem'), 'REVOKED\n');
    const plan = await authorizeCampaign(deps(), await input());
    assert.equal(plan.keyId, keys.old.id);
    assert.equal(keyFingerprint(plan.publicKeyPem), keys.old.fingerprint, 'the public key comes from the index, not the tombstone');
    assert.deepEqual([plan.signingKey?.id, plan.signingKey?.fingerprint, plan.signingKey?.ref], [keys.new.id, keys.new.fingerprint, path.join(dir, 'keys', 'new.key')]);
    assert.deepEqual(Object.values(plan.targets).map((t) => [t.target, t.action, t.repository]), [['prod', 'resign', '127.0.0.1:5000/apps/hello']]);
    assert.deepEqual([plan.perMinute, plan.onVerifyFailure, plan.requester], [12, 'quarantine', 'erin']);
    assert.deepEqual(plan.approvers.groups, [{ name: 'campaign', members: ['alice', 'dave', 'erin'], required: 2 }], 'the custodians by default');
    assert.deepEqual(Object.keys(plan.approvers.roster).sort(), ['alice', 'dave', 'erin']);
  });

  it('refuses unsigned, forged, out-of-scope, stale, replayed and misdirected requests, and one that names an action', async () => {
    await rejectsWith(authorizeCampaign(deps(), { request: undefined as never, workflowId: campaignWorkflowId('platform', keys.old.id), runId: 'r' }), 'REQUEST_UNSIGNED', /carries no signed request/);
    await refused('REQUEST_BAD_SIGNATURE', /does not verify with erin's roster key/, {}, signers.mallory);
    await refused('REQUEST_OUT_OF_SCOPE', /dave is not a governance member of trust store platform/, { requester: 'dave' }, signers.dave);
    await refused('REQUEST_UNKNOWN_SIGNER', /mallory is not in the roster/, { requester: 'mallory' }, signers.mallory);
    await refused('REQUEST_EXPIRED', /good for 60 minutes/, { time: '2026-11-22T10:00:00.000Z' });
    await refused('REQUEST_INVALID', /dated in the future/, { time: '2026-11-22T13:00:00.000Z' });
    await refused('REQUEST_INVALID', /unknown fields: action/, { action: 'resign' });
    await refused('REQUEST_INVALID', /unknown fields: items/, { items: ['prod@sha256:00'] });
    await refused('REQUEST_INVALID', /is for key-campaign-platform-.*, but this run is key-campaign-platform-other/, {}, signers.erin, 'key-campaign-platform-other');
    await refused('KEY_UNKNOWN', /has fingerprint .*, not the request's/, { fingerprint: 'd'.repeat(64) });
    await refused('TRUST_UNKNOWN', /no trust store "elsewhere"/, { trust: 'elsewhere' });
    earlier = [{ runId: 'run-0', status: 'COMPLETED', requestNonce: NONCE }];
    try {
      await refused('REQUEST_REPLAYED', /already started run run-0/);
    } finally {
      earlier = [];
    }
  });

  it('refuses when the store has no active key to re-sign with', async () => {
    await store.setStatus(keys.new.id, 'revoked', 'also leaked');
    await refused('TRUST_NO_ACTIVE_KEY', /no active key to re-sign with: run a key ceremony first/);
  });
});
