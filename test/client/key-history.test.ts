/**
 * The audit trail's pieces that need no server (src/client/key-history.ts): which store a key
 * workflow id names, and the facts the index keeps once Temporal has dropped the runs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyHistoryFromIndex, sortHistory, trustOfWorkflowId, type HistoryEntry } from '../../src/client/key-history';
import type { TrustKey } from '../../src/trust/index-file';

const base = { kind: 'cosign' as const, fingerprint: 'a'.repeat(64), created: '2026-01-01T00:00:00.000Z', validFrom: '2026-01-01T00:00:01.000Z', reason: 'x', trust: 'platform' };
const k1: TrustKey = {
  ...base,
  id: 'cosign-2026-01-01-aaaaaaaaaaaaaaaa',
  file: 'pubkey-2026-01-01.pem',
  validUntil: '2026-04-01T00:00:00.000Z',
  status: 'retired',
  reason: 'superseded by cosign-2026-03-30-bbbbbbbbbbbbbbbb; overlap over and no promotion pinned to it',
  statusChangedAt: '2026-04-01T00:00:00.000Z',
  ceremony: 'key-ceremony-platform-2026-01-01T00:00:00Z',
  issuance: { requester: 'erin', custodians: ['bob', 'carol'], workflowId: 'key-ceremony-platform-2026-01-01T00:00:00Z', runId: 'r1', at: '2026-01-01T00:00:01.000Z' },
};
const k2: TrustKey = {
  ...base,
  id: 'cosign-2026-03-30-bbbbbbbbbbbbbbbb',
  fingerprint: 'b'.repeat(64),
  file: 'pubkey-2026-03-30.pem',
  validFrom: '2026-03-30T00:00:01.000Z',
  validUntil: '2026-05-02T10:00:00.000Z',
  status: 'revoked',
  reason: 'laptop stolen',
  statusChangedAt: '2026-05-02T10:00:00.000Z',
  ceremony: 'key-ceremony-platform-2026-03-30T00:00:00Z',
  revocation: { signers: ['erin', 'dave'], at: '2026-05-02T10:00:00.000Z', reason: 'laptop stolen', workflowId: 'key-revocation-platform-cosign-2026-03-30-bbbbbbbbbbbbbbbb' },
};

describe('keys history', () => {
  it('reads the trust store from a key workflow id, also when the store name has dashes', () => {
    assert.equal(trustOfWorkflowId('ceremony', 'key-ceremony-platform-2026-11-21T23:10:00Z'), 'platform');
    assert.equal(trustOfWorkflowId('rotation', 'key-rotation-helm-charts-2026-11-21T23:10:00Z'), 'helm-charts');
    assert.equal(trustOfWorkflowId('revocation', 'key-revocation-helm-charts-openpgp-2026-11-21-0123abcd0123abcd'), 'helm-charts');
    assert.equal(trustOfWorkflowId('ceremony', 'key-rotation-platform-2026-11-21T23:10:00Z'), undefined);
    assert.equal(trustOfWorkflowId('rotation', 'key-rotation-platform'), undefined, 'the schedule, not a run');
  });

  it('the index keeps who asked, who joined and who revoked after Temporal has dropped the runs', () => {
    const entries = sortHistory(keyHistoryFromIndex([k1, k2], 'platform', []));
    assert.deepEqual(
      entries.map((e) => [e.kind, e.id, e.state, e.requestedBy, e.joined.map((j) => j.who), e.result, e.source]),
      [
        ['revocation', k2.revocation!.workflowId, 'REVOKED', 'erin', ['dave'], `revoked ${k2.id}: laptop stolen (signed by erin, dave)`, 'index'],
        ['rotation', `retired ${k1.id}`, 'RETIRED', undefined, [], `retired ${k1.id}: ${k1.reason}`, 'index'],
        ['ceremony', k2.ceremony, 'PUBLISHED', undefined, [], `published ${k2.id} (pubkey-2026-03-30.pem)`, 'index'],
        ['ceremony', k1.ceremony, 'PUBLISHED', 'erin', ['bob', 'carol'], `published ${k1.id} (pubkey-2026-01-01.pem)`, 'index'],
      ],
    );
  });

  it('lists once what Temporal still has', () => {
    const temporal: HistoryEntry[] = [
      { kind: 'ceremony', id: k1.ceremony!, trust: 'platform', state: 'PUBLISHED', requestedBy: 'erin', joined: [], result: 'published', keys: [k1.id], source: 'temporal' },
      { kind: 'rotation', id: 'key-rotation-platform-2026-03-30T00:00:00Z', trust: 'platform', state: 'DONE', joined: [], result: 'new key', keys: [k2.id, k1.id], source: 'temporal' },
    ];
    const fromIndex = keyHistoryFromIndex([k1, k2], 'platform', temporal);
    assert.deepEqual(fromIndex.map((e) => [e.kind, e.id]), [['ceremony', k2.ceremony], ['revocation', k2.revocation!.workflowId]]);
    assert.deepEqual(keyHistoryFromIndex([k1, k2], 'platform', [], ['revocation']).map((e) => e.kind), ['revocation'], '--kind filters the index too');
  });
});
