/**
 * The in-sandbox check of an approver's signature (pure-JS P-256, with the small precompute
 * window the module sets) agrees with node's crypto on what it signed: the genuine statement
 * verifies, and a changed byte, another key or a malformed signature do not.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { publicKeyPointHex } from '../../src/approval/roster';
import { verifyStatementSignature } from '../../workflows/approval-signature';

test('signatures made by node crypto verify in the workflow, and nothing else does', () => {
  const alice = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const mallory = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const hex = (k: crypto.KeyObject) => publicKeyPointHex(k.export({ type: 'spki', format: 'pem' }).toString());
  const statement = JSON.stringify({ approver: 'alice', decision: 'approve', digest: `sha256:${'a'.repeat(64)}` });
  for (let i = 0; i < 5; i++) {
    const signature = crypto.sign('sha256', Buffer.from(statement), alice.privateKey).toString('base64');
    assert.equal(verifyStatementSignature(statement, signature, hex(alice.publicKey)), true);
    assert.equal(verifyStatementSignature(statement.replace('approve', 'apprové'), signature, hex(alice.publicKey)), false);
    assert.equal(verifyStatementSignature(statement, signature, hex(mallory.publicKey)), false);
  }
  assert.equal(verifyStatementSignature(statement, 'not base64!', hex(alice.publicKey)), false);
  assert.equal(verifyStatementSignature(statement, Buffer.alloc(70, 1).toString('base64'), hex(alice.publicKey)), false);
});
