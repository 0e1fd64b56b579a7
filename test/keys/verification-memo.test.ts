import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { test } from 'node:test';
import { verifySignature } from '../../src/keys/public-key';
import { signatureChecks, VERIFICATION_MEMO_MAX_DATA_BYTES, VerificationMemo } from '../../src/keys/verification-memo';

const pair = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const pem = (k: crypto.KeyObject) => k.export({ format: 'pem', type: 'spki' }).toString();

test('verifySignature remembers its answers, true and false, and gives the same answers as checking', () => {
  const { publicKey, privateKey } = pair();
  const data = Buffer.from('{"critical":{}}');
  const signature = crypto.sign('sha256', data, privateKey);
  const other = pair().publicKey;
  signatureChecks.clear();
  assert.equal(verifySignature(publicKey, data, signature), true);
  assert.equal(verifySignature(other, data, signature), false);
  assert.deepEqual(signatureChecks.counts, { hits: 0, misses: 2 });
  assert.equal(verifySignature(publicKey, data, signature), true);
  assert.equal(verifySignature(pem(publicKey), data, signature), true, 'the PEM of the same key is the same key');
  assert.equal(verifySignature(other, data, signature), false);
  assert.deepEqual(signatureChecks.counts, { hits: 3, misses: 2 });
});

test('a remembered answer is never given for other bytes, another signature or another key', () => {
  const { publicKey, privateKey } = pair();
  const data = Buffer.from('payload');
  const signature = crypto.sign('sha256', data, privateKey);
  signatureChecks.clear();
  assert.equal(verifySignature(publicKey, data, signature), true);
  // The attacks a writer to the registry could try against a remembered "true".
  const otherBytes = Buffer.from('payloaD');
  assert.equal(verifySignature(publicKey, otherBytes, signature), false, 'the same signature over other bytes');
  const truncated = signature.subarray(0, signature.length - 1);
  assert.equal(verifySignature(publicKey, data, truncated), false, 'a truncated signature');
  const attacker = pair();
  assert.equal(verifySignature(attacker.publicKey, data, signature), false, 'another key over the same bytes and signature');
  assert.equal(verifySignature(publicKey, data, crypto.sign('sha256', data, attacker.privateKey)), false, "the attacker's signature under the trusted key");
  assert.deepEqual(signatureChecks.counts, { hits: 0, misses: 5 }, 'each was checked, none answered from the memo');
  // Bytes changed in place after a check (a reused buffer) are other bytes.
  data[0] = 'P'.charCodeAt(0);
  assert.equal(verifySignature(publicKey, data, signature), false);
});

test('the memo keeps at most its size, least recently used out first', () => {
  const memo = new VerificationMemo(2);
  let checks = 0;
  const check = (answer: boolean) => () => {
    checks += 1;
    return answer;
  };
  const bytes = (s: string) => Buffer.from(s);
  memo.answer('k', bytes('a'), bytes('s'), check(true));
  memo.answer('k', bytes('b'), bytes('s'), check(false));
  assert.equal(memo.answer('k', bytes('a'), bytes('s'), check(false)), true, 'a is remembered (and now the most recent)');
  memo.answer('k', bytes('c'), bytes('s'), check(true));
  assert.equal(memo.size, 2);
  assert.equal(checks, 3);
  assert.equal(memo.answer('k', bytes('a'), bytes('s'), check(false)), true, 'a stayed');
  assert.equal(memo.answer('k', bytes('b'), bytes('s'), check(true)), true, 'b was dropped and is checked again');
  assert.equal(checks, 4);
  assert.equal(memo.answer('other key', bytes('a'), bytes('s'), check(false)), false, 'another key fingerprint is another entry');
});

test('bytes past the size limit are checked every time and never remembered', () => {
  const memo = new VerificationMemo();
  let checks = 0;
  const check = () => {
    checks += 1;
    return true;
  };
  const large = Buffer.alloc(VERIFICATION_MEMO_MAX_DATA_BYTES + 1);
  memo.answer('k', large, Buffer.from('s'), check);
  memo.answer('k', large, Buffer.from('s'), check);
  assert.equal(checks, 2);
  assert.equal(memo.size, 0);
  const limit = Buffer.alloc(VERIFICATION_MEMO_MAX_DATA_BYTES);
  memo.answer('k', limit, Buffer.from('s'), check);
  memo.answer('k', limit, Buffer.from('s'), check);
  assert.equal(checks, 3, 'at the limit it is remembered');
});

test('a remembered answer takes the same room whatever the size of the signature a registry served', () => {
  const memo = new VerificationMemo(4);
  memo.answer('k', Buffer.from('a'), Buffer.alloc(16 * 1024, 1), () => false);
  memo.answer('k', Buffer.from('a'), Buffer.alloc(72, 1), () => false);
  const keys = [...(memo as unknown as { answers: Map<string, boolean> }).answers.keys()];
  assert.equal(keys.length, 2);
  assert.equal(keys[0].length, keys[1].length, 'a 16 KiB signature and a 72-byte one make keys of one length');
});
