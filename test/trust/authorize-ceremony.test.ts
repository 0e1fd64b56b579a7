/**
 * The worker's check of a ceremony request (src/trust/authorize-ceremony.ts): signed by a
 * governance member's key in the worker's own configuration, for this store, this run and the
 * plan the worker's configuration gives, fresh, used once. Everything the plan holds is the
 * worker's configuration.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { parseConfig, type Config } from '../../src/config';
import type { ErrorCode } from '../../src/errors';
import { FileSigner, writeKeyPair } from '../../src/keys/file-signer';
import { CEREMONY_REQUEST_TYPE, type CeremonyRequest } from '../../src/requests/ceremony-request';
import { signStatement } from '../../src/requests/sign';
import type { SignedStatement } from '../../src/requests/statement';
import { authorizeCeremony, type CeremonyAuthorizeInput } from '../../src/trust/authorize-ceremony';
import type { EarlierRun } from '../../src/trust/governance';
import { ceremonyPlanDigest } from '../../src/trust/resolve';
import { TrustStore } from '../../src/trust/store';
import { minimalTarget, rejectsWith } from './support';

const ROTATION = 'key-rotation-platform-2026-11-22T00:00:00Z';
const CEREMONY = 'key-ceremony-platform-2026-11-22T00:00:00Z';
const STARTED = '2026-11-22T00:10:00.000Z';
const NONCE = 'a1'.repeat(16);

describe('ceremony request (the worker checks it before asking any custodian)', () => {
  let dir: string;
  let config: Config;
  let plan: string;
  const signers: Record<string, FileSigner> = {};
  let earlier: EarlierRun[] = [];
  const deps = () => ({ config: () => config, priorRuns: async () => earlier });

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-ceremony-request-'));
    await writeKeyPair(path.join(dir, 'keys'), 'dev', 'pw');
    for (const who of ['erin', 'alice', 'bob', 'carol', 'dave', 'mallory']) {
      await writeKeyPair(path.join(dir, 'keys'), who, 'pw');
      signers[who] = await FileSigner.load(path.join(dir, 'keys', `${who}.key`), 'pw');
    }
    const approvers = Object.fromEntries(['erin', 'alice', 'bob', 'carol', 'dave'].map((n) => [n, { publicKey: `keys/${n}.pub` }]));
    const store = { publishDir: 'trust/public', stateFile: 'trust/private/state.json', governance: ['erin'], custodians: { members: ['alice', 'bob', 'carol'], required: 2, deadline: '24h' } };
    const trust = { platform: store, helm: { ...store, kind: 'openpgp', userId: { name: 'Charts' }, stateFile: 'trust/private/helm.json' } };
    config = parseConfig({ approvers, trust, targets: minimalTarget() }, path.join(dir, 'countersign.yaml'));
    plan = await ceremonyPlanDigest(config, config.trust.platform);
  });

  const request = (over: Partial<CeremonyRequest> = {}): CeremonyRequest => ({
    _type: CEREMONY_REQUEST_TYPE,
    trust: 'platform',
    planDigest: plan,
    initiator: 'erin',
    scope: `rotation:${ROTATION}`,
    time: '2026-11-22T00:00:00.000Z',
    nonce: NONCE,
    ...over,
  });
  const sign = (r: object, who = 'erin') => signStatement(r, signers[who]);
  const input = (signed: SignedStatement | undefined, over: Partial<CeremonyAuthorizeInput> = {}): CeremonyAuthorizeInput => ({
    trust: 'platform',
    request: signed as SignedStatement,
    workflowId: CEREMONY,
    runId: 'ceremony-run',
    rotation: { workflowId: ROTATION, runId: 'rotation-run' },
    startedAt: STARTED,
    ...over,
  });

  it("accepts a governance member's request for this run and resolves the store from the worker's configuration", async () => {
    const resolved = await authorizeCeremony(deps(), input(await sign(request({ deadlineMs: 60_000 }))));
    assert.equal(resolved.initiator, 'erin');
    assert.equal(resolved.planDigest, plan);
    assert.deepEqual(resolved.custodians.groups, [{ name: 'custodians', members: ['alice', 'bob', 'carol'], required: 2 }]);
    assert.deepEqual(Object.keys(resolved.custodians.roster).sort(), ['alice', 'bob', 'carol']);
    assert.equal(resolved.custodians.deadlineMs, 60_000, 'a shorter deadline from the request');
    assert.deepEqual(resolved.location, { name: 'platform', publishDir: path.join(dir, 'trust/public'), stateFile: path.join(dir, 'trust/private/state.json') });
    assert.deepEqual(resolved.backend, config.trust.platform.backend);
    const longer = await authorizeCeremony(deps(), input(await sign(request({ deadlineMs: 48 * 3_600_000 }))));
    assert.equal(longer.custodians.deadlineMs, 24 * 3_600_000, 'never a longer deadline than the store allows');
  });

  it("accepts a schedule's request for each of its runs, months later too; not for a ceremony started on its own", async () => {
    const forSchedule = await sign(request({ scope: 'schedule:key-rotation-platform', time: '2026-01-01T00:00:00.000Z' }));
    const later = 'key-rotation-platform-2027-02-20T00:00:00Z';
    const run = { rotation: { workflowId: later, runId: 'r' }, workflowId: 'key-ceremony-platform-2027-02-20T00:00:00Z', startedAt: '2027-02-20T00:00:01.000Z' };
    assert.equal((await authorizeCeremony({ ...deps(), priorRuns: async () => [{ runId: 'older', status: 'COMPLETED', requestNonce: NONCE }] }, input(forSchedule, run))).initiator, 'erin');
    await rejectsWith(authorizeCeremony(deps(), input(forSchedule, { ...run, rotation: undefined })), 'REQUEST_OUT_OF_SCOPE', /is for schedule:key-rotation-platform, not for run key-rotation-platform-2027/);
  });

  const refusals: Array<[string, () => Promise<CeremonyAuthorizeInput>, ErrorCode, RegExp]> = [
    ['no request at all', async () => input(undefined), 'REQUEST_UNSIGNED', /carries no signed request/],
    ['signed by another key', async () => input(await sign(request(), 'dave')), 'REQUEST_BAD_SIGNATURE', /does not verify with erin's roster key in the worker's configuration/],
    [
      'edited after signing',
      async () => {
        const signed = await sign(request());
        return input({ ...signed, statement: signed.statement.replace('"initiator":"erin"', '"initiator":"erin" ') });
      },
      'REQUEST_BAD_SIGNATURE',
      /does not verify/,
    ],
    ['for another run (replayed)', async () => input(await sign(request({ scope: 'rotation:key-rotation-platform-2026-01-01T00:00:00Z' }))), 'REQUEST_OUT_OF_SCOPE', /is for rotation:key-rotation-platform-2026-01-01T00:00:00Z, not for run key-rotation-platform-2026-11-22/],
    ['for another plan', async () => input(await sign(request({ planDigest: `sha256:${'2'.repeat(64)}` }))), 'REQUEST_INVALID', /is for plan sha256:2+, but the worker's configuration of trust store platform gives plan sha256:/],
    ['for another trust store than the run', async () => input(await sign(request({ trust: 'helm' }))), 'REQUEST_INVALID', /is for trust store helm, but the ceremony was started for platform/],
    ['for a store the worker does not have', async () => input(await sign(request({ trust: 'nope' })), { trust: 'nope' }), 'TRUST_UNKNOWN', /no trust store "nope"/],
    ['of another type', async () => input(await sign({ ...request(), _type: 'https://example.com/other' })), 'REQUEST_INVALID', /has type "https:\/\/example.com\/other"/],
    ['not JSON', async () => input({ statement: 'nope', signature: 'AAAA' }), 'REQUEST_INVALID', /not JSON/],
    ['with a field the statement does not have (custodians)', async () => input(await sign({ ...request(), custodians: ['dave'] })), 'REQUEST_INVALID', /unknown fields: custodians/],
    ['signed more than a day before the run (replayed on a reused id)', async () => input(await sign(request({ time: '2026-11-20T00:00:00.000Z' }))), 'REQUEST_EXPIRED', /signed at 2026-11-20T00:00:00.000Z, more than 24 hours before this ceremony started/],
    ['dated after the run started', async () => input(await sign(request({ time: '2026-11-22T01:00:00.000Z' }))), 'REQUEST_INVALID', /dated 2026-11-22T01:00:00.000Z, after this ceremony started/],
    ['by someone outside governance, with their own valid key', async () => input(await sign(request({ initiator: 'dave' }), 'dave')), 'REQUEST_OUT_OF_SCOPE', /dave is not a governance member of trust store platform \(erin\)/],
    ['by someone the worker does not know', async () => input(await sign(request({ initiator: 'mallory' }), 'mallory')), 'REQUEST_UNKNOWN_SIGNER', /mallory is not in the roster of the worker's configuration/],
    ['for a ceremony that is not its rotation\'s', async () => input(await sign(request()), { workflowId: 'key-ceremony-platform-2026-01-01T00:00:00Z' }), 'REQUEST_INVALID', /is not a key ceremony of trust store platform/],
    ['for a rotation of another store', async () => input(await sign(request({ scope: 'rotation:key-rotation-helm-2026-11-22T00:00:00Z' })), { rotation: { workflowId: 'key-rotation-helm-2026-11-22T00:00:00Z', runId: 'r' }, workflowId: 'key-ceremony-helm-2026-11-22T00:00:00Z' }), 'REQUEST_INVALID', /is not a key ceremony of trust store platform/],
  ];
  for (const [name, make, code, expected] of refusals) {
    it(`refuses a request ${name}`, async () => {
      await rejectsWith(authorizeCeremony(deps(), await make()), code, expected);
    });
  }

  it('refuses a request that already started a run of this rotation or ceremony', async () => {
    const signed = await sign(request());
    earlier = [{ runId: 'first', status: 'COMPLETED', requestNonce: NONCE }];
    try {
      await rejectsWith(authorizeCeremony(deps(), input(signed)), 'REQUEST_REPLAYED', /already started run first of key-ceremony-platform-/);
      await rejectsWith(authorizeCeremony(deps(), input(signed, { rotation: undefined })), 'REQUEST_REPLAYED', /already started run first/);
    } finally {
      earlier = [];
    }
    assert.equal((await authorizeCeremony(deps(), input(signed, { rotation: undefined }))).initiator, 'erin', 'a ceremony started on its own, named for the rotation its request names');
  });

  it("refuses a schedule's request replayed under a rotation id whose ceremony already published a key, before any custodian is asked", async () => {
    const forSchedule = await sign(request({ scope: 'schedule:key-rotation-platform', time: '2026-11-21T00:00:00.000Z' }));
    const store = new TrustStore({ name: 'platform', publishDir: config.trust.platform.publishDir, stateFile: config.trust.platform.stateFile });
    await store.publish(
      { id: 'cosign-2026-11-22-aaaaaaaaaaaaaaaa', kind: 'cosign', fingerprint: 'a'.repeat(64), file: 'pubkey-2026-11-22.pem', created: STARTED, ceremony: CEREMONY },
      Buffer.from('public'),
      { ref: '/k' },
      { now: new Date(STARTED), overlapMs: 0 },
    );
    await rejectsWith(authorizeCeremony(deps(), input(forSchedule)), 'REQUEST_REPLAYED', new RegExp(`^REQUEST_REPLAYED: ${CEREMONY} already published key cosign-2026-11-22-a+ at ${STARTED} \\(active now\\): a ceremony makes one key, nothing was made`));
    await fs.rm(path.join(dir, 'trust'), { recursive: true, force: true });
  });

  it('refuses everything on a worker without a configuration', async () => {
    await rejectsWith(authorizeCeremony({ config: () => undefined, priorRuns: async () => [] }, input(await sign(request()))), 'NO_WORKER_CONFIG', /has no configuration/);
  });
});
