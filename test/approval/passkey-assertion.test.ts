/**
 * The passkey decision check the gate's validator and production signing run: real ES256
 * assertions from a software authenticator, over the sha256 of the canonical approval statement.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { passkeyAssertionProblem, statementChallenge, fromBase64url, toBase64url, type PasskeyAssertion } from '../../src/approval/passkey-assertion';
import { publicKeyPointHex } from '../../src/approval/roster';
import { canonicalStatement, type ApprovalStatement } from '../../src/approval/statement';
import { APPROVAL_STATEMENT_TYPE } from '../../src/approval/constants';
import { keyFingerprint } from '../../src/keys/public-key';
import type { PinnedPasskey } from '../../src/promotion/plan';
import { assert as signAssertion, FLAG_UP, FLAG_UV, newCredential, type SoftwareCredential } from '../support/software-authenticator';

const RP = { origin: 'https://console.acme.test', rpId: 'console.acme.test' };
const pin = (c: SoftwareCredential): PinnedPasskey => ({ id: c.id, publicKeyPem: c.publicKeyPem, publicKeyHex: publicKeyPointHex(c.publicKeyPem), fingerprint: keyFingerprint(c.publicKeyPem), ...RP });

const statement = (over: Partial<ApprovalStatement> = {}) =>
  canonicalStatement({ _type: APPROVAL_STATEMENT_TYPE, promotionId: 'promote-prod-0123456789abcdef', runId: 'run-1', digest: `sha256:${'a'.repeat(64)}`, decision: 'approve', approver: 'alice', time: '2026-11-26T05:00:00.000Z', ...over });

function decide(credential: SoftwareCredential, text: string, opts: Partial<{ origin: string; rpId: string; flags: number; type: string }> = {}): PasskeyAssertion {
  const a = signAssertion(credential, { challenge: statementChallenge(text), origin: opts.origin ?? RP.origin, rpId: opts.rpId ?? RP.rpId, ...(opts.flags !== undefined ? { flags: opts.flags } : {}), ...(opts.type ? { type: opts.type } : {}) });
  return { credentialId: a.id, authenticatorData: a.response.authenticatorData, clientDataJSON: a.response.clientDataJSON, signature: a.response.signature };
}
const problemOf = (r: ReturnType<typeof passkeyAssertionProblem>) => ('problem' in r ? r.problem : undefined);

test('the challenge is sha256 of the statement bytes, base64url; the codec round-trips every length', () => {
  const text = statement();
  assert.equal(statementChallenge(text), createHash('sha256').update(text).digest('base64url'));
  for (let n = 0; n < 40; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    assert.equal(toBase64url(bytes), Buffer.from(bytes).toString('base64url'));
    assert.deepEqual(fromBase64url(Buffer.from(bytes).toString('base64url')), bytes);
  }
  assert.equal(fromBase64url('ab+/'), undefined);
  assert.equal(fromBase64url('a'.repeat(8193)), undefined);
});

test("a roster passkey's assertion over the statement holds and names the passkey", () => {
  const alice = newCredential();
  const text = statement();
  const result = passkeyAssertionProblem(text, decide(alice, text), [pin(alice)]);
  assert.equal(problemOf(result), undefined);
  assert.equal('passkey' in result && result.passkey.id, alice.id);
});

test('refusals: not in the roster, replayed onto another run or digest, wrong origin or relying party, no UV or UP, a registration, a forged signature', () => {
  const alice = newCredential();
  const mallory = newCredential();
  const text = statement();
  const roster = [pin(alice)];
  assert.equal(problemOf(passkeyAssertionProblem(text, decide(mallory, text), roster)), `credential ${mallory.id.slice(0, 24)} is not one of the approver's roster passkeys`);
  // Another key claiming alice's credential id.
  const stolenId = { ...decide(mallory, text), credentialId: alice.id };
  assert.match(problemOf(passkeyAssertionProblem(text, stolenId, roster))!, /^the signature does not verify with passkey [0-9a-f]{16}$/);
  const signed = decide(alice, text);
  for (const other of [statement({ runId: 'run-2' }), statement({ promotionId: 'promote-prod-fedcba9876543210' }), statement({ digest: `sha256:${'b'.repeat(64)}` }), statement({ decision: 'reject', reason: 'x' })]) {
    assert.equal(problemOf(passkeyAssertionProblem(other, signed, roster)), 'the assertion was not made over this statement (its challenge is not sha256 of the statement)');
  }
  assert.equal(problemOf(passkeyAssertionProblem(text, decide(alice, text, { origin: 'https://evil.test' }), roster)), 'the assertion was made at "https://evil.test", not the console origin https://console.acme.test');
  assert.equal(problemOf(passkeyAssertionProblem(text, decide(alice, text, { rpId: 'evil.test' }), roster)), 'authenticatorData is for another relying party than console.acme.test');
  assert.equal(problemOf(passkeyAssertionProblem(text, decide(alice, text, { flags: FLAG_UP }), roster)), 'the authenticator did not verify the user (PIN or biometric)');
  assert.equal(problemOf(passkeyAssertionProblem(text, decide(alice, text, { flags: FLAG_UV }), roster)), 'the authenticator did not assert user presence');
  assert.equal(problemOf(passkeyAssertionProblem(text, decide(alice, text, { type: 'webauthn.create' }), roster)), 'clientDataJSON.type is "webauthn.create", not "webauthn.get"');
  // Flipping the UV bit after signing: the signature covers authenticatorData.
  const data = Buffer.from(decide(alice, text, { flags: FLAG_UP }).authenticatorData, 'base64url');
  const upOnly = decide(alice, text, { flags: FLAG_UP });
  data[32] |= FLAG_UV;
  assert.match(problemOf(passkeyAssertionProblem(text, { ...upOnly, authenticatorData: data.toString('base64url') }, roster))!, /^the signature does not verify/);
  assert.equal(problemOf(passkeyAssertionProblem(text, { ...signed, signature: 'bad+base64' }, roster)), 'the assertion fields are not base64url (or are too long)');
  assert.equal(problemOf(passkeyAssertionProblem(text, undefined, roster)), 'a passkey decision carries { credentialId, authenticatorData, clientDataJSON, signature }');
  assert.equal(problemOf(passkeyAssertionProblem(text, signed, undefined)), `credential ${alice.id.slice(0, 24)} is not one of the approver's roster passkeys`);
});
