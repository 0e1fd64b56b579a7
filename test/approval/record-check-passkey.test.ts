/**
 * Production signing's own check of passkey votes (src/approval/record-check.ts): the assertion is
 * verified again against the sealed plan's passkeys, outside the workflow, so a record whose
 * passkey vote was forged, moved or made with another credential is refused before signing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statementChallenge } from '../../src/approval/passkey-assertion';
import { checkApprovalRecord, type ApprovalRecordSubject, type RecordedDecision } from '../../src/approval/record-check';
import { publicKeyPointHex } from '../../src/approval/roster';
import { canonicalStatement } from '../../src/approval/statement';
import { APPROVAL_STATEMENT_TYPE } from '../../src/approval/constants';
import { hasCode } from '../../src/errors';
import { keyFingerprint } from '../../src/keys/public-key';
import { assert as signAssertion, newCredential, type SoftwareCredential } from '../support/software-authenticator';

const RP = { origin: 'https://countersign.example.com', rpId: 'countersign.example.com' };
const DIGEST = `sha256:${'c'.repeat(64)}`;
const pat = newCredential();
const other = newCredential();

const subject: ApprovalRecordSubject = {
  workflowId: 'promote-prod-0123456789abcdef',
  runId: 'run-1',
  plan: {
    digest: DIGEST,
    initiator: 'ci',
    approval: {
      groups: [{ name: 'approvers', members: ['pat'], required: 1 }],
      vetoOnReject: true,
      deadlineMs: 3_600_000,
      roster: { pat: { identities: [], signingKeyFingerprints: [], passkeys: [{ id: pat.id, publicKeyPem: pat.publicKeyPem, publicKeyHex: publicKeyPointHex(pat.publicKeyPem), fingerprint: keyFingerprint(pat.publicKeyPem), ...RP }] } },
    },
  },
};

function vote(credential: SoftwareCredential, over: { runId?: string } = {}): RecordedDecision {
  const statement = canonicalStatement({ _type: APPROVAL_STATEMENT_TYPE, promotionId: subject.workflowId, runId: over.runId ?? 'run-1', digest: DIGEST, decision: 'approve', approver: 'pat', time: '2026-11-26T05:00:00.000Z' });
  const a = signAssertion(credential, { challenge: statementChallenge(statement), ...RP });
  return { approver: 'pat', decision: 'approve', statement, signature: a.response.signature, passkey: { credentialId: a.id, authenticatorData: a.response.authenticatorData, clientDataJSON: a.response.clientDataJSON } };
}
const refusedWith = (decisions: unknown, pattern: RegExp) =>
  assert.throws(() => checkApprovalRecord(subject, decisions), (err) => hasCode(err, 'APPROVAL_REFUSED') && pattern.test((err as Error).message));

test("a passkey vote from the sealed roster counts toward the quorum", () => {
  assert.deepEqual(checkApprovalRecord(subject, [vote(pat)]), { pat: 'approvers' });
});

test('refused: another credential, a statement moved to another run, a vote without its assertion', () => {
  refusedWith([vote(other)], /pat's passkey decision does not hold: credential .* is not one of the approver's roster passkeys/);
  const good = vote(pat);
  refusedWith([{ ...good, statement: good.statement.replace('run-1', 'run-2') }], /pat's passkey decision does not hold: the assertion was not made over this statement/);
  refusedWith([vote(pat, { runId: 'run-2' })], /pat's vote is for promote-prod-0123456789abcdef run run-2, not promote-prod-0123456789abcdef run run-1/);
  const { passkey: _dropped, ...fileKeyShaped } = good;
  refusedWith([fileKeyShaped], /pat's statement does not verify with their roster key \(none: passkeys only\)/);
});
